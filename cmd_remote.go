package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"colt/core"
	"colt/core/remote"
	"colt/tui"
)

// serverFlags say how a client reaches a colt server: by default the one running for the
// configuration's work dir (its server.json and server.token).
type serverFlags struct {
	commonFlags
	server    string
	tokenFile string
	creds     string
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	f.commonFlags.register(fs)
	fs.StringVar(&f.server, "server", "", "NATS URL of the colt server (default: the one running for the work dir, from its server.json)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file with the server's token, mode 0600 (default: WORK_DIR/server.token)")
	fs.StringVar(&f.creds, "nats-creds", "", "NATS credentials file, for a server that uses an existing NATS deployment")
}

// dial connects to the colt server.
func (f *serverFlags) dial(cfg core.Config) (*remote.Client, error) {
	url, external := f.server, false
	if url == "" {
		info, err := remote.ReadServerInfo(cfg.WorkDir)
		if err != nil {
			return nil, err
		}
		url, external = info.URL, info.External
	}
	opt := remote.ConnectOptions{URL: url, CredsFile: f.creds, CAFile: cfg.Serve.TLSCA}
	switch {
	case f.tokenFile != "" || (!external && f.creds == ""):
		path := f.tokenFile
		if path == "" {
			path = filepath.Join(cfg.WorkDir, remote.TokenFile)
		}
		tok, err := remote.ReadToken(path)
		if err != nil {
			return nil, err
		}
		opt.Token = tok
	case external:
		opt.Token = os.Getenv("COLT_NATS_TOKEN")
	}
	return remote.Dial(opt)
}

// parseWithArgs parses flags that may come before or after up to maxArgs positional
// arguments (colt logs 3 -f), returning the arguments.
func parseWithArgs(fs *flag.FlagSet, args []string, maxArgs int) ([]string, bool, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, false, exitOK
			}
			return nil, false, exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > maxArgs {
		fmt.Fprintf(fs.Output(), "colt %s: unexpected argument %q\n", fs.Name(), pos[maxArgs])
		return nil, false, exitUsage
	}
	return pos, true, exitOK
}

// clientCommand runs a command of colt serve's clients: it parses the flags (flags adds the
// command's own) and up to maxArgs arguments, connects to the server and calls body.
func clientCommand(name, synopsis string, maxArgs int, args []string, errOut io.Writer, flags func(*flag.FlagSet),
	body func(c *remote.Client, cfg core.Config, pos []string) int) int {
	var f serverFlags
	fs := newFlagSet(name, synopsis, errOut)
	f.register(fs)
	if flags != nil {
		flags(fs)
	}
	pos, ok, code := parseWithArgs(fs, args, maxArgs)
	if !ok {
		return code
	}
	cfg, err := f.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	c, err := f.dial(cfg)
	if err != nil {
		return fail(errOut, exitFailure, "%s: %v", name, err)
	}
	defer c.Close()
	return body(c, cfg, pos)
}

func runAttach(ctx context.Context, args []string, out, errOut io.Writer) int {
	return clientCommand("attach", "[RUN]   (default: the newest run still going)", 1, args, errOut, nil, func(c *remote.Client, _ core.Config, pos []string) int {
		return attach(ctx, c, pos, out, errOut)
	})
}

// attach opens the console on a run of the server.
func attach(ctx context.Context, c *remote.Client, pos []string, out, errOut io.Writer) int {
	var info remote.RunInfo
	var err error
	if len(pos) == 1 {
		info, err = c.Run(pos[0])
	} else {
		info, err = c.Latest()
	}
	if err != nil {
		return fail(errOut, exitUsage, "attach: %v", err)
	}
	if !isTerminal(out) || !isTerminal(os.Stdin) {
		return fail(errOut, exitUsage, "attach: the console needs a terminal (colt logs %s -f prints the progress lines instead)", info.ID)
	}
	a, err := c.Attach(info.ID)
	if err != nil {
		return fail(errOut, exitFailure, "attach: %v", err)
	}
	rep, err := tui.Run(ctx, tui.RunOptions{Session: a, In: os.Stdin, Out: out, NoColor: os.Getenv("NO_COLOR") != ""})
	switch {
	case err != nil:
		return fail(errOut, exitFailure, "run %s: %v", info.ID, err)
	case rep == nil:
		fmt.Fprintf(errOut, "colt: detached from run %s; it goes on in colt serve (colt attach %s returns to it, colt ps lists the runs)\n", info.ID, info.ID)
	default:
		for i, r := range rep.Tasks {
			if i > 0 {
				fmt.Fprintln(out)
			}
			printTuneSummary(out, r, r.Workload, filepath.Dir(r.Records))
		}
	}
	return exitOK
}

func runPs(ctx context.Context, args []string, out, errOut io.Writer) int {
	var asJSON *bool
	return clientCommand("ps", "[--json]", 0, args, errOut, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print the runs and workers as JSON")
	}, func(c *remote.Client, _ core.Config, _ []string) int { return ps(c, *asJSON, out, errOut) })
}

// ps prints the server's runs and workers.
func ps(c *remote.Client, asJSON bool, out, errOut io.Writer) int {
	l, err := c.List()
	if err != nil {
		return fail(errOut, exitFailure, "ps: %v", err)
	}
	if asJSON {
		data, _ := json.MarshalIndent(l, "", "  ")
		fmt.Fprintln(out, string(data))
		return exitOK
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tWORKLOAD\tTARGET\tSTRATEGY\tSAMPLES\tBEST\tSTATE\tCONSOLES")
	for _, r := range l.Runs {
		best := "-"
		if r.BestS > 0 {
			best = fmt.Sprintf("%s (%.2f×)", seconds(r.BestS), r.Speedup)
		}
		task := r.Workload
		if r.Task != "" && r.Task != r.Workload {
			task = r.Task
		}
		state := string(r.State)
		if r.Error != "" {
			state += ": " + clip(r.Error, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%d\n", r.ID, task, clip(r.Target, 24), r.Strategy, r.Samples, r.Budget, best, state, r.Consoles)
	}
	tw.Flush()
	if len(l.Runs) == 0 {
		fmt.Fprintln(out, "(no runs: start one with colt tune --detach)")
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tHOST\tSTATE\tJOBS\tFAILURES")
	for _, w := range l.Workers {
		state := "idle"
		switch {
		case !w.Connected:
			state = "gone"
		case w.Busy:
			state = "busy"
		}
		id := w.ID
		if w.Local {
			id += " (server)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", id, w.Host, state, w.Jobs, w.Failures)
	}
	tw.Flush()
	if len(l.Workers) == 0 {
		fmt.Fprintln(out, "(no workers: the server was started with --no-local; add one with colt worker)")
	}
	return exitOK
}

func runLogs(ctx context.Context, args []string, out, errOut io.Writer) int {
	var follow *bool
	return clientCommand("logs", "RUN [-f]", 1, args, errOut, func(fs *flag.FlagSet) {
		follow = fs.Bool("f", false, "follow: keep printing lines until the run ends")
	}, func(c *remote.Client, _ core.Config, pos []string) int {
		if len(pos) == 0 {
			return fail(errOut, exitUsage, "logs: name the run (colt ps lists them)")
		}
		if err := c.Logs(ctx, pos[0], *follow, func(line string) { fmt.Fprintln(out, line) }); err != nil {
			return fail(errOut, exitFailure, "logs: %v", err)
		}
		return exitOK
	})
}

func runStop(ctx context.Context, args []string, out, errOut io.Writer) int {
	return clientCommand("stop", "RUN", 1, args, errOut, nil, func(c *remote.Client, _ core.Config, pos []string) int {
		if len(pos) == 0 {
			return fail(errOut, exitUsage, "stop: name the run (colt ps lists them)")
		}
		if _, err := c.Run(pos[0]); err != nil {
			return fail(errOut, exitUsage, "stop: %v", err)
		}
		if err := c.Command(pos[0], core.Command{Kind: core.CmdStop}); err != nil {
			return fail(errOut, exitFailure, "stop: %v", err)
		}
		fmt.Fprintf(out, "run %s: stopping after the step in progress; every measured candidate is recorded\n", pos[0])
		return exitOK
	})
}

// detach submits a tune to the server of the work dir, starting one in the background when
// none runs.
func detach(f *serverFlags, cfg core.Config, spec remote.RunSpec, out, errOut io.Writer) int {
	c, err := f.dial(cfg)
	if errors.Is(err, remote.ErrNoServer) && f.server == "" {
		fmt.Fprintf(errOut, "colt: no server runs for work dir %s: starting colt serve in the background (log: %s)\n", cfg.WorkDir, filepath.Join(cfg.WorkDir, remote.ServerLog))
		if err = startServer(f, cfg); err == nil {
			c, err = f.dial(cfg)
		}
	}
	if err != nil {
		return fail(errOut, exitFailure, "tune --detach: %v", err)
	}
	defer c.Close()
	info, err := c.Submit(spec)
	if err != nil {
		return fail(errOut, exitUsage, "tune --detach: %v", err)
	}
	fmt.Fprintf(out, "run %s: %s with the %s search, budget %d, on colt serve (%s)\n", info.ID, info.Workload, info.Strategy, info.Budget, info.Target)
	fmt.Fprintf(out, "  colt attach %s    open the console on it (q detaches again)\n  colt logs %s -f   follow its progress lines\n  colt stop %s      stop it\n", info.ID, info.ID, info.ID)
	return exitOK
}

// startServer starts `colt serve` for the work dir as a process of its own session (it
// survives the terminal) and waits until it answers.
func startServer(f *serverFlags, cfg core.Config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(cfg.WorkDir, remote.ServerLog)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"serve", "--work-dir", cfg.WorkDir}
	if f.configFile != "" {
		args = append(args, "--config", f.configFile)
	}
	if f.target != "" {
		args = append(args, "--target", f.target)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start colt serve: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("colt serve exited (%v): %s", err, lastLine(logPath))
		case <-time.After(200 * time.Millisecond):
		}
		if c, err := f.dial(cfg); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("colt serve did not answer within 60 s (see %s)", logPath)
}

// lastLine is the last non-empty line of a file ("" when none).
func lastLine(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}
