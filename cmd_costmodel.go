package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"colt/core"
)

// runCostModel dispatches colt costmodel eval and colt costmodel export-dataset.
func runCostModel(ctx context.Context, args []string, out, errOut io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(errOut, `Usage: colt costmodel eval --work-dir DIR [--json] [--test-share F] [--seed S]
       colt costmodel export-dataset --work-dir DIR --out FILE.csv

eval            train the cost model on part of the work dir's records and report, per workload,
                how well it and the analytic estimate rank the held-out candidates
export-dataset  write the records' features and labels as CSV for LightGBM / XGBoost`)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "eval":
		return runCostModelEval(args[1:], out, errOut)
	case "export-dataset":
		return runCostModelExport(args[1:], out, errOut)
	}
	return fail(errOut, exitUsage, "costmodel: unknown subcommand %q; want eval or export-dataset", args[0])
}

// costModelExamples loads the configuration and the examples of this machine's target; it
// returns the exit code to use when there are none (-1 when there are).
func costModelExamples(common commonFlags, cmd string, errOut io.Writer) (core.Config, *core.ExampleSet, int) {
	cfg, err := common.config()
	if err != nil {
		return cfg, nil, fail(errOut, exitUsage, "%v", err)
	}
	set, err := core.LoadExamples(cfg)
	if err != nil {
		if core.IsInputError(err) {
			return cfg, nil, fail(errOut, exitUsage, "%v", err)
		}
		return cfg, nil, fail(errOut, exitFailure, "costmodel %s: %v; run colt tune with this work dir first", cmd, err)
	}
	if len(set.Examples) == 0 {
		return cfg, nil, fail(errOut, exitFailure, "costmodel %s: none of the %d records in %s can be used for this target (%s); records by target: %v",
			cmd, set.Records, cfg.WorkDir, set.Target.String(), set.RecordsByTarget)
	}
	return cfg, set, -1
}

func runCostModelEval(args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("costmodel eval", "--work-dir DIR [--json] [--test-share F] [--seed S]", errOut)
	common.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	share := fs.Float64("test-share", 0.2, "share of each workload's measured candidates held out for evaluation")
	seed := fs.Uint64("seed", 1, "seed of the split and of the training")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if !(*share > 0 && *share < 1) {
		return fail(errOut, exitUsage, "costmodel eval: --test-share is %g, want between 0 and 1", *share)
	}
	cfg, set, code := costModelExamples(common, "eval", errOut)
	if code >= 0 {
		return code
	}
	opt := core.CostModelOptions(cfg.CostModel, set.Target, "", nil)
	opt.Train.Seed = *seed
	rep, err := core.EvaluateCostModel(set.Examples, opt, *share, *seed)
	if err != nil {
		return fail(errOut, exitFailure, "costmodel eval: %v", err)
	}
	rep.WorkDir, rep.Target, rep.Records, rep.Skipped = cfg.WorkDir, set.Target.String(), set.Records, set.Skipped
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(errOut, exitFailure, "costmodel eval: %v", err)
		}
		return exitOK
	}
	fmt.Fprintf(out, "cost model evaluation on %s: %d records, %d usable, %.0f%% of each workload's measured candidates held out; the model trained %d rounds\n",
		cfg.WorkDir, set.Records, len(set.Examples), *share*100, rep.Rounds)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tTRAIN\tTEST\tPREDICTOR\tPAIRWISE\tSPEARMAN\tTOP-K RECALL")
	for _, w := range rep.Workloads {
		for _, p := range []struct {
			name string
			q    core.RankingQuality
		}{{"learned (GBDT)", w.Learned}, {"analytic", w.Analytic}} {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.3f\t%.3f\t%.2f (k=%d)\n", w.Workload, w.Train, w.Test, p.name, p.q.PairwiseAccuracy, p.q.Spearman, p.q.TopKRecall, p.q.K)
		}
	}
	tw.Flush()
	return exitOK
}

func runCostModelExport(args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("costmodel export-dataset", "--work-dir DIR --out FILE.csv", errOut)
	common.register(fs)
	path := fs.String("out", "", "CSV file to write (FILE.weight, FILE.query and FILE.names are written next to it)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if *path == "" {
		return fail(errOut, exitUsage, "costmodel export-dataset: --out is required")
	}
	cfg, set, code := costModelExamples(common, "export-dataset", errOut)
	if code >= 0 {
		return code
	}
	rows, cands, err := core.ExportDataset(set.Examples, cfg.CostModel.FailureWeight, *path)
	if err != nil {
		return fail(errOut, exitFailure, "costmodel export-dataset: %v", err)
	}
	fmt.Fprintf(out, "wrote %s: %d rows of %d candidates (%d records skipped), label in column 0, no header;\n", *path, rows, cands, set.Skipped)
	fmt.Fprintf(out, "with %s.weight, %s.query (rows per candidate) and %s.names (column names)\n", *path, *path, *path)
	fmt.Fprintf(out, "LightGBM: lightgbm task=train data=%s label_column=0 objective=regression\n", *path)
	fmt.Fprintf(out, "XGBoost:  xgboost data=%s?format=csv&label_column=0\n", *path)
	return exitOK
}
