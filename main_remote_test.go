package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"colt/core"
	"colt/core/remote"
)

// remoteConfig is tinyConfig's kind of configuration for the server tests: a matmul with
// enough distinct schedules for the budgets below, a short ack wait, a free port.
func remoteConfig(t *testing.T) (path string, cfg core.Config) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	path = writeConfig(t, `
[search]
confirm_top = 1
confirm_rounds = 1
batch_size = 4

[serve]
port = `+strconv.Itoa(port)+`
ack_wait_s = 2

[workloads.small]
description = "a 24x24x24 matmul"
sizes = { M = 24, N = 24, K = 24 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]
`)
	cfg, err = core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// coltProcess starts the test binary as colt with args, in its own process, and kills it when
// the test ends.
func coltProcess(t *testing.T, log string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asColtEnv+"=1")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
		if t.Failed() {
			data, _ := os.ReadFile(log)
			t.Logf("%s:\n%s", strings.Join(args, " "), data)
		}
	})
	return cmd
}

// kill9 kills a process with SIGKILL and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// clientOf waits until the work dir's server answers and connects to it.
func clientOf(t *testing.T, cfg core.Config) *remote.Client {
	t.Helper()
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		info, err := remote.ReadServerInfo(cfg.WorkDir)
		if err == nil {
			var tok string
			if tok, err = remote.ReadToken(filepath.Join(cfg.WorkDir, remote.TokenFile)); err == nil {
				var c *remote.Client
				if c, err = remote.Dial(remote.ConnectOptions{URL: info.URL, Token: tok, Timeout: time.Second}); err == nil {
					if _, err = c.List(); err == nil {
						t.Cleanup(c.Close)
						return c
					}
					c.Close()
				}
			}
		}
		last = err
	}
	t.Fatalf("the server did not answer within a minute: %v", last)
	return nil
}

// waitUntil polls cond every 50 ms, failing the test after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
	}
}

// runRecords are the records of a run; the test fails on a duplicate candidate.
func runRecords(t *testing.T, cfg core.Config, run string) []core.Record {
	t.Helper()
	all, err := core.ReadRecords(cfg.WorkDir)
	if err != nil {
		t.Fatalf("records: %v", err)
	}
	seen := map[string]bool{}
	var out []core.Record
	for _, r := range all {
		if r.Run != run {
			continue
		}
		if seen[r.CandidateHash] {
			t.Fatalf("candidate %s is recorded twice", r.CandidateHash)
		}
		seen[r.CandidateHash] = true
		out = append(out, r)
	}
	return out
}

func runState(t *testing.T, c *remote.Client, id string) remote.RunInfo {
	t.Helper()
	info, err := c.Run(id)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestWorkerKilledMidJob: a worker killed with SIGKILL while it measures loses its jobs to
// another worker after the ack wait; every candidate is recorded exactly once.
func TestWorkerKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and workers")
	}
	path, cfg := remoteConfig(t)
	logs := t.TempDir()
	coltProcess(t, filepath.Join(logs, "serve.log"), "serve", "--config", path, "--no-local")
	c := clientOf(t, cfg)
	first := coltProcess(t, filepath.Join(logs, "worker-a.log"), "worker", "--config", path, "--id", "a")
	const budget = 16
	info, err := c.Submit(remote.RunSpec{Workload: "small", Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "worker a busy with a job", func() bool {
		l, err := c.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range l.Workers {
			if w.ID == "a" && w.Busy && w.Connected {
				return true
			}
		}
		return false
	})
	kill9(t, first)
	coltProcess(t, filepath.Join(logs, "worker-b.log"), "worker", "--config", path, "--id", "b")
	waitUntil(t, 3*time.Minute, "the run ends", func() bool { return runState(t, c, info.ID).State.Ended() })
	if st := runState(t, c, info.ID); st.State != remote.RunDone || st.Samples != budget {
		t.Fatalf("run after the kill: %+v, want done with %d samples", st, budget)
	}
	if n := len(runRecords(t, cfg, info.ID)); n != budget {
		t.Fatalf("%d records, want exactly %d", n, budget)
	}
	l, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]remote.WorkerInfo{}
	for _, w := range l.Workers {
		jobs[w.ID] = w
	}
	if jobs["a"].Connected || jobs["b"].Jobs == 0 {
		t.Errorf("workers after the kill: %+v; want a gone and b with jobs", l.Workers)
	}
}

// TestServerKilledResumes: a server killed with SIGKILL mid-run and started again resumes the
// run from its records and measures exactly the budget.
func TestServerKilledResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	path, cfg := remoteConfig(t)
	logs := t.TempDir()
	srv := coltProcess(t, filepath.Join(logs, "serve-1.log"), "serve", "--config", path)
	c := clientOf(t, cfg)
	const budget = 24
	info, err := c.Submit(remote.RunSpec{Workload: "small", Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "a few candidates recorded", func() bool {
		recs, err := core.ReadRecords(cfg.WorkDir)
		return err == nil && len(recs) >= 4
	})
	kill9(t, srv)
	c.Close()
	before := len(runRecords(t, cfg, info.ID))
	if before >= budget {
		t.Fatalf("the run was over (%d records) before the kill; raise the budget", before)
	}
	coltProcess(t, filepath.Join(logs, "serve-2.log"), "serve", "--config", path)
	c2 := clientOf(t, cfg)
	waitUntil(t, 3*time.Minute, "the resumed run ends", func() bool { return runState(t, c2, info.ID).State.Ended() })
	if st := runState(t, c2, info.ID); st.State != remote.RunDone {
		t.Fatalf("resumed run: %+v, want done", st)
	}
	if n := len(runRecords(t, cfg, info.ID)); n != budget {
		t.Fatalf("%d records after the restart (%d before it), want exactly the budget %d", n, before, budget)
	}
}

// TestRemoteCommandErrors: the client commands' mistakes are one line and a non-zero exit.
func TestRemoteCommandErrors(t *testing.T) {
	path, cfg := remoteConfig(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ps without a server", []string{"ps", "--config", path}, exitFailure, "no colt server runs for work dir"},
		{"attach without a server", []string{"attach", "--config", path}, exitFailure, "no colt server runs for work dir"},
		{"worker without a server", []string{"worker", "--config", path, "--server", "nats://127.0.0.1:1"}, exitFailure, "token file"},
		{"logs without a run", []string{"logs", "--config", path}, exitFailure, "no colt server"},
		{"detach with json-out", []string{"tune", "--config", path, "--workload", "small", "--detach", "--json-out", "x.json"}, exitUsage, "do not apply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line with %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	if testing.Short() {
		return
	}
	coltProcess(t, filepath.Join(t.TempDir(), "serve.log"), "serve", "--config", path, "--no-local")
	clientOf(t, cfg)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"attach to an unknown run", []string{"attach", "--config", path, "7"}, exitUsage, `no run "7"`},
		{"stop an unknown run", []string{"stop", "--config", path, "7"}, exitUsage, `no run "7"`},
		{"logs of an unknown run", []string{"logs", "--config", path, "7"}, exitFailure, `no run "7"`},
		{"attach with no runs", []string{"attach", "--config", path}, exitUsage, "no runs"},
		{"detach an unknown workload", []string{"tune", "--config", path, "--workload", "nope", "--detach"}, exitUsage, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line with %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	code, out, errOut := cli(t, "ps", "--config", path)
	if code != exitOK || !strings.Contains(out, "no runs") {
		t.Fatalf("ps on an idle server: exit %d, %q %q", code, out, errOut)
	}
}

// TestModelConfigFlag: --model-config adds a Hugging Face config's model to the workloads,
// named after its directory; what it cannot read is one line and exit 2.
func TestModelConfigFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Qwen3-Mini")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("workloads", "testdata", "hf", "qwen3.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "workloads", "--model-config", path, "--tokens", "8")
	if code != exitOK || !strings.Contains(out, "qwen3-mini") || !strings.Contains(out, "7 tasks") {
		t.Fatalf("workloads --model-config: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, "show", "--model-config", path, "--tokens", "8", "--workload", "qwen3-mini:qkv")
	if code != exitOK || !strings.Contains(out, "T.Buffer((1, 8, 64)") {
		t.Fatalf("show of the model's qkv task: exit %d, %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(bad, []byte(`{"model_type": "gpt2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "workloads", "--model-config", bad)
	if code != exitUsage || !strings.Contains(errOut, "gpt2 is not supported") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Fatalf("an unsupported architecture: exit %d, %q", code, errOut)
	}
}
