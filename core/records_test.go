package core

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testRecord is a record of workload w on target t for candidate c.
func testRecord(w, t, c string, status Status, latency float64, sample int) Record {
	r := Record{
		Workload:      "name-" + w,
		WorkloadHash:  w,
		Target:        t,
		CandidateHash: c,
		Trace:         json.RawMessage(fmt.Sprintf(`{"steps":[{"op":"split","factors":[4,%d]}]}`, sample)),
		Status:        status,
		Strategy:      "colt",
		Proposer:      "sim-small",
		Seed:          1<<63 + 7, // above the float64-exact range: must round-trip exactly
		Sample:        sample,
		Time:          time.Date(2025, 3, 1, 12, 0, sample, 123456789, time.UTC),
	}
	if status == StatusOK {
		r.LatencyS = latency
		r.LatenciesS = []float64{latency, latency * 1.01, latency * 0.99}
		r.MaxRelErr = 1e-7
	} else {
		r.Message = "failed: " + string(status)
	}
	return r
}

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	return s
}

func appendAll(t *testing.T, s *Store, rs []Record) {
	t.Helper()
	for _, r := range rs {
		if err := s.Append(r); err != nil {
			t.Fatalf("Append %s: %v", r.CandidateHash, err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRecordsRoundTrip: what is appended is read back by a reopen, in order and field by field,
// and the index answers per (workload, target).
func TestRecordsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "work")
	in := []Record{
		testRecord("wA", "x86", "c1", StatusOK, 3e-3, 1),
		testRecord("wA", "x86", "c2", StatusOK, 1e-3, 2),
		testRecord("wA", "arm", "c1", StatusOK, 5e-3, 3),
		testRecord("wB", "x86", "c1", "build_error", 0, 4),
		testRecord("wA", "x86", "c3", "timeout", 0, 5),
		testRecord("wA", "x86", "c4", StatusOK, 1e-3, 6), // ties c2: the first stays best
		testRecord("wB", "x86", "c2", StatusOK, 2e-3, 7),
		testRecord("wA", "x86", "c2", StatusOK, 9e-3, 8), // duplicate candidate: Lookup gives the first
	}
	s := openTestStore(t, dir)
	appendAll(t, s, in)
	check := func(t *testing.T, s *Store) {
		t.Helper()
		if s.Len() != len(in) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(in))
		}
		if got := s.Records("wA", "x86"); !reflect.DeepEqual(got, []Record{in[0], in[1], in[4], in[5], in[7]}) {
			t.Errorf("Records(wA, x86) =\n%+v", got)
		}
		best := []struct {
			w, t string
			want string // candidate hash; "" when none
		}{
			{"wA", "x86", "c2"},
			{"wA", "arm", "c1"},
			{"wB", "x86", "c2"},
			{"wB", "arm", ""},
			{"wC", "x86", ""},
		}
		for _, c := range best {
			r, ok := s.Best(c.w, c.t)
			if ok != (c.want != "") || r.CandidateHash != c.want {
				t.Errorf("Best(%s, %s) = %s, %v; want %q", c.w, c.t, r.CandidateHash, ok, c.want)
			}
		}
		if r, _ := s.Best("wA", "x86"); !reflect.DeepEqual(r, in[1]) {
			t.Errorf("Best(wA, x86) = %+v, want %+v", r, in[1])
		}
		lookups := []struct {
			w, t, c string
			want    int // index into in; -1 when absent
		}{
			{"wA", "x86", "c1", 0},
			{"wA", "x86", "c2", 1},
			{"wA", "arm", "c1", 2},
			{"wB", "x86", "c1", 3},
			{"wB", "x86", "c3", -1},
			{"wA", "arm", "c2", -1},
		}
		for _, c := range lookups {
			r, ok := s.Lookup(c.w, c.t, c.c)
			if c.want < 0 {
				if ok {
					t.Errorf("Lookup(%s, %s, %s) found %+v", c.w, c.t, c.c, r)
				}
				continue
			}
			if !ok || !reflect.DeepEqual(r, in[c.want]) {
				t.Errorf("Lookup(%s, %s, %s) = %+v, %v; want %+v", c.w, c.t, c.c, r, ok, in[c.want])
			}
		}
	}
	t.Run("same store", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Append(in[0]); err == nil {
		t.Error("Append after Close succeeded")
	}
	s = openTestStore(t, dir)
	defer s.Close()
	if s.Repaired() != "" {
		t.Errorf("Repaired = %q on a clean file", s.Repaired())
	}
	t.Run("reopened", func(t *testing.T) { check(t, s) })

	// Results are copies: changing them does not change the store.
	r, _ := s.Lookup("wA", "x86", "c2")
	r.LatenciesS[0] = 99
	r.Trace[0] = 'X'
	if r2, _ := s.Lookup("wA", "x86", "c2"); !reflect.DeepEqual(r2, in[1]) {
		t.Errorf("changing a returned record changed the store: %+v", r2)
	}
}

// TestRecordsEmptyStore: a missing or empty file is an empty store, and every query says so.
func TestRecordsEmptyStore(t *testing.T) {
	for _, name := range []string{"missing", "empty"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if name == "empty" {
				if err := os.WriteFile(filepath.Join(dir, RecordsFile), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := openTestStore(t, dir)
			defer s.Close()
			if s.Len() != 0 || s.Repaired() != "" || len(s.Records("w", "t")) != 0 {
				t.Errorf("Len = %d, Repaired = %q", s.Len(), s.Repaired())
			}
			if _, ok := s.Best("w", "t"); ok {
				t.Error("Best found a record")
			}
			if _, ok := s.Lookup("w", "t", "c"); ok {
				t.Error("Lookup found a record")
			}
			if s.Path() != filepath.Join(dir, RecordsFile) {
				t.Errorf("Path = %s", s.Path())
			}
		})
	}
}

// TestRecordsAppendRefusesUnencodable: a record that cannot be written as JSON is refused and
// leaves the file unchanged.
func TestRecordsAppendRefusesUnencodable(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	defer s.Close()
	appendAll(t, s, []Record{testRecord("w", "t", "c1", StatusOK, 1e-3, 1)})
	before := readFile(t, s.Path())
	nan := testRecord("w", "t", "c2", StatusOK, math.NaN(), 2)
	badTrace := testRecord("w", "t", "c3", StatusOK, 1e-3, 3)
	badTrace.Trace = json.RawMessage(`{"unterminated":`)
	for _, r := range []Record{nan, badTrace} {
		if err := s.Append(r); err == nil {
			t.Errorf("Append(%s) succeeded", r.CandidateHash)
		}
	}
	if got := readFile(t, s.Path()); got != before || s.Len() != 1 {
		t.Errorf("file changed to %q, Len = %d", got, s.Len())
	}
}

// TestRecordsAppendFillsTime: a record without a time gets the time it was appended.
func TestRecordsAppendFillsTime(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	r := testRecord("w", "t", "c", StatusOK, 1e-3, 1)
	r.Time = time.Time{}
	before := time.Now()
	appendAll(t, s, []Record{r})
	got, _ := s.Lookup("w", "t", "c")
	if got.Time.Before(before.Add(-time.Second)) || got.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("Time = %v, want about %v", got.Time, before)
	}
}

// TestRecordsTornLastLine: whatever a crash leaves at the end of the file after the last
// complete line is cut off on reopen and reported; earlier records are intact and the store
// keeps working.
func TestRecordsTornLastLine(t *testing.T) {
	next := testRecord("w", "t", "c4", StatusOK, 4e-3, 4)
	whole, err := json.Marshal(next)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		tail string
	}{
		{"partial JSON without newline", `{"workload":"w","sta`},
		{"prefix of a real record", string(whole[:len(whole)/2])},
		{"complete record lacking its newline", string(whole)},
		{"unreadable last line with newline", "{\"workload\":\"w\",\"sta\n"},
		{"zero bytes from a lost block", strings.Repeat("\x00", 700)},
		{"whitespace without newline", "  \t"},
		{"unreadable line then blank lines", "garbage\n\n  \n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := []Record{
				testRecord("w", "t", "c1", StatusOK, 1e-3, 1),
				testRecord("w", "t", "c2", "crash", 0, 2),
				testRecord("w", "t", "c3", StatusOK, 2e-3, 3),
			}
			s := openTestStore(t, dir)
			appendAll(t, s, in)
			s.Close()
			good := readFile(t, s.Path())
			f, err := os.OpenFile(s.Path(), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(c.tail)
			f.Close()

			s = openTestStore(t, dir)
			if s.Repaired() == "" {
				t.Error("Repaired is empty after cutting off a torn line")
			} else {
				t.Logf("Repaired: %s", s.Repaired())
			}
			if got := s.Records("w", "t"); !reflect.DeepEqual(got, in) {
				t.Errorf("records after repair =\n%+v\nwant\n%+v", got, in)
			}
			if got := readFile(t, s.Path()); got != good {
				t.Errorf("file after repair =\n%q\nwant\n%q", got, good)
			}
			appendAll(t, s, []Record{next})
			s.Close()

			s = openTestStore(t, dir)
			defer s.Close()
			if s.Repaired() != "" {
				t.Errorf("second reopen repaired again: %s", s.Repaired())
			}
			if got := s.Records("w", "t"); !reflect.DeepEqual(got, append(in, next)) {
				t.Errorf("records after a further Append =\n%+v", got)
			}
		})
	}
}

// TestRecordsCorruptMiddleLine: a bad line followed by more content is damage, not a torn write:
// OpenStore refuses the store, names the file and the line, and says how to get going again.
func TestRecordsCorruptMiddleLine(t *testing.T) {
	rec := func(c string, sample int) string {
		b, err := json.Marshal(testRecord("w", "t", c, StatusOK, 1e-3, sample))
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	cases := []struct {
		name    string
		content string
		line    int
	}{
		{"garbage between records", rec("c1", 1) + "garbage\n" + rec("c2", 2), 2},
		{"torn record followed by records", rec("c1", 1) + rec("c2", 2)[:40] + rec("c3", 3) + rec("c4", 4), 2},
		{"JSON that is not an object", rec("c1", 1) + "null\n" + rec("c2", 2), 2},
		{"wrong field type", rec("c1", 1) + rec("c2", 2) + `{"sample":"one"}` + "\n" + rec("c3", 3), 3},
		{"trailing data after the object", rec("c1", 1) + strings.TrimSuffix(rec("c2", 2), "\n") + " x\n" + rec("c3", 3), 2},
		{"two bad lines at the end", rec("c1", 1) + "bad\n" + "worse", 2},
		{"bad line after a blank line", rec("c1", 1) + "\n" + "bad\n" + rec("c2", 2), 3},
		{"first line bad", "{\n" + rec("c1", 1), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, RecordsFile)
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStore(dir)
			if err == nil {
				s.Close()
				t.Fatal("OpenStore succeeded on a damaged file")
			}
			msg := err.Error()
			for _, want := range []string{path, fmt.Sprintf("line %d ", c.line), "move the file aside"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if got := readFile(t, path); got != c.content {
				t.Error("OpenStore changed a damaged file")
			}
			// The failed open released the lock: moving the file aside gives a fresh store.
			if err := os.Rename(path, path+".bad"); err != nil {
				t.Fatal(err)
			}
			s = openTestStore(t, dir)
			defer s.Close()
			if s.Len() != 0 {
				t.Errorf("Len = %d after moving the file aside", s.Len())
			}
		})
	}
}

// TestRecordsLock: only one Store at a time may use a work dir.
func TestRecordsLock(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	appendAll(t, s, []Record{testRecord("w", "t", "c1", StatusOK, 1e-3, 1)})
	s2, err := OpenStore(dir)
	if err == nil {
		s2.Close()
		t.Fatal("second OpenStore on a locked dir succeeded")
	}
	if !strings.Contains(err.Error(), "another colt run is using the work dir") {
		t.Errorf("error %q does not say another run holds the dir", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 = openTestStore(t, dir)
	defer s2.Close()
	if s2.Len() != 1 {
		t.Errorf("Len = %d after the first store closed", s2.Len())
	}
}

// TestRecordsConcurrentAppend: appends from many goroutines each land as one whole line.
func TestRecordsConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	const workers, each = 4, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := testRecord("w", "t", fmt.Sprintf("c%d-%d", w, i), StatusOK, float64(1+w*each+i)*1e-4, w*each+i+1)
				if err := s.Append(r); err != nil {
					t.Error(err)
				}
				s.Best("w", "t")
			}
		})
	}
	wg.Wait()
	s.Close()
	s = openTestStore(t, dir)
	defer s.Close()
	if s.Len() != workers*each || s.Repaired() != "" {
		t.Fatalf("Len = %d, Repaired = %q", s.Len(), s.Repaired())
	}
	if b, _ := s.Best("w", "t"); b.CandidateHash != "c0-0" {
		t.Errorf("Best = %s", b.CandidateHash)
	}
}
