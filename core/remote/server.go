package remote

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"colt/core"
)

// ServerOptions configure `colt serve`.
type ServerOptions struct {
	// Config is the server's configuration: work dir, backend, models (their keys are read
	// from the server's environment), [serve].
	Config core.Config
	// NATSURL, when set, is an existing NATS/JetStream deployment to use instead of the
	// embedded server, with NATSCreds (a credentials file) or NATSToken.
	NATSURL, NATSCreds, NATSToken string
	// Port, when set, replaces serve.port (-1: any free port, for tests).
	Port int
	// NoLocal says the server measures nothing itself: workers measure every candidate.
	NoLocal bool
	// LogLine turns an event into a progress line for `colt logs` (false: no line).
	LogLine func(core.Event) (string, bool)
	// Logf receives the server's own log lines (nil: discarded).
	Logf func(format string, args ...any)
	// Getenv reads the models' API keys (nil: os.Getenv).
	Getenv func(string) string
	// MachineLockPath is the file of the machine's timing lock ("" = the default).
	MachineLockPath string
}

// Server is `colt serve`: it owns searches (core sessions, several at once, resumed after a
// restart from their records), answers consoles and the CLI over NATS, queues candidates for
// its workers and records their results as the one writer of the work dir's records.
type Server struct {
	opt      ServerOptions
	cfg      core.Config
	ns       *server.Server // nil with an external deployment
	nc       *nats.Conn
	js       jetstream.JetStream
	url      string
	store    *core.Store
	gate     *core.CPUGate
	lock     *MachineLock
	target   string
	targetID string
	queue    *queue
	subs     []*nats.Subscription
	ackWait  time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	runs    map[string]*serverRun
	nextID  int
	workers map[string]*WorkerInfo
	closed  bool
}

// Start starts a server: the record store (locking the work dir), NATS (embedded or
// external), the work queue, the request handlers, the runs left unfinished by an earlier
// server, and the local worker. The server runs until Close.
func Start(opt ServerOptions) (_ *Server, err error) {
	cfg := opt.Config
	if err := cfg.Serve.Check(); err != nil {
		return nil, err
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.LogLine == nil {
		opt.LogLine = func(core.Event) (string, bool) { return "", false }
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	s := &Server{opt: opt, cfg: cfg, runs: map[string]*serverRun{}, nextID: 1, workers: map[string]*WorkerInfo{},
		ackWait: time.Duration(cfg.Serve.AckWaitS * float64(time.Second))}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()
	if s.lock, err = OpenMachineLock(opt.MachineLockPath); err != nil {
		return nil, err
	}
	s.gate = core.NewCPUGate(s.lock)
	be, err := core.OpenBackend(cfg)
	if err != nil {
		return nil, err
	}
	s.target = be.Target().String()
	s.targetID = TargetID(s.target)
	if s.store, err = core.OpenStore(cfg.WorkDir); err != nil {
		return nil, fmt.Errorf("%w (another colt serve or colt tune uses work dir %s)", err, cfg.WorkDir)
	}
	if err := s.connect(); err != nil {
		return nil, err
	}
	if s.queue, err = newQueue(s); err != nil {
		return nil, err
	}
	if err := s.subscribe(); err != nil {
		return nil, err
	}
	info := ServerInfo{URL: s.url, PID: os.Getpid(), Started: time.Now(), Protocol: Protocol, External: opt.NATSURL != "", TLS: cfg.Serve.TLSCert != ""}
	if err := writeJSON(filepath.Join(cfg.WorkDir, ServerFile), info); err != nil {
		return nil, fmt.Errorf("write %s: %w", ServerFile, err)
	}
	if err := s.resumeRuns(); err != nil {
		return nil, err
	}
	if cfg.Serve.MeasureLocally && !opt.NoLocal {
		jm, err := core.NewJobMeasurer(cfg, be, s.gate)
		if err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		s.wg.Go(func() {
			err := RunWorker(s.ctx, WorkerOptions{Conn: s.nc, Measurer: jm, ID: "local", Host: host, Local: true,
				Batch: be.Config().BuildWorkers, Logf: opt.Logf})
			if err != nil && s.ctx.Err() == nil {
				opt.Logf("local worker stopped: %v", err)
			}
		})
	}
	return s, nil
}

// TargetID is a target key made fit for a subject: the work-queue subject of its jobs.
func TargetID(target string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(target); i++ {
		h = (h ^ uint64(target[i])) * 1099511628211
	}
	return strconv.FormatUint(h, 36)
}

// connect starts the embedded NATS server (or reaches the external one) and connects to it.
func (s *Server) connect() error {
	cfg := s.cfg
	if s.opt.NATSURL != "" {
		nc, err := Connect(ConnectOptions{URL: s.opt.NATSURL, CredsFile: s.opt.NATSCreds, Token: s.opt.NATSToken, CAFile: cfg.Serve.TLSCA, Name: "colt serve"})
		if err != nil {
			return err
		}
		s.nc, s.url = nc, s.opt.NATSURL
		return s.jetStream()
	}
	// The token of an earlier server is kept, so its workers and consoles reconnect.
	tokPath := filepath.Join(cfg.WorkDir, TokenFile)
	tok, err := ReadToken(tokPath)
	if err != nil {
		if tok, err = newToken(); err != nil {
			return err
		}
		if err := writeToken(tokPath, tok); err != nil {
			return fmt.Errorf("write the token: %w", err)
		}
	}
	port := cfg.Serve.Port
	if s.opt.Port != 0 {
		port = s.opt.Port
	}
	nopt := &server.Options{ServerName: "colt", Host: cfg.Serve.Listen, Port: port, Authorization: tok, JetStream: true,
		StoreDir: filepath.Join(cfg.WorkDir, "nats"), NoSigs: true, NoLog: true, MaxPayload: 8 << 20}
	if cfg.Serve.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Serve.TLSCert, cfg.Serve.TLSKey)
		if err != nil {
			return fmt.Errorf("serve.tls_cert/tls_key: %w", err)
		}
		nopt.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		nopt.TLS = true
	}
	ns, err := server.NewServer(nopt)
	if err != nil {
		return fmt.Errorf("NATS server: %w", err)
	}
	s.ns = ns
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("NATS server: not ready to listen on %s:%d after 10 s (is the port taken? set serve.port)", cfg.Serve.Listen, port)
	}
	s.url = ns.ClientURL()
	nc, err := nats.Connect(s.url, nats.Token(tok), nats.InProcessServer(ns), nats.Name("colt serve"), nats.NoCallbacksAfterClientClose())
	if err != nil {
		return fmt.Errorf("connect to the embedded NATS server: %w", err)
	}
	s.nc = nc
	return s.jetStream()
}

// jetStream sets up the streams: the work queue (emptied: jobs of an earlier server have no
// run waiting for them) and the progress lines.
func (s *Server) jetStream() error {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return err
	}
	s.js = js
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	jobs, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: StreamJobs, Subjects: []string{SubjectJobs + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		return fmt.Errorf("JetStream work queue: %w (does the NATS server have JetStream enabled?)", err)
	}
	if err := jobs.Purge(ctx); err != nil {
		return fmt.Errorf("JetStream work queue: %w", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: StreamLogs, Subjects: []string{SubjectLogs + ".>"},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, MaxMsgsPerSubject: 100000, MaxAge: 30 * 24 * time.Hour}); err != nil {
		return fmt.Errorf("JetStream progress lines: %w", err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamJobs, jetstream.ConsumerConfig{Durable: consumerName(s.targetID),
		FilterSubject: SubjectJobs + "." + s.targetID, AckPolicy: jetstream.AckExplicitPolicy, AckWait: s.ackWait,
		MaxDeliver: -1, MaxAckPending: 10000}); err != nil {
		return fmt.Errorf("JetStream workers' consumer: %w", err)
	}
	return nil
}

// consumerName is the durable consumer the workers of a target share.
func consumerName(targetID string) string { return "workers-" + targetID }

// URL is the NATS URL clients connect to.
func (s *Server) URL() string { return s.url }

// Target is the server's target key.
func (s *Server) Target() string { return s.target }

// subscribe installs the request handlers.
func (s *Server) subscribe() error {
	handlers := []struct {
		subject string
		handle  nats.MsgHandler
	}{
		{SubjectSubmit, s.onSubmit},
		{SubjectList, s.onList},
		{SubjectHello, s.onHello},
		{SubjectWorkers, s.onWorkerBeat},
		{SubjectResults, s.queue.onResult},
		{runSubject("*", "attach"), s.onRun(func(r *serverRun, m *nats.Msg) { r.onAttach(m) })},
		{runSubject("*", "command"), s.onRun(func(r *serverRun, m *nats.Msg) { r.onCommand(m) })},
		{runSubject("*", "console"), s.onRun(func(r *serverRun, m *nats.Msg) { r.onConsole(m) })},
	}
	for _, h := range handlers {
		sub, err := s.nc.Subscribe(h.subject, s.guard(h.handle))
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", h.subject, err)
		}
		s.subs = append(s.subs, sub)
	}
	return s.nc.Flush()
}

// guard keeps a handler's panic from reaching the process: the request is answered with the
// error instead.
func (s *Server) guard(h nats.MsgHandler) nats.MsgHandler {
	return func(m *nats.Msg) {
		defer func() {
			if p := recover(); p != nil {
				s.opt.Logf("internal error handling %s (please report it): %v", m.Subject, p)
				refuse(m, "internal error in the colt server (please report it): %v", p)
			}
		}()
		h(m)
	}
}

// onRun routes a run's subject (colt.run.RUN.KIND) to the run.
func (s *Server) onRun(h func(*serverRun, *nats.Msg)) nats.MsgHandler {
	return func(m *nats.Msg) {
		id := runOfSubject(m.Subject)
		s.mu.Lock()
		r := s.runs[id]
		s.mu.Unlock()
		if r == nil {
			refuse(m, "no run %q on this server (colt ps lists them)", id)
			return
		}
		h(r, m)
	}
}

// runOfSubject is RUN in colt.run.RUN.KIND.
func runOfSubject(subject string) string {
	rest := subject[len(SubjectRun)+1:]
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == '.' {
			return rest[:i]
		}
	}
	return rest
}

func (s *Server) onSubmit(m *nats.Msg) {
	var req SubmitRequest
	if err := decode(m, &req); err != nil {
		refuse(m, "%v", err)
		return
	}
	r, err := s.startRun("", req.Spec, time.Now())
	if err != nil {
		refuse(m, "%v", err)
		return
	}
	respond(m, &SubmitReply{Run: r.runInfo()})
}

func (s *Server) onList(m *nats.Msg) {
	var req ListRequest
	if err := decode(m, &req); err != nil {
		refuse(m, "%v", err)
		return
	}
	respond(m, &ListReply{Target: s.target, Runs: s.runInfos(), Workers: s.workerInfos()})
}

func (s *Server) onHello(m *nats.Msg) {
	var req Hello
	if err := decode(m, &req); err != nil {
		refuse(m, "%v", err)
		return
	}
	if req.Worker.Target != s.target {
		respond(m, &HelloReply{Message: Message{Error: fmt.Sprintf("worker %s measures for target %q, but this server tunes for %q: a worker runs on a machine of the server's kind",
			req.Worker.ID, req.Worker.Target, s.target)}, Target: s.target})
		return
	}
	s.noteWorker(req.Worker)
	respond(m, &HelloReply{Target: s.target, AckWaitS: s.ackWait.Seconds()})
}

func (s *Server) onWorkerBeat(m *nats.Msg) {
	var beat WorkerBeat
	if decode(m, &beat) == nil && beat.Worker.ID != "" {
		s.noteWorker(beat.Worker)
	}
}

// noteWorker records a worker's latest state.
func (s *Server) noteWorker(w WorkerInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.LastSeen = time.Now()
	if old := s.workers[w.ID]; old != nil {
		w.Jobs, w.Failures = max(w.Jobs, old.Jobs), max(w.Failures, old.Failures)
	}
	s.workers[w.ID] = &w
}

// countResult counts a job a worker handed in.
func (s *Server) countResult(worker string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workers[worker]
	if w == nil {
		w = &WorkerInfo{ID: worker}
		s.workers[worker] = w
	}
	w.Jobs++
	if !ok {
		w.Failures++
	}
	w.LastSeen = time.Now()
}

// workerInfos are the workers seen, each marked connected while its heartbeats arrive.
func (s *Server) workerInfos() []WorkerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []WorkerInfo{}
	for _, w := range s.workers {
		c := *w
		c.Connected = time.Since(c.LastSeen) < 3*HeartbeatEvery
		if !c.Connected {
			c.Busy = false
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// runInfos are the runs, oldest first.
func (s *Server) runInfos() []RunInfo {
	s.mu.Lock()
	runs := make([]*serverRun, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.runInfo())
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].ID)
		b, _ := strconv.Atoi(out[j].ID)
		return a < b
	})
	return out
}

// runFile is what a run's file in RunsDir holds.
type runFile struct {
	ID      string    `json:"id"`
	Spec    RunSpec   `json:"spec"`
	State   RunState  `json:"state"`
	Error   string    `json:"error,omitempty"`
	Started time.Time `json:"started"`
	// Where it stood when it was last written.
	Task    string  `json:"task,omitempty"`
	Samples int     `json:"samples,omitempty"`
	Budget  int     `json:"budget,omitempty"`
	BestS   float64 `json:"best_s,omitempty"`
	Speedup float64 `json:"speedup,omitempty"`
}

// resumeRuns loads the runs an earlier server left: finished ones are listed, the others are
// started again (each task's budget is what its records have not spent).
func (s *Server) resumeRuns() error {
	dir := filepath.Join(s.cfg.WorkDir, RunsDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var files []runFile
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".json" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var f runFile
		if err == nil {
			err = json.Unmarshal(data, &f)
		}
		if err != nil || f.ID == "" {
			s.opt.Logf("runs: %s is not a run file; left alone", e.Name())
			continue
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool {
		a, _ := strconv.Atoi(files[i].ID)
		b, _ := strconv.Atoi(files[j].ID)
		return a < b
	})
	for _, f := range files {
		if n, err := strconv.Atoi(f.ID); err == nil && n >= s.nextID {
			s.nextID = n + 1
		}
		if f.State.Ended() {
			s.mu.Lock()
			s.runs[f.ID] = endedRun(s, f)
			s.mu.Unlock()
			continue
		}
		s.opt.Logf("run %s: resuming %s from its records", f.ID, f.Spec.Workload)
		if _, err := s.startRun(f.ID, f.Spec, f.Started); err != nil {
			s.opt.Logf("run %s: cannot resume: %v", f.ID, err)
			r := endedRun(s, runFile{ID: f.ID, Spec: f.Spec, State: RunFailed, Error: err.Error(), Started: f.Started})
			r.persist()
			s.mu.Lock()
			s.runs[f.ID] = r
			s.mu.Unlock()
		}
	}
	return nil
}

// Close interrupts the runs (a restarted server resumes them), stops the local worker and
// shuts NATS down. It returns once nothing of the server runs.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	runs := make([]*serverRun, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.interrupt()
	}
	for _, r := range runs {
		r.wait()
	}
	return s.shutdown()
}

// shutdown releases what Start acquired.
func (s *Server) shutdown() error {
	s.cancel()
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.wg.Wait()
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	if s.url != "" {
		_ = os.Remove(filepath.Join(s.cfg.WorkDir, ServerFile))
	}
	var err error
	if s.store != nil {
		err = s.store.Close()
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
	return err
}
