package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"colt/core"
)

// printAllocation prints how a model's budget went to its tasks: each task's samples and
// share, the tasks tuned once for others with the same program, and for the task scheduler
// the end-to-end estimate after each round.
func printAllocation(out io.Writer, rep *core.SessionReport) {
	total := 0
	for _, r := range rep.Tasks {
		total += r.Samples
	}
	fmt.Fprintf(out, "allocation (%s task order, budget %d, %d measured):\n", rep.TaskOrder, rep.Budget, total)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  task\tweight\tsamples\tshare\tbest\t\n")
	for _, r := range rep.Tasks {
		best := "-"
		if r.BestLatencyS != nil {
			best = seconds(*r.BestLatencyS)
		}
		share := 0.0
		if rep.Budget > 0 {
			share = 100 * float64(r.Samples) / float64(rep.Budget)
		}
		fmt.Fprintf(tw, "  %s\t×%d\t%d\t%.0f%%\t%s\t\n", r.Workload, rep.Weights[r.Workload], r.Samples, share, best)
	}
	tw.Flush()
	for _, task := range slices.Sorted(maps.Keys(rep.Merged)) {
		fmt.Fprintf(out, "  %s was tuned once for %s too (the same program)\n", task, strings.Join(rep.Merged[task], ", "))
	}
	if len(rep.Rounds) > 0 {
		var steps []string
		for _, r := range rep.Rounds {
			steps = append(steps, fmt.Sprintf("%d:%s+%d→%s", r.Round, shortTask(r.Task), r.Samples, seconds(r.EndToEndS)))
		}
		fmt.Fprintf(out, "rounds (round:task+samples→end-to-end estimate): %s\n", strings.Join(steps, " "))
	}
}

// shortTask is a model's task name without the model's.
func shortTask(name string) string {
	if _, task, ok := strings.Cut(name, ":"); ok {
		return task
	}
	return name
}
