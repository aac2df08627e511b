package core

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Record is one measured (or failed) candidate of a tuning run: the unit the record store keeps,
// the cost model trains on, a resumed run skips, and export picks the best of.
type Record struct {
	Workload      string          `json:"workload"`       // workload name ("llama3-8b:qkv" for a task of a model)
	WorkloadHash  string          `json:"workload_hash"`  // structural hash of the unscheduled program
	Target        string          `json:"target"`         // target key (backend target description)
	CandidateHash string          `json:"candidate_hash"` // structural hash of the scheduled program (dedup key)
	Trace         json.RawMessage `json:"trace"`          // schedule trace JSON (opaque here)
	Status        Status          `json:"status"`         // ok or the failure class
	Message       string          `json:"message,omitempty"`
	LatencyS      float64         `json:"latency_s,omitempty"` // median, only for status ok
	LatenciesS    []float64       `json:"latencies_s,omitempty"`
	MaxRelErr     float64         `json:"max_rel_err,omitempty"`
	BuildS        float64         `json:"build_s,omitempty"` // compile seconds (0 when the build cache answered or nothing was built)
	Strategy      string          `json:"strategy"`
	Proposer      string          `json:"proposer,omitempty"` // model or strategy that proposed it
	Seed          uint64          `json:"seed"`
	Sample        int             `json:"sample"`        // 1-based index within its run's history
	Run           string          `json:"run,omitempty"` // colt serve's run id ("" for a run of colt tune)
	Time          time.Time       `json:"time"`          // when it was measured; Append fills in the current time when zero
}

// Names of the files a Store keeps in its directory.
const (
	// RecordsFile holds one JSON record per line, appended in measurement order.
	RecordsFile = "records.jsonl"
	// RecordsLockFile is the file locked while a Store is open, so two processes never append
	// to the same records file.
	RecordsLockFile = "records.lock"
)

// Store is the on-disk, append-only store of tuning records in a work directory, with an
// in-memory index for warm starts. Every Append is written with a single write and synced
// before it returns, so a crash or kill loses at most the record being appended, and earlier
// records are never damaged. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	dir      string
	path     string
	f        *os.File // records file, opened O_APPEND
	lock     *os.File // locked with flock while open
	size     int64    // bytes of well-formed records in the file
	failed   error    // set when a write left the file in an unknown state
	repaired string

	records []Record
	groups  map[recordGroup][]int // (workload hash, target) → indices into records, file order
	first   map[recordKey]int     // (workload hash, target, candidate hash) → first index
	best    map[recordGroup]int   // (workload hash, target) → index of the fastest ok record
}

type recordGroup struct{ workloadHash, target string }

type recordKey struct {
	recordGroup
	candidateHash string
}

// OpenStore opens the record store in dir, creating the directory and an empty store when they
// do not exist, and reads every record into the index. The directory is locked for as long as
// the store is open: a second OpenStore on it, from this or another process, fails until Close.
//
// A last line left incomplete by a crash (no trailing newline, or not a valid record) is cut
// off and the repair described by Repaired. A bad line anywhere else is damage that no crash of
// this program produces; it is reported as an error naming the line rather than dropped.
func OpenStore(dir string) (*Store, error) {
	path := filepath.Join(dir, RecordsFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("records %s: %w", path, err)
	}
	lockPath := filepath.Join(dir, RecordsLockFile)
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("records %s: %w", path, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("records %s: another colt run is using the work dir %s (it holds the lock on %s); wait for it to finish or use another work dir", path, dir, lockPath)
		}
		return nil, fmt.Errorf("records %s: locking %s: %w", path, lockPath, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("records %s: %w", path, err)
	}
	s := &Store{
		dir:    dir,
		path:   path,
		f:      f,
		lock:   lock,
		groups: map[recordGroup][]int{},
		first:  map[recordKey]int{},
		best:   map[recordGroup]int{},
	}
	if err := s.load(); err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	return s, nil
}

// load reads the records file into the index, cutting off a torn last line.
func (s *Store) load() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("records %s: %w", s.path, err)
	}
	rd := bufio.NewReaderSize(s.f, 1<<16)
	var (
		offset  int64 // bytes read so far
		goodEnd int64 // end of the last well-formed record line
		lineNo  int
		bad     *badLine // first line that did not parse, while it may still be the last
		tail    []byte   // final bytes with no newline
	)
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("records %s: %w", s.path, err)
		}
		if len(line) == 0 {
			break
		}
		lineNo++
		offset += int64(len(line))
		if line[len(line)-1] != '\n' {
			tail = line
			if bad != nil && len(bytes.TrimSpace(line)) > 0 {
				return s.middleError(bad)
			}
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // a blank line carries nothing; tolerated
		}
		r, perr := parseRecord(line)
		if bad != nil {
			return s.middleError(bad) // something follows the bad line: it is not a torn tail
		}
		if perr != nil {
			bad = &badLine{no: lineNo, err: perr}
			continue
		}
		s.index(r)
		goodEnd = offset
	}
	if bad == nil && tail == nil {
		s.size = offset
		return nil
	}
	// The end of the file is a write that a crash interrupted: cut it off.
	no, what := lineNo, "incomplete"
	if bad != nil {
		no, what = bad.no, "unreadable"
	}
	if err := s.f.Truncate(goodEnd); err != nil {
		return fmt.Errorf("records %s: cutting off the %s last line %d: %w", s.path, what, no, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("records %s: %w", s.path, err)
	}
	s.size = goodEnd
	s.repaired = fmt.Sprintf("records %s: cut off an %s last line (line %d, %d bytes) left by an interrupted write; %d records kept",
		s.path, what, no, offset-goodEnd, len(s.records))
	return nil
}

// badLine is a line of the records file that is not a valid record.
type badLine struct {
	no  int
	err error
}

// middleError is the error for a bad line that is not the last line of the file.
func (s *Store) middleError(b *badLine) error {
	return fmt.Errorf("records %s: line %d is not a valid record (%v) and is not the last line, so it is damage rather than an interrupted write; move the file aside (mv %s %s.bad) to start a fresh store, or delete that line to keep the rest",
		s.path, b.no, b.err, s.path, s.path)
}

// parseRecord decodes one line of the records file.
func parseRecord(line []byte) (Record, error) {
	var r Record
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return r, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return r, err
	}
	return r, nil
}

// index adds a record read from or appended to the file to the in-memory index.
func (s *Store) index(r Record) {
	i := len(s.records)
	s.records = append(s.records, r)
	g := recordGroup{r.WorkloadHash, r.Target}
	s.groups[g] = append(s.groups[g], i)
	k := recordKey{g, r.CandidateHash}
	if _, ok := s.first[k]; !ok {
		s.first[k] = i
	}
	if usableLatency(r) {
		if b, ok := s.best[g]; !ok || r.LatencyS < s.records[b].LatencyS {
			s.best[g] = i
		}
	}
}

// usableLatency reports whether a record can be the best of its group: status ok with a
// positive, finite latency.
func usableLatency(r Record) bool {
	return r.Status == StatusOK && r.LatencyS > 0 && !math.IsInf(r.LatencyS, 0) && !math.IsNaN(r.LatencyS)
}

// Repaired describes the torn last line OpenStore cut off, for the caller to log; it is empty
// when the file needed no repair.
func (s *Store) Repaired() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repaired
}

// Path is the records file of the store.
func (s *Store) Path() string { return s.path }

// Append writes a record to the end of the file as one line, syncs it to disk, and adds it to
// the index. When it returns nil the record survives a crash; when it fails, the file is as it
// was before the call. A zero Time is set to the current time. Records that cannot be written
// as JSON (a NaN latency, a trace that is not valid JSON) are refused.
func (s *Store) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("records %s: encoding record %s: %w", s.path, r.CandidateHash, err)
	}
	// Read back what was written, so the index holds exactly what a reopen would read.
	stored, err := parseRecord(line)
	if err != nil {
		return fmt.Errorf("records %s: encoding record %s: %w", s.path, r.CandidateHash, err)
	}
	line = append(line, '\n')

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("records %s: %w", s.path, os.ErrClosed)
	}
	if s.failed != nil {
		return fmt.Errorf("records %s: store unusable after an earlier failed write: %w", s.path, s.failed)
	}
	if _, err := s.f.Write(line); err != nil {
		return s.undo(fmt.Errorf("records %s: %w", s.path, err))
	}
	if err := s.f.Sync(); err != nil {
		return s.undo(fmt.Errorf("records %s: %w", s.path, err))
	}
	s.size += int64(len(line))
	s.index(stored)
	return nil
}

// undo cuts the file back to its last complete record after a failed write, so a partial line
// never sits before later records. If that fails too, the store refuses further appends (the
// next OpenStore repairs the tail).
func (s *Store) undo(err error) error {
	if terr := s.f.Truncate(s.size); terr != nil {
		s.failed = err
		return fmt.Errorf("%w (and cutting the partial line off failed: %v; reopen the store to repair it)", err, terr)
	}
	if serr := s.f.Sync(); serr != nil {
		s.failed = err
	}
	return err
}

// Records returns the records of one workload on one target, in file order.
func (s *Store) Records(workloadHash, target string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.groups[recordGroup{workloadHash, target}]
	out := make([]Record, len(idx))
	for i, j := range idx {
		out[i] = cloneRecord(s.records[j])
	}
	return out
}

// Lookup returns the first record of a candidate of a workload on a target, so a resumed run
// can skip candidates already measured.
func (s *Store) Lookup(workloadHash, target, candidateHash string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.first[recordKey{recordGroup{workloadHash, target}, candidateHash}]
	if !ok {
		return Record{}, false
	}
	return cloneRecord(s.records[i]), true
}

// Best returns the fastest record of a workload on a target: the lowest LatencyS among records
// with status "ok" (and a positive latency), the first one on a tie. It is what export uses.
func (s *Store) Best(workloadHash, target string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.best[recordGroup{workloadHash, target}]
	if !ok {
		return Record{}, false
	}
	return cloneRecord(s.records[i]), true
}

// RunCount is how many records of one workload on one target a run (colt serve's run id)
// has appended.
func (s *Store) RunCount(run, workloadHash, target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, j := range s.groups[recordGroup{workloadHash, target}] {
		if s.records[j].Run == run {
			n++
		}
	}
	return n
}

// Len is the number of records in the store, over all workloads and targets.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Close closes the records file and releases the work directory's lock. Closing twice is not
// an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if uerr := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN); uerr != nil && err == nil {
		err = uerr
	}
	if cerr := s.lock.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("records %s: %w", s.path, err)
	}
	return nil
}

// cloneRecord copies a record with its slices, so callers cannot change the index.
func cloneRecord(r Record) Record {
	r.Trace = bytes.Clone(r.Trace)
	if r.LatenciesS != nil {
		r.LatenciesS = append([]float64(nil), r.LatenciesS...)
	}
	return r
}

// ReadRecords reads every complete record of the store in dir without locking it or changing
// the file, for analyses (cost-model evaluation, dataset export) that may run while a tuning
// run appends: an incomplete last line is skipped, a bad line elsewhere is an error.
func ReadRecords(dir string) ([]Record, error) {
	path := filepath.Join(dir, RecordsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("records %s: %w", path, err)
	}
	var out []Record
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := parseRecord(line)
		if err != nil {
			if i == len(lines)-1 {
				break // an append in progress or torn by a crash
			}
			return nil, fmt.Errorf("records %s: line %d is not a valid record: %v", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
