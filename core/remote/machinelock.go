package remote

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// MachineLock serializes timed runs between the colt processes of one machine (a server and
// its workers, or several workers): each holds it, exclusively, around every timed run, so no
// two candidates are ever timed at once on the machine. It is an flock on a file in the
// system's temporary directory, released by the kernel when a process dies.
type MachineLock struct {
	mu sync.Mutex // flock locks per open file; this keeps the process's goroutines in line
	f  *os.File
}

// OpenMachineLock opens the machine's timing lock (path "" = TMPDIR/colt-timing.lock).
func OpenMachineLock(path string) (*MachineLock, error) {
	if path == "" {
		path = filepath.Join(os.TempDir(), "colt-timing.lock")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("machine timing lock: %w", err)
	}
	return &MachineLock{f: f}, nil
}

// Lock waits until no other process of the machine times a candidate.
func (l *MachineLock) Lock() {
	l.mu.Lock()
	for {
		if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX); err != syscall.EINTR {
			return // a failure to lock leaves the process's own lock, which still serializes it
		}
	}
}

// Unlock lets another process time.
func (l *MachineLock) Unlock() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.mu.Unlock()
}

// Close releases the file.
func (l *MachineLock) Close() error { return l.f.Close() }
