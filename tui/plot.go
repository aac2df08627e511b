package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"colt/core"
)

// PlotPane draws latency against samples on a log scale: every sample as a dot, the best so
// far as a line, and the unscheduled program's latency as a reference line; the left axis is
// in milliseconds, the right one in GFLOP/s.
type PlotPane struct {
	st            Styles
	keys          KeyMap
	width, height int

	series    []core.HistoryEntry
	baselineS float64
	flops     float64
	vendor    core.Stats // the vendor library's figure and the best, from the latest event
}

// NewPlotPane returns an empty plot.
func NewPlotPane(st Styles, keys KeyMap) *PlotPane { return &PlotPane{st: st, keys: keys} }

// Title implements Pane.
func (p *PlotPane) Title() string { return "Latency (log scale)" }

// SetSize implements Pane.
func (p *PlotPane) SetSize(width, height int) { p.width, p.height = width, height }

// KeyHelp implements Pane.
func (p *PlotPane) KeyHelp() []key.Binding { return nil }

// Update implements Pane.
func (p *PlotPane) Update(msg tea.Msg) tea.Cmd {
	if msg, ok := msg.(dataMsg); ok {
		e := msg.event
		if e.BaselineS > 0 {
			p.baselineS = e.BaselineS
			p.flops = float64(e.FLOPs)
		}
		p.series = e.History
		p.vendor = e.Stats
	}
	return nil
}

// The kinds of plot cells, drawn in this order (a later kind covers an earlier one).
const (
	cellEmpty = iota
	cellBaseline
	cellSample
	cellBest
)

// View implements Pane.
func (p *PlotPane) View(focused bool) string {
	inner, rows := max(p.width-2, 0), max(p.height-2, 0)
	content := p.render(inner, rows)
	return frame(p.st, p.Title(), focused, content, p.width, p.height)
}

// render draws the plot into exactly rows lines of inner cells.
func (p *PlotPane) render(inner, rows int) []string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		if s.LatencyS > 0 {
			lo, hi = min(lo, s.LatencyS), max(hi, s.LatencyS)
		}
		if s.BestSoFarS > 0 {
			lo = min(lo, s.BestSoFarS)
		}
	}
	plotRows := rows - 3 // x axis, x labels, legend
	leftW, rightW := 10, 15
	if inner < 52 {
		rightW = 0
	}
	plotW := inner - leftW - rightW - 1
	if math.IsInf(lo, 1) || plotRows < 2 || plotW < 8 {
		msg := "no samples yet"
		if !math.IsInf(lo, 1) {
			msg = "the pane is too small for the plot"
		}
		if p.baselineS > 0 {
			msg += "; unscheduled " + core.FormatSeconds(p.baselineS)
		}
		return block([]string{msg}, inner, rows, nil)
	}
	if p.baselineS > 0 {
		lo, hi = min(lo, p.baselineS), max(hi, p.baselineS)
	}
	lo, hi = lo/1.15, hi*1.15
	rowOf := func(s float64) int {
		f := (math.Log(hi) - math.Log(s)) / (math.Log(hi) - math.Log(lo))
		return max(0, min(plotRows-1, int(math.Round(f*float64(plotRows-1)))))
	}
	grid := make([][]int, plotRows)
	for r := range grid {
		grid[r] = make([]int, plotW)
	}
	if p.baselineS > 0 {
		r := rowOf(p.baselineS)
		for c := range plotW {
			grid[r][c] = cellBaseline
		}
	}
	n := len(p.series)
	colOf := func(i int) int {
		if n <= 1 {
			return 0
		}
		return i * (plotW - 1) / (n - 1)
	}
	for i, s := range p.series {
		if s.LatencyS > 0 {
			r, c := rowOf(s.LatencyS), colOf(i)
			grid[r][c] = max(grid[r][c], cellSample)
		}
	}
	// The best-so-far line is a step: every column from a sample to the next holds its best.
	for i, s := range p.series {
		if s.BestSoFarS <= 0 {
			continue
		}
		end := plotW
		if i+1 < n {
			end = colOf(i + 1)
		}
		for c := colOf(i); c < max(end, colOf(i)+1) && c < plotW; c++ {
			grid[rowOf(s.BestSoFarS)][c] = cellBest
		}
	}
	lines := make([]string, 0, rows)
	mid := plotRows / 2
	for r := range plotRows {
		left, right := "", ""
		if r == 0 || r == mid || r == plotRows-1 {
			s := math.Exp(math.Log(hi) - float64(r)/float64(plotRows-1)*(math.Log(hi)-math.Log(lo)))
			left = shortSeconds(s)
			if p.flops > 0 {
				right = shortGFLOPS(p.flops/s/1e9) + " GFLOP/s"
			}
		}
		line := pad(left, leftW-1, true) + " ┤" + p.cells(grid[r])
		if rightW > 0 {
			line += " " + fit(right, rightW-1)
		}
		lines = append(lines, line)
	}
	axis := strings.Repeat(" ", leftW) + "└" + strings.Repeat("─", plotW)
	lines = append(lines, fit(axis, inner))
	first, last := "1", fmt.Sprint(n)
	label := "samples"
	xl := strings.Repeat(" ", leftW+1) + first
	gap := plotW - len(first) - len(last)
	if gap > len(label)+2 {
		l := (gap - len(label)) / 2
		xl += strings.Repeat(" ", l) + label + strings.Repeat(" ", gap-l-len(label))
	} else {
		xl += strings.Repeat(" ", max(gap, 1))
	}
	lines = append(lines, fit(xl+last, inner))
	legend := "━ best  · sample"
	if p.baselineS > 0 {
		legend += "  ┄ unscheduled " + shortSeconds(p.baselineS)
	}
	for _, v := range p.vendor.Vendors {
		legend += fmt.Sprintf("  %s %s", v.Library, shortSeconds(v.LatencyS))
		if p.vendor.BestS > 0 {
			legend += fmt.Sprintf(" (best %.2f×)", v.LatencyS/p.vendor.BestS)
		}
	}
	if len(p.vendor.Vendors) == 0 {
		legend += "  vendor library: not measured yet"
	}
	lines = append(lines, p.st.Dim.Render(fit(legend, inner)))
	return lines
}

// cells renders one plot row, styling runs of equal cells together.
func (p *PlotPane) cells(row []int) string {
	glyph := [...]string{" ", "┄", "·", "━"}
	style := [...]*lipgloss.Style{nil, &p.st.Baseline, &p.st.Sample, &p.st.Line}
	var b strings.Builder
	for i := 0; i < len(row); {
		j := i
		for j < len(row) && row[j] == row[i] {
			j++
		}
		run := strings.Repeat(glyph[row[i]], j-i)
		if st := style[row[i]]; st != nil {
			run = st.Render(run)
		}
		b.WriteString(run)
		i = j
	}
	return b.String()
}

// shortSeconds prints a latency in at most 8 cells: 3 significant digits and a unit.
func shortSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
	return fmt.Sprintf("%.3g ns", s*1e9)
}

// shortGFLOPS prints a throughput with 3 significant digits, never in exponent form.
func shortGFLOPS(g float64) string {
	switch {
	case g >= 100:
		return fmt.Sprintf("%.0f", g)
	case g >= 10:
		return fmt.Sprintf("%.1f", g)
	case g >= 1:
		return fmt.Sprintf("%.2f", g)
	}
	return fmt.Sprintf("%.3f", g)
}
