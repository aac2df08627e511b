package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// recordsKillDirEnv names the env var that turns TestRecordsKillHelper into the child process
// of TestRecordsKill: the work dir it appends to until it is killed.
const recordsKillDirEnv = "COLT_RECORDS_KILL_DIR"

// killTrace is the ~1 KiB trace of record n of the kill test, so that a kill can land inside a
// write and the reader can check every record it gets back is whole.
func killTrace(n int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, n, strings.Repeat("abcdefghijklmnop", 64)))
}

// TestRecordsKillHelper is not a test: run by TestRecordsKill as a child process, it appends
// records numbered on from the store's Len()+1 as fast as it can until it is killed.
func TestRecordsKillHelper(t *testing.T) {
	dir := os.Getenv(recordsKillDirEnv)
	if dir == "" {
		t.Skip("child process of TestRecordsKill only")
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute) // never outlive a parent that failed to kill us
	for n := s.Len() + 1; time.Now().Before(deadline); n++ {
		r := Record{
			Workload: "kill", WorkloadHash: "wk", Target: "t", CandidateHash: fmt.Sprintf("c%d", n),
			Trace: killTrace(n), Status: StatusOK, LatencyS: float64(n) * 1e-6, Strategy: "random",
			Seed: 42, Sample: n, Time: time.Now(),
		}
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed within a minute")
}

// TestRecordsKill: a process killed with SIGKILL while appending loses at most the record in
// flight. Three children append to the same dir in turn, each killed at a different moment;
// after every kill the store reopens with records 1..n, contiguous, each whole, and the next
// child goes on from n+1.
func TestRecordsKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, RecordsFile)
	have := 0 // records in the store after the last kill
	for round, extra := range []struct {
		lines int           // complete lines beyond the previous round's before the kill
		delay time.Duration // and then this long
	}{
		{24, 0},
		{40, 3 * time.Millisecond},
		{32, 11 * time.Millisecond},
	} {
		var out bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestRecordsKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), recordsKillDirEnv+"="+dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		// Wait until the child has written enough complete lines, or died on its own.
		want := have + extra.lines
		seen := 0
		for deadline := time.Now().Add(30 * time.Second); ; {
			b, _ := os.ReadFile(path)
			if seen = bytes.Count(b, []byte{'\n'}); seen >= want {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("round %d: child exited before being killed (%v):\n%s", round, err, out.String())
			case <-time.After(2 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-exited
				t.Fatalf("round %d: only %d of %d lines after 30s:\n%s", round, seen, want, out.String())
			}
		}
		time.Sleep(extra.delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err == nil {
			t.Fatalf("round %d: child exited cleanly after SIGKILL:\n%s", round, out.String())
		}

		s, err := OpenStore(dir)
		if err != nil {
			t.Fatalf("round %d: reopening after kill: %v", round, err)
		}
		if msg := s.Repaired(); msg != "" {
			t.Logf("round %d: %s", round, msg)
		}
		rs := s.Records("wk", "t")
		if len(rs) != s.Len() {
			t.Errorf("round %d: %d records in the group, Len = %d", round, len(rs), s.Len())
		}
		if len(rs) < seen {
			t.Errorf("round %d: %d records after the kill, but %d complete lines were on disk before it", round, len(rs), seen)
		}
		for i, r := range rs {
			if r.Sample != i+1 || r.CandidateHash != fmt.Sprintf("c%d", i+1) {
				t.Fatalf("round %d: record %d has sample %d (%s): a gap or a duplicate", round, i+1, r.Sample, r.CandidateHash)
			}
			if !bytes.Equal(r.Trace, killTrace(r.Sample)) {
				t.Fatalf("round %d: record %d has a damaged trace", round, r.Sample)
			}
		}
		t.Logf("round %d: killed after %d lines seen; %d records back", round, seen, len(rs))
		have = len(rs)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// The store keeps working after the kills.
	s := openTestStore(t, dir)
	next := Record{WorkloadHash: "wk", Target: "t", CandidateHash: fmt.Sprintf("c%d", have+1), Trace: killTrace(have + 1), Status: StatusOK, Sample: have + 1}
	appendAll(t, s, []Record{next})
	s.Close()
	s = openTestStore(t, dir)
	defer s.Close()
	if s.Len() != have+1 || s.Repaired() != "" {
		t.Fatalf("Len = %d (want %d), Repaired = %q", s.Len(), have+1, s.Repaired())
	}
	if r, ok := s.Lookup("wk", "t", next.CandidateHash); !ok || r.Sample != have+1 {
		t.Errorf("Lookup of the appended record = %+v, %v", r, ok)
	}
}
