package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"colt/core"
)

func runMeasure(ctx context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("measure", "--workload NAME [--json] [--source FILE]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to measure (see 'colt workloads'); a model measures every task")
	asJSON := fs.Bool("json", false, "print the measurements as JSON")
	source := fs.String("source", "", "measure this C kernel instead of the generated one (same signature as 'colt show --emit c')")
	timeout := fs.Float64("timeout", 0, "seconds one run (warm-up, check, timed repeats) may take before it is killed\n(default: backend.run_timeout_s, raised for large programs to their time at 0.05 GFLOP/s)")
	repeat := fs.Int("repeat", 0, "timed repeats (default: backend.repeat)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	*name = common.defaultWorkload(*name)
	if *name == "" {
		return fail(errOut, exitUsage, "measure: --workload is required (see 'colt workloads')")
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if *timeout < 0 || *repeat < 0 {
		return fail(errOut, exitUsage, "measure: --timeout and --repeat must be positive")
	}
	if *repeat > 0 {
		cfg.Backend.Repeat = *repeat
	}
	opt := core.MeasureOptions{SourceFile: *source, RunTimeout: time.Duration(*timeout * float64(time.Second))}
	if !*quiet {
		opt.Progress = func(line string) { fmt.Fprintln(errOut, "colt: "+line) }
	}
	res, err := core.MeasureWorkload(ctx, cfg, *name, opt)
	if err != nil {
		return failWith(errOut, err)
	}
	ms := res.Tasks
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		var v any = ms
		if len(ms) == 1 {
			v = ms[0]
		}
		if err := enc.Encode(v); err != nil {
			return fail(errOut, exitFailure, "write JSON: %v", err)
		}
	} else {
		printMeasurements(out, res)
	}
	code := exitOK
	for _, m := range ms {
		if !m.Correct {
			label := m.Workload
			if m.Task != "" {
				label += ":" + m.Task
			}
			fmt.Fprintf(errOut, "colt: measure %s: %s: %s\n", label, m.Status, m.Message)
			code = exitFailure
		}
	}
	return code
}

// printMeasurements prints a measurement as a table: one verdict for a single task, one row per
// task and the weighted forward step for a model.
func printMeasurements(out io.Writer, res *core.WorkloadMeasurement) {
	ms := res.Tasks
	if len(ms) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\t%s (%s): %s\n", res.Workload, res.Source, res.Description)
	fmt.Fprintf(tw, "target\t%s\n", ms[0].Target)
	fmt.Fprintf(tw, "compiler\t%s %s\n", res.Compiler, strings.Join(res.CFlags, " "))
	if len(ms) == 1 {
		m := ms[0]
		fmt.Fprintf(tw, "status\t%s\n", verdict(m))
		if m.MedianS > 0 {
			fmt.Fprintf(tw, "latency\t%s median (min %s, max %s, spread %.1f%%; %d repeats of %d runs)\n",
				seconds(m.MedianS), seconds(m.MinS), seconds(m.MaxS), m.SpreadPct, len(m.LatencyS), m.Number)
			fmt.Fprintf(tw, "throughput\t%.3f GFLOP/s (%.4g GFLOP per run)\n", m.GFLOPS, float64(m.FLOPs)/1e9)
		}
		for _, v := range m.Vendors {
			fmt.Fprintf(tw, "%s\t%s\n", v.Library, vendorText(v))
		}
		tw.Flush()
		return
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TASK\tWEIGHT\tSTATUS\tMEDIAN\tGFLOP/s\tMAX REL ERR\tVENDOR LIBRARIES")
	var total float64
	allOK := true
	for _, m := range ms {
		var libs []string
		for _, v := range m.Vendors {
			libs = append(libs, v.Library+" "+vendorText(v))
		}
		fmt.Fprintf(tw, "%s\t×%d\t%s\t%s\t%.3f\t%.2g\t%s\n", m.Task, m.Weight, m.Status, seconds(m.MedianS), m.GFLOPS, m.MaxRelErr, strings.Join(libs, "; "))
		total += float64(m.Weight) * m.MedianS
		allOK = allOK && m.Correct
	}
	if allOK {
		fmt.Fprintf(tw, "\nforward step\t%s (weighted sum of task medians)\n", seconds(total))
	}
	tw.Flush()
}

// vendorText is a vendor library's figure next to the measured program's.
func vendorText(v core.VendorMeasurement) string {
	if v.Status != string(core.StatusOK) {
		return "not measured: " + v.Message
	}
	text := fmt.Sprintf("%s, %.3f GFLOP/s", seconds(v.LatencyS), v.GFLOPS)
	if v.Ratio > 0 {
		text += fmt.Sprintf(" (the program is %.3g× %s)", v.Ratio, v.Library)
	}
	return text
}

func verdict(m core.TaskMeasurement) string {
	if m.Correct {
		return fmt.Sprintf("correct (max relative error %.2g, tolerance %.0g)", m.MaxRelErr, m.Tolerance)
	}
	return strings.ReplaceAll(string(m.Status), "_", " ") + ": " + m.Message
}

// seconds prints a latency in the unit that keeps it readable.
func seconds(s float64) string { return core.FormatSeconds(s) }
