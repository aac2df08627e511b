package bench

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"colt/core"
)

// WriteMarkdown writes one table per workload and budget: each configuration's best latency
// over the seeds (median, min–max), throughput, speedup over the unscheduled program, ratio
// to the vendor library, samples to reach 90% of the final best, wall time and model use.
func WriteMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	last := ""
	simulated := false
	for _, r := range rows {
		if head := fmt.Sprintf("%s, budget %d", r.Workload, r.Budget); head != last {
			last = head
			fmt.Fprintf(&b, "\n### %s\n\n", head)
			if r.Tasks > 0 {
				fmt.Fprintf(&b, "A model of %d tasks sharing the budget: latencies are end-to-end estimates, Σ weight × each task's latency.\n\n", r.Tasks)
			}
			b.WriteString("| configuration | runs | best, confirmed (median over seeds) | min–max over seeds | GFLOP/s | speedup | × vendor | samples to 90% | wall | model calls per run | largest model's share | course alterations |\n")
			b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		}
		simulated = simulated || r.Simulated
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Config, runsText(r), seconds(r.MedianS), spread(r), number(r.GFLOPS, "%.1f"), number(r.Speedup, "%.2f×"),
			vendorText(r), number(r.SamplesTo90, "%.0f"), seconds(r.WallS), modelsText(r.Models), percent(r.LargestShare, r.Models),
			percent(r.AlterationRate, r.Models))
	}
	if len(rows) > 0 {
		b.WriteString("\nA run's best is its confirmed median (its best candidates timed again in interleaved rounds); the plots'\n" +
			"curves are the samples as measured during the search, so a curve can end above or below the table.\n")
	}
	if simulated {
		b.WriteString("\nModels marked (sim) are simulated: offline stand-ins for real models, not their behaviour.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV writes one line per row with the same figures, latencies in seconds.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"workload", "budget", "configuration", "runs", "failed", "best_median_s", "best_min_s", "best_max_s", "gflops",
		"speedup", "vendor_library", "vendor_ratio", "samples_to_90pct", "wall_s", "models", "largest_model_share", "course_alteration_rate"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, r := range rows {
		var models []string
		for _, m := range r.Models {
			models = append(models, fmt.Sprintf("%s:calls=%s:tokens=%s:cost_usd=%s:simulated=%t", m.Name, f(m.Calls), f(m.Tokens), f(m.CostUSD), m.Simulated))
		}
		cw.Write([]string{r.Workload, strconv.Itoa(r.Budget), r.Config, strconv.Itoa(len(r.Runs)), strconv.Itoa(r.Failed),
			f(r.MedianS), f(r.MinS), f(r.MaxS), f(r.GFLOPS), f(r.Speedup), r.VendorLibrary, f(r.VendorRatio), f(r.SamplesTo90),
			f(r.WallS), strings.Join(models, " "), f(r.LargestShare), f(r.AlterationRate)})
	}
	cw.Flush()
	return cw.Error()
}

func runsText(r Row) string {
	if r.Failed > 0 {
		return fmt.Sprintf("%d (%d failed: %s)", len(r.Runs), r.Failed, clip(r.Errors[0], 60))
	}
	return strconv.Itoa(len(r.Runs))
}

func spread(r Row) string {
	if len(r.BestS) < 2 {
		return "—"
	}
	return fmt.Sprintf("%s–%s (%.0f%%)", seconds(r.MinS), seconds(r.MaxS), 100*(r.MaxS-r.MinS)/r.MedianS)
}

func vendorText(r Row) string {
	if r.VendorRatio <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f× %s", r.VendorRatio, r.VendorLibrary)
}

func modelsText(ms []ModelUse) string {
	if len(ms) == 0 {
		return "—"
	}
	var parts []string
	for _, m := range ms {
		name := m.Name
		if m.Simulated {
			name += " (sim)"
		}
		part := fmt.Sprintf("%s %.0f", name, m.Calls)
		if m.Tokens > 0 {
			part += fmt.Sprintf(", %.0f tok", m.Tokens)
		}
		if m.CostUSD > 0 {
			part += fmt.Sprintf(", $%.3f", m.CostUSD)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

func percent(x float64, ms []ModelUse) string {
	if len(ms) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func number(x float64, format string) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf(format, x)
}

func seconds(s float64) string {
	if s <= 0 {
		return "—"
	}
	return core.FormatSeconds(s)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
