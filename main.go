// Command colt tunes tensor-program kernels (matmul, attention, convolution and MLP layers) on
// the machine it runs on, by searching schedules with several LLMs that share one Monte Carlo
// tree (the COLT method). This file holds the command-line entry point; each subcommand lives
// in its own cmd_*.go file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"colt/core"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // the work ran and failed: a wrong or crashing kernel, a build error
	exitUsage    = 2 // the command line or configuration is wrong
	exitInternal = 3 // a bug in colt
)

// consoleWorkload is what `colt` alone tunes in the console.
const consoleWorkload = "llama3-8b-attn"

// command is one subcommand: its name, a one-line summary and how to run it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) int
}

func commands() []command {
	return []command{
		{"workloads", "list the built-in and configured workloads", runWorkloads},
		{"show", "print a workload's program as TIR or C", runShow},
		{"measure", "compile, check and time a workload's unscheduled program", runMeasure},
		{"tune", "search schedules for a workload, recording every candidate", runTune},
		{"export", "write the best measured schedule as C, trace JSON and TIR", runExport},
		{"bench", "run a grid of tuning runs (workloads × configurations × budgets × seeds): table, CSV, plots", runBench},
		{"costmodel", "evaluate the cost model on the records, or export them as a dataset", runCostModel},
		{"serve", "run a server that owns searches (they outlive the console) over NATS", runServe},
		{"attach", "open the console on a search of colt serve (q detaches)", runAttach},
		{"ps", "list colt serve's runs and workers", runPs},
		{"logs", "print a run's progress lines (-f follows)", runLogs},
		{"stop", "stop a run of colt serve", runStop},
		{"worker", "measure candidates for a colt serve on another machine", runWorker},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand. A panic is turned into a one-line message and exit code 3:
// no stack trace reaches the user unless COLT_DEBUG is set.
func run(ctx context.Context, args []string, out, errOut io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(errOut, "colt: internal error: %v (please report it with the command you ran)\n", r)
			if os.Getenv("COLT_DEBUG") != "" {
				errOut.Write(debug.Stack())
			}
			code = exitInternal
		}
	}()
	if len(args) == 0 && isTerminal(out) && isTerminal(os.Stdin) {
		// The main job: a COLT search in the console, on the built-in defaults.
		return runTune(ctx, []string{"--workload", consoleWorkload, "--strategy", "colt"}, out, errOut)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(out)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], out, errOut)
		}
	}
	fmt.Fprintf(errOut, "colt: unknown command %q; run 'colt help' for the list\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "colt — tune tensor-program kernels with several LLMs sharing one search tree")
	fmt.Fprintln(w, "\nUsage: colt <command> [flags]   (colt <command> -h for its flags)")
	fmt.Fprintf(w, "       colt                     (in a terminal: the console, a COLT search of %s)\n", consoleWorkload)
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// fail prints a one-line error and returns the exit code.
func fail(errOut io.Writer, code int, format string, args ...any) int {
	fmt.Fprintf(errOut, "colt: "+format+"\n", args...)
	return code
}

// failWith prints an error from core as a one-line error and returns its exit code: exitUsage
// for what core marks as an error in the request (core.InputError), exitFailure otherwise.
func failWith(errOut io.Writer, err error) int {
	if core.IsInputError(err) {
		return fail(errOut, exitUsage, "%v", err)
	}
	return fail(errOut, exitFailure, "%v", err)
}
