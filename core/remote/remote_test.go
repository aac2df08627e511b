package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"colt/core"
)

// testConfig is a configuration with a small matmul whose candidates build and run in
// milliseconds, a brief confirmation, and its own work dir.
func testConfig(t *testing.T) core.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "colt.toml")
	body := `work_dir = "` + filepath.Join(dir, "work") + `"
[search]
confirm_top = 1
confirm_rounds = 1
batch_size = 4
[serve]
ack_wait_s = 2
[workloads.small]
description = "a 16x16x16 matmul"
sizes = { M = 16, N = 16, K = 16 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]
`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startServer starts an in-process server on a free port and closes it when the test ends.
func startServer(t *testing.T, cfg core.Config, noLocal bool) *Server {
	t.Helper()
	srv, err := Start(ServerOptions{Config: cfg, Port: -1, NoLocal: noLocal, MachineLockPath: filepath.Join(t.TempDir(), "timing.lock"),
		LogLine: func(e core.Event) (string, bool) { return string(e.Kind) + " " + e.Workload, true }})
	if err != nil {
		t.Fatalf("start the server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// dial connects a client the way the CLI does: the URL from server.json, the token from
// server.token.
func dial(t *testing.T, cfg core.Config) *Client {
	t.Helper()
	info, err := ReadServerInfo(cfg.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ReadToken(filepath.Join(cfg.WorkDir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ConnectOptions{URL: info.URL, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// console is an attached console driven by a test: it keeps the events it receives.
type console struct {
	a      *Attached
	cancel context.CancelFunc
	done   chan struct{}
	report *core.SessionReport
	err    error

	mu     sync.Mutex
	events []core.Event
}

func attach(t *testing.T, c *Client, run string) *console {
	t.Helper()
	a, err := c.Attach(run)
	if err != nil {
		t.Fatalf("attach %s: %v", run, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &console{a: a, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		k.report, k.err = a.Run(ctx, func(e core.Event) {
			k.mu.Lock()
			k.events = append(k.events, e)
			k.mu.Unlock()
		})
	}()
	t.Cleanup(k.quit)
	return k
}

// quit detaches the console and waits for its Run to return.
func (k *console) quit() {
	k.cancel()
	<-k.done
}

// last is the latest event (false before the first).
func (k *console) last() (core.Event, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.events) == 0 {
		return core.Event{}, false
	}
	return k.events[len(k.events)-1], true
}

// command sends an operator command the way the console does and returns its outcome.
func (k *console) command(cmd core.Command) error {
	done := make(chan error, 1)
	cmd.Done = done
	k.a.Commands() <- cmd
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		return errors.New("no answer to the command within a minute")
	}
}

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runInfo(t *testing.T, c *Client, id string) RunInfo {
	t.Helper()
	info, err := c.Run(id)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestDetachAttachSteer is the detached workflow: a search submitted to the server, a console
// that attaches, pins a model and pauses, resumes and quits; the search goes on without it;
// two consoles attach and see the same state; one stops the search and both see the end.
func TestDetachAttachSteer(t *testing.T) {
	cfg := testConfig(t)
	startServer(t, cfg, false)
	c := dial(t, cfg)
	info, err := c.Submit(RunSpec{Workload: "small", Strategy: "colt", Budget: 200})
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "1" || info.State != RunRunning || info.Budget != 200 {
		t.Fatalf("submitted run: %+v, want run 1 running with budget 200", info)
	}

	k1 := attach(t, c, info.ID)
	eventually(t, "the console sees a sample and the model table", func() bool {
		e, ok := k1.last()
		return ok && e.Samples >= 1 && e.Snapshot != nil && len(e.Snapshot.Models) > 0
	})
	e, _ := k1.last()
	model := e.Snapshot.Models[len(e.Snapshot.Models)-1].Name
	if len(e.Workers) != 1 || e.Workers[0].ID != "local" || !e.Workers[0].Connected {
		t.Errorf("the console's workers: %+v, want the server's own, connected", e.Workers)
	}
	if err := k1.command(core.Command{Kind: core.CmdPin, Model: model}); err != nil {
		t.Fatalf("pin %s: %v", model, err)
	}
	if err := k1.command(core.Command{Kind: core.CmdPause}); err != nil {
		t.Fatalf("pause: %v", err)
	}
	eventually(t, "colt ps shows the run paused", func() bool { return runInfo(t, c, info.ID).State == RunPaused })
	if err := k1.command(core.Command{Kind: core.CmdResume}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	eventually(t, "the console sees the pin", func() bool {
		e, _ := k1.last()
		return e.State == "pinned "+model
	})
	eventually(t, "colt ps counts the console", func() bool { return runInfo(t, c, info.ID).Consoles == 1 })
	k1.quit()
	if k1.err != nil || k1.report != nil {
		t.Fatalf("a console that quits detaches: Run returned %v, %v; want nil, nil", k1.report, k1.err)
	}
	left := runInfo(t, c, info.ID)
	eventually(t, "the search goes on after the console left", func() bool {
		now := runInfo(t, c, info.ID)
		return now.Samples > left.Samples && now.Consoles == 0
	})

	k2, k3 := attach(t, c, info.ID), attach(t, c, info.ID)
	for _, k := range []*console{k2, k3} {
		eventually(t, "a console attaching mid-run gets the state at once", func() bool {
			e, ok := k.last()
			return ok && e.Snapshot != nil && e.Samples >= left.Samples && len(e.History) == e.Samples && e.State == "pinned "+model
		})
	}
	eventually(t, "colt ps counts two consoles", func() bool { return runInfo(t, c, info.ID).Consoles == 2 })
	if err := k3.command(core.Command{Kind: core.CmdStop}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, k := range []*console{k2, k3} {
		select {
		case <-k.done:
		case <-time.After(time.Minute):
			t.Fatal("a console's run did not end within a minute of the stop")
		}
		if k.err != nil || k.report == nil || len(k.report.Tasks) != 1 || k.report.Tasks[0].StopReason != core.StopStopped {
			t.Fatalf("both consoles see the run stopped: got %+v, %v", k.report, k.err)
		}
		if e, _ := k.last(); len(e.History) != k.report.Tasks[0].Samples {
			t.Errorf("the console's history has %d entries, the report %d samples", len(e.History), k.report.Tasks[0].Samples)
		}
	}
	if st := runInfo(t, c, info.ID).State; st != RunStopped {
		t.Errorf("after the stop, colt ps says %s, want stopped", st)
	}
	records, err := core.ReadRecords(cfg.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	if n := k2.report.Tasks[0].Samples; len(records) != n {
		t.Errorf("records: %d, want one per sample (%d)", len(records), n)
	}
	for _, r := range records {
		if r.Run != info.ID {
			t.Fatalf("record of run %q, want %q", r.Run, info.ID)
		}
	}
}

// TestRefusals: what a client or worker gets wrong is refused with an error that says what.
func TestRefusals(t *testing.T) {
	cfg := testConfig(t)
	srv := startServer(t, cfg, true)
	c := dial(t, cfg)

	t.Run("wrong token", func(t *testing.T) {
		_, err := Dial(ConnectOptions{URL: srv.URL(), Token: "not-the-token"})
		if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
			t.Fatalf("a wrong token: %v, want a refusal", err)
		}
		_, err = Dial(ConnectOptions{URL: srv.URL()})
		if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
			t.Fatalf("no token: %v, want a refusal", err)
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if _, err := c.Attach("42"); err == nil || !strings.Contains(err.Error(), `no run "42"`) {
			t.Fatalf("attach to an unknown run: %v", err)
		}
		if err := c.Command("42", core.Command{Kind: core.CmdStop}); err == nil || !strings.Contains(err.Error(), `no run "42"`) {
			t.Fatalf("stop an unknown run: %v", err)
		}
	})
	t.Run("unknown workload", func(t *testing.T) {
		if _, err := c.Submit(RunSpec{Workload: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("submit an unknown workload: %v", err)
		}
	})
	t.Run("protocol version", func(t *testing.T) {
		msg := nats.NewMsg(SubjectList)
		msg.Data = []byte(`{"protocol": 99}`)
		resp, err := c.nc.RequestMsg(msg, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var reply ListReply
		if err := decode(resp, &reply); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reply.Error, "protocol 99") || !strings.Contains(reply.Error, "speaks 1") {
			t.Fatalf("a request of protocol 99: %q, want an error naming both versions", reply.Error)
		}
		var other ListReply
		if err := decode(&nats.Msg{Subject: "x", Data: []byte(`{"protocol": 2, "runs": 7}`)}, &other); !errors.Is(err, ErrVersion) {
			t.Fatalf("decoding a message of protocol 2: %v, want ErrVersion", err)
		}
		if err := decode(&nats.Msg{Subject: "x", Data: []byte(`garbage`)}, &other); err == nil || !strings.Contains(err.Error(), "not a colt message") {
			t.Fatalf("decoding garbage: %v", err)
		}
	})
	t.Run("worker of another target", func(t *testing.T) {
		var reply HelloReply
		err := request(c.nc, SubjectHello, &Hello{Worker: WorkerInfo{ID: "w", Target: "cuda: some other GPU"}}, &reply, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "this server tunes for") || reply.Target != srv.Target() {
			t.Fatalf("a worker of another target: %v (target %q)", err, reply.Target)
		}
	})
	t.Run("listening beyond loopback without TLS", func(t *testing.T) {
		open := testConfig(t)
		open.Serve.Listen = "0.0.0.0"
		if _, err := Start(ServerOptions{Config: open, Port: -1}); err == nil || !strings.Contains(err.Error(), "tls_cert") {
			t.Fatalf("a server on 0.0.0.0 without TLS: %v, want a refusal", err)
		}
	})
	t.Run("no server", func(t *testing.T) {
		if _, err := ReadServerInfo(t.TempDir()); !errors.Is(err, ErrNoServer) {
			t.Fatalf("a work dir without a server: %v", err)
		}
		if _, err := Dial(ConnectOptions{URL: "nats://127.0.0.1:1", Timeout: time.Second}); !errors.Is(err, ErrNoServer) {
			t.Fatalf("nothing listening: %v", err)
		}
	})
	t.Run("token file readable by others", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte("abc\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("a token file of mode 0644: %v", err)
		}
	})
	if st, err := os.Stat(filepath.Join(cfg.WorkDir, TokenFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the server's token file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

// TestHistoryMerger: the console rebuilds each event's history from the deltas, and asks for
// the state again when one is missing.
func TestHistoryMerger(t *testing.T) {
	entry := func(i int) core.HistoryEntry { return core.HistoryEntry{Sample: i} }
	msg := func(task string, from int, samples ...int) *EventMessage {
		m := &EventMessage{HistoryFrom: from}
		m.Event.Workload = task
		for _, s := range samples {
			m.Event.History = append(m.Event.History, entry(s))
		}
		return m
	}
	var h historyMerger
	h.reset(msg("a", 0, 1, 2))
	steps := []struct {
		name string
		msg  *EventMessage
		ok   bool
		want int
	}{
		{"the next entries", msg("a", 2, 3), true, 3},
		{"nothing new", msg("a", 3), true, 3},
		{"an overlap (published before the state was fetched)", msg("a", 1, 2, 3, 4), true, 4},
		{"a gap", msg("a", 6, 7), false, 4},
		{"the next task from its start", msg("b", 0, 1), true, 1},
		{"the next task mid-way", msg("c", 3, 4), false, 1},
	}
	for _, s := range steps {
		if ok := h.apply(s.msg); ok != s.ok {
			t.Fatalf("%s: apply = %v, want %v", s.name, ok, s.ok)
		}
		if got := len(h.event(s.msg).History); got != s.want {
			t.Fatalf("%s: %d entries, want %d", s.name, got, s.want)
		}
	}
	for i, e := range h.hist {
		if e.Sample != i+1 {
			t.Fatalf("entry %d is sample %d", i, e.Sample)
		}
	}
}

// TestStoppedServerResumes: a server stopped in the middle of a run marks it interrupted; the
// next server on the work dir resumes it and measures exactly the budget, the token unchanged.
func TestStoppedServerResumes(t *testing.T) {
	cfg := testConfig(t)
	srv := startServer(t, cfg, false)
	c := dial(t, cfg)
	const budget = 24
	info, err := c.Submit(RunSpec{Workload: "small", Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a few samples", func() bool { return runInfo(t, c, info.ID).Samples >= 3 })
	tok, _ := ReadToken(filepath.Join(cfg.WorkDir, TokenFile))
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	recs, err := core.ReadRecords(cfg.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) >= budget {
		t.Fatalf("the run was over (%d records) before the server stopped; raise the budget", len(recs))
	}
	startServer(t, cfg, false)
	if again, _ := ReadToken(filepath.Join(cfg.WorkDir, TokenFile)); again != tok {
		t.Error("the restarted server changed the token; its workers could not reconnect")
	}
	c2 := dial(t, cfg)
	eventually(t, "the resumed run ends", func() bool { return runInfo(t, c2, info.ID).State.Ended() })
	st := runInfo(t, c2, info.ID)
	if st.State != RunDone || st.Samples != budget || st.Budget != budget {
		t.Fatalf("the resumed run: %+v, want done with %d of %d samples", st, budget, budget)
	}
	all, err := core.ReadRecords(cfg.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.CandidateHash] {
			t.Fatalf("candidate %s recorded twice", r.CandidateHash)
		}
		seen[r.CandidateHash] = true
	}
	if len(all) != budget {
		t.Fatalf("%d records (%d before the stop), want exactly %d", len(all), len(recs), budget)
	}
}
