package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WritePlots draws, for every workload and budget of the rows, the best-so-far speedup over the
// unscheduled program against samples: one line per configuration (the median over its seeds)
// with the range of its seeds shaded, and the vendor library's speedup as a dashed line. It
// writes DIR/WORKLOAD-bBUDGET.png and .svg and returns the paths.
func WritePlots(dir string, rows []Row) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type plotKey struct {
		workload string
		budget   int
	}
	var order []plotKey
	groups := map[plotKey][]Row{}
	for _, r := range rows {
		k := plotKey{r.Workload, r.Budget}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var paths []string
	for _, k := range order {
		p, err := speedupPlot(k.workload, k.budget, groups[k])
		if err != nil {
			return paths, fmt.Errorf("plot %s: %w", k.workload, err)
		}
		for _, ext := range []string{"png", "svg"} {
			path := filepath.Join(dir, fmt.Sprintf("%s-b%d.%s", k.workload, k.budget, ext))
			if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
				return paths, fmt.Errorf("plot %s: %w", path, err)
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// speedupPlot is one workload's plot.
func speedupPlot(workload string, budget int, rows []Row) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: best-so-far speedup, budget %d", workload, budget)
	p.X.Label.Text = "samples"
	p.Y.Label.Text = "speedup over the unscheduled program (samples as measured)"
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	vendor, library := 0.0, ""
	for i, r := range rows {
		lo, mid, hi := speedupBands(r.Runs)
		if len(mid) == 0 {
			continue
		}
		c := plotutil.Color(i)
		if len(r.Runs) > 1 {
			band := make(plotter.XYs, 0, 2*len(mid))
			for j := range hi {
				band = append(band, plotter.XY{X: float64(j + 1), Y: hi[j]})
			}
			for j := len(lo) - 1; j >= 0; j-- {
				band = append(band, plotter.XY{X: float64(j + 1), Y: lo[j]})
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, err
			}
			r8, g8, b8, _ := c.RGBA()
			poly.Color = color.NRGBA{R: uint8(r8 >> 8), G: uint8(g8 >> 8), B: uint8(b8 >> 8), A: 50}
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		pts := make(plotter.XYs, len(mid))
		for j, y := range mid {
			pts[j] = plotter.XY{X: float64(j + 1), Y: y}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = c, vg.Points(1.5)
		p.Add(line)
		label := r.Config
		if r.Simulated {
			label += " (sim models)"
		}
		p.Legend.Add(fmt.Sprintf("%s, %d seeds", label, len(r.Runs)), line)
		for _, run := range r.Runs {
			if run.Vendor != nil && run.Vendor.LatencyS > 0 && run.BaselineS > 0 {
				vendor, library = run.BaselineS/run.Vendor.LatencyS, run.Vendor.Library
			}
		}
	}
	if vendor > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: 1, Y: vendor}, {X: float64(budget), Y: vendor}})
		if err != nil {
			return nil, err
		}
		line.Color, line.Dashes = color.Gray{Y: 90}, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
		p.Legend.Add(library+" (vendor library)", line)
	}
	return p, nil
}

// speedupBands are the runs' best-so-far speedups after each sample: the lowest, the median
// and the highest over the runs. A run that ended early keeps its last value; before its first
// success a run is at 1 (the unscheduled program).
func speedupBands(runs []*CellResult) (lo, mid, hi []float64) {
	n := 0
	for _, r := range runs {
		n = max(n, len(r.Curve))
	}
	for j := range n {
		var at []float64
		for _, r := range runs {
			if len(r.Curve) == 0 || r.BaselineS <= 0 {
				continue
			}
			v := r.Curve[min(j, len(r.Curve)-1)]
			s := 1.0
			if v > 0 {
				s = r.BaselineS / v
			}
			at = append(at, s)
		}
		if len(at) == 0 {
			continue
		}
		lo, mid, hi = append(lo, slices.Min(at)), append(mid, median(at)), append(hi, slices.Max(at))
	}
	return lo, mid, hi
}
