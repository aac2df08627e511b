package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"colt/workloads"
)

type workloadJSON struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Source      string     `json:"source"`
	FLOPs       int64      `json:"flops"`
	Bytes       int64      `json:"bytes"`
	Tasks       []taskJSON `json:"tasks"`
}

type taskJSON struct {
	Name   string   `json:"name"`
	Weight int      `json:"weight"`
	Stages []string `json:"stages"`
	FLOPs  int64    `json:"flops"`
	Bytes  int64    `json:"bytes"`
}

func runWorkloads(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("workloads", "[--json] [--config FILE]", errOut)
	common.register(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	_, cat, err := common.load()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	all := cat.All()
	if *asJSON {
		list := make([]workloadJSON, 0, len(all))
		for _, w := range all {
			list = append(list, toWorkloadJSON(w))
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return fail(errOut, exitFailure, "write JSON: %v", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTAGES\tGFLOP\tMB\tSOURCE\tDESCRIPTION")
	for _, w := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.Name, stagesColumn(w), figure(float64(w.FLOPs())/1e9), figure(float64(minBytes(w))/1e6), w.Source, w.Description)
	}
	tw.Flush()
	return exitOK
}

// stagesColumn says how many stages a single-task workload has, or how many tasks a model has.
func stagesColumn(w *workloads.Workload) string {
	if w.IsSingle() {
		return fmt.Sprint(len(w.Tasks[0].Stages))
	}
	return fmt.Sprintf("%d tasks", len(w.Tasks))
}

// minBytes is the weighted minimal traffic of a workload's tasks.
func minBytes(w *workloads.Workload) int64 {
	var n int64
	for _, t := range w.Tasks {
		n += int64(t.Weight) * t.MinBytes
	}
	return n
}

func toWorkloadJSON(w *workloads.Workload) workloadJSON {
	j := workloadJSON{Name: w.Name, Description: w.Description, Source: w.Source, FLOPs: w.FLOPs(), Bytes: minBytes(w)}
	for _, t := range w.Tasks {
		j.Tasks = append(j.Tasks, taskJSON{Name: t.Name, Weight: t.Weight, Stages: t.Stages, FLOPs: t.FLOPs, Bytes: t.MinBytes})
	}
	return j
}

// figure prints a positive quantity with four significant digits, without exponents for
// the magnitudes workloads have.
func figure(x float64) string {
	if x >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}
