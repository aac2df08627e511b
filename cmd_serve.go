package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"colt/core"
	"colt/core/remote"
)

func runServe(ctx context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("serve", "[--port N] [--no-local] [--nats URL [--nats-creds FILE]]", errOut)
	common.register(fs)
	port := fs.Int("port", 0, "port of the embedded NATS server (default: serve.port, 4244)")
	natsURL := fs.String("nats", "", "use this existing NATS/JetStream deployment instead of embedding one\n(credentials: --nats-creds, or a token in COLT_NATS_TOKEN)")
	creds := fs.String("nats-creds", "", "NATS credentials file for --nats")
	noLocal := fs.Bool("no-local", false, "measure nothing here: workers measure every candidate (default: serve.measure_locally)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(errOut, "%s colt serve: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	srv, err := remote.Start(remote.ServerOptions{Config: cfg, NATSURL: *natsURL, NATSCreds: *creds, NATSToken: os.Getenv("COLT_NATS_TOKEN"),
		Port: *port, NoLocal: *noLocal, LogLine: progressLine, Logf: logf})
	if err != nil {
		return failWith(errOut, fmt.Errorf("serve: %w", err))
	}
	auth := "token in " + filepath.Join(cfg.WorkDir, remote.TokenFile) + " (mode 0600)"
	if *natsURL != "" {
		auth = "the deployment's credentials"
	}
	fmt.Fprintf(out, "colt serve: work dir %s, target %s\n", cfg.WorkDir, srv.Target())
	fmt.Fprintf(out, "colt serve: NATS at %s, %s\n", srv.URL(), auth)
	fmt.Fprintln(out, "colt serve: submit runs with colt tune --detach, watch them with colt attach / colt ps / colt logs; Ctrl-C stops the server (its runs resume when it starts again)")
	<-ctx.Done()
	fmt.Fprintln(errOut, "colt serve: stopping: the runs are interrupted and resume when the server starts again")
	if err := srv.Close(); err != nil {
		return fail(errOut, exitFailure, "serve: %v", err)
	}
	return exitOK
}

func runWorker(ctx context.Context, args []string, out, errOut io.Writer) int {
	var id *string
	var batch *int
	return clientCommand("worker", "[--nats URL] [--token-file FILE] [--id NAME]", 0, args, errOut, func(fs *flag.FlagSet) {
		fs.Func("nats", "the same as --server", func(v string) error { return fs.Set("server", v) })
		id = fs.String("id", "", "the worker's name (default: HOST-PID)")
		batch = fs.Int("batch", 0, "jobs taken at once, built in parallel and timed one by one (default: backend.build_workers)")
	}, func(c *remote.Client, cfg core.Config, _ []string) int {
		return work(ctx, c, cfg, *id, *batch, out, errOut)
	})
}

// work measures the server's candidates on this machine until ctx ends.
func work(ctx context.Context, c *remote.Client, cfg core.Config, id string, batch int, out, errOut io.Writer) int {
	be, err := core.OpenBackend(cfg)
	if err != nil {
		return failWith(errOut, fmt.Errorf("worker: %w", err))
	}
	lock, err := remote.OpenMachineLock("")
	if err != nil {
		return fail(errOut, exitFailure, "worker: %v", err)
	}
	defer lock.Close()
	jm, err := core.NewJobMeasurer(cfg, be, core.NewCPUGate(lock))
	if err != nil {
		return fail(errOut, exitUsage, "worker: %v", err)
	}
	host, _ := os.Hostname()
	if id == "" {
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if batch == 0 {
		batch = be.Config().BuildWorkers
	}
	fmt.Fprintf(out, "colt worker %s: measuring candidates for target %s\n", id, jm.Target())
	err = remote.RunWorker(ctx, remote.WorkerOptions{Conn: c.Conn(), Measurer: jm, ID: id, Host: host, Batch: batch,
		Logf: func(format string, a ...any) { fmt.Fprintf(errOut, "colt: "+format+"\n", a...) }})
	switch {
	case errors.Is(err, remote.ErrWrongTarget):
		return fail(errOut, exitUsage, "worker: %v", err)
	case err != nil:
		return fail(errOut, exitFailure, "worker: %v", err)
	}
	fmt.Fprintf(errOut, "colt worker %s: stopped\n", id)
	return exitOK
}
