package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"colt/core"
)

func runWorkloads(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("workloads", "[--json] [--config FILE]", errOut)
	common.register(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	all, err := core.ListWorkloads(cfg)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return fail(errOut, exitFailure, "write JSON: %v", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTAGES\tGFLOP\tMB\tSOURCE\tDESCRIPTION")
	for _, w := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.Name, stagesColumn(w), figure(float64(w.FLOPs)/1e9), figure(float64(w.Bytes)/1e6), w.Source, w.Description)
	}
	tw.Flush()
	return exitOK
}

// stagesColumn says how many stages a single-task workload has, or how many tasks a model has.
func stagesColumn(w core.WorkloadInfo) string {
	if w.IsSingle() {
		return fmt.Sprint(len(w.Tasks[0].Stages))
	}
	return fmt.Sprintf("%d tasks", len(w.Tasks))
}

// figure prints a positive quantity with four significant digits, without exponents for
// the magnitudes workloads have.
func figure(x float64) string {
	if x >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}
