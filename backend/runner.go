package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runSpec says how to run one harness binary.
type runSpec struct {
	binary      string
	outPath     string // where the harness writes the outputs
	seed        uint64
	repeat      int // 0: no timing
	minRepeatMs int
	threads     int
	timeout     time.Duration
	extraArgs   []string // after the four harness arguments (the CUDA harness's FLUSH_L2)
	env         []string // KEY=VALUE settings added to (and replacing) the environment
}

// runOutcome is what one run produced. status is "" when the process exited cleanly with
// parsable output; otherwise it is StatusCrash or StatusTimeout and message says why.
type runOutcome struct {
	status    Status
	message   string
	number    int
	latencies []float64
	seconds   float64
	pid       int
	stderr    string
}

// runBinary runs a harness binary in its own process group with stdin on /dev/null,
// OMP_NUM_THREADS and spec.env set (each replacing a setting of the same name), and a timeout
// after which the whole group is killed with SIGKILL.
// Classification: killed at the deadline → timeout ("still running after 5s; killed");
// terminated by a signal → crash ("crashed with SIGSEGV"); non-zero exit → crash ("exited with
// status 3: <last stderr line>"); missing or unparsable timing line → crash.
func runBinary(ctx context.Context, spec runSpec) runOutcome {
	rctx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	args := append([]string{spec.outPath, strconv.FormatUint(spec.seed, 10),
		strconv.Itoa(spec.repeat), strconv.Itoa(spec.minRepeatMs)}, spec.extraArgs...)
	cmd := exec.CommandContext(rctx, spec.binary, args...)
	cmd.Stdin = nil // the null device
	cmd.Env = runEnv(os.Environ(), append([]string{"OMP_NUM_THREADS=" + strconv.Itoa(max(spec.threads, 1))}, spec.env...))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 64 << 10}
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: 1 << 20}
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Start()
	if err != nil {
		return runOutcome{status: StatusCrash, message: "cannot start: " + err.Error()}
	}
	out := runOutcome{pid: cmd.Process.Pid}
	err = cmd.Wait()
	out.seconds = time.Since(start).Seconds()
	out.stderr = stderr.String()
	last := lastLine(out.stderr)
	switch {
	case ctx.Err() != nil:
		// The caller gave up (operator stop, shutdown); make sure nothing is left behind.
		_ = syscall.Kill(-out.pid, syscall.SIGKILL)
		out.status, out.message = StatusTimeout, fmt.Sprintf("cancelled (%v); killed", ctx.Err())
		return out
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		_ = syscall.Kill(-out.pid, syscall.SIGKILL)
		out.status, out.message = StatusTimeout, fmt.Sprintf("still running after %s; killed", spec.timeout)
		return out
	case err != nil:
		out.status = StatusCrash
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				out.message = "crashed with " + signalName(ws.Signal())
			} else {
				out.message = fmt.Sprintf("exited with status %d", ee.ExitCode())
			}
		} else {
			out.message = err.Error()
		}
		if last != "" {
			out.message += ": " + last
		}
		return out
	}
	if spec.repeat > 0 {
		n, lat, perr := parseTiming(stdout.String(), spec.repeat)
		if perr != nil {
			out.status, out.message = StatusCrash, perr.Error()
			return out
		}
		out.number, out.latencies = n, lat
	}
	return out
}

// parseTiming finds and checks the harness's "colt-timing number=N seconds=a,b,c" line.
func parseTiming(stdout string, repeat int) (int, []float64, error) {
	for _, line := range strings.Split(stdout, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "colt-timing ")
		if !ok {
			continue
		}
		numText, secText, ok := strings.Cut(rest, " ")
		numText, ok1 := strings.CutPrefix(numText, "number=")
		secText, ok2 := strings.CutPrefix(strings.TrimSpace(secText), "seconds=")
		if !ok || !ok1 || !ok2 {
			return 0, nil, fmt.Errorf("unparsable timing line %q", line)
		}
		n, err := strconv.Atoi(numText)
		if err != nil || n < 1 {
			return 0, nil, fmt.Errorf("unparsable timing line %q: number", line)
		}
		var lat []float64
		for _, s := range strings.Split(secText, ",") {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v != v || v > 1e9 {
				return 0, nil, fmt.Errorf("unparsable timing line %q: seconds", line)
			}
			lat = append(lat, v)
		}
		if len(lat) != repeat {
			return 0, nil, fmt.Errorf("timing line has %d repeats, want %d", len(lat), repeat)
		}
		return n, lat, nil
	}
	return 0, nil, fmt.Errorf("exited without printing a timing line")
}

// runEnv is env with each KEY=VALUE of set added in place of any setting of the same key.
func runEnv(env, set []string) []string {
	out := env
	for _, kv := range set {
		key, _, _ := strings.Cut(kv, "=")
		out = withoutEnv(out, key)
	}
	return append(out, set...)
}

func withoutEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// lastLine is the last non-empty line of s, shortened to 200 bytes.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

// signalName is the conventional name of a signal that ends a crashing kernel.
func signalName(s syscall.Signal) string {
	for _, n := range []struct {
		sig  syscall.Signal
		name string
	}{
		{syscall.SIGSEGV, "SIGSEGV"}, {syscall.SIGABRT, "SIGABRT"}, {syscall.SIGBUS, "SIGBUS"},
		{syscall.SIGFPE, "SIGFPE"}, {syscall.SIGILL, "SIGILL"}, {syscall.SIGKILL, "SIGKILL"},
		{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGTRAP, "SIGTRAP"}, {syscall.SIGINT, "SIGINT"},
		{syscall.SIGPIPE, "SIGPIPE"}, {syscall.SIGXCPU, "SIGXCPU"}, {syscall.SIGSYS, "SIGSYS"},
	} {
		if n.sig == s {
			return n.name
		}
	}
	return fmt.Sprintf("signal %d", int(s))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	data []byte
	max  int
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.data = append(w.data, p...)
	if len(w.data) > w.max {
		w.data = append(w.data[:0], w.data[len(w.data)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string { return string(w.data) }
