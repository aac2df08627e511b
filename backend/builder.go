package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultCFlags returns the flags candidates are compiled with when Config.CFlags is empty:
// -O3 -march=native -fopenmp.
func DefaultCFlags() []string { return []string{"-O3", "-march=native", "-fopenmp"} }

// ReferenceCFlags returns the flags of the double-precision reference: plain -O2 with OpenMP,
// no -march (so no FMA contraction on x86) and -ffp-contract=off (so none anywhere).
func ReferenceCFlags() []string { return []string{"-O2", "-fopenmp", "-ffp-contract=off"} }

// Builder compiles C translation units into executables with the system compiler: in parallel
// on a bounded worker pool, each with a timeout that kills the compiler's process group, and
// through a content-addressed cache under CacheDir/build keyed by the SHA-256 of the source,
// the compiler's path and version and the flags. Binaries are written under a temporary name
// and renamed into place, so a crash never leaves a half-written binary in the cache.
type Builder struct {
	cc       string   // resolved path of the compiler
	ccArgs   []string // leading arguments from a CC such as "gcc -m64"
	version  string   // first line of `cc --version`
	display  string   // e.g. "gcc 12.2.0 (/usr/bin/cc)"
	flags    []string
	workers  int
	timeout  time.Duration
	dir      string
	compiles atomic.Int64
	hits     atomic.Int64
}

// BuildResult is the outcome of one compilation.
type BuildResult struct {
	Binary  string  // path of the executable in the cache; empty on failure
	Cached  bool    // the binary came from the cache and the compiler did not run
	Seconds float64 // wall time spent compiling (0 when cached)
	Err     error   // a *BuildError when the compiler rejected the source or timed out
}

// BuildError is a failed compilation: the compiler's complaint (its first stderr lines), a
// timeout, or a compiler that could not be started.
type BuildError struct {
	Compiler string // display name of the compiler
	TimedOut bool   // the compiler ran past the build timeout and was killed
	Timeout  time.Duration
	Stderr   []string // the first lines (at most 10) of the compiler's stderr
	Err      error    // the underlying error (exit status, exec failure, cancellation)
}

// Error is one line: the first error line the compiler printed, or what else went wrong.
func (e *BuildError) Error() string {
	switch {
	case e.TimedOut:
		return fmt.Sprintf("compiler still running after %s; killed", e.Timeout)
	case len(e.Stderr) > 0:
		return "compile error: " + e.Headline()
	}
	return fmt.Sprintf("compile failed: %v", e.Err)
}

// Headline is the most informative stderr line: the first one mentioning an error.
func (e *BuildError) Headline() string {
	for _, l := range e.Stderr {
		if strings.Contains(l, "error") {
			return strings.TrimSpace(l)
		}
	}
	if len(e.Stderr) > 0 {
		return strings.TrimSpace(e.Stderr[0])
	}
	return ""
}

// Detail is the compiler's stderr lines joined, for display below the one-line message.
func (e *BuildError) Detail() string { return strings.Join(e.Stderr, "\n") }

// Unwrap returns the underlying error.
func (e *BuildError) Unwrap() error { return e.Err }

// NewBuilder finds the compiler (cfg.CC if set, else $CC, else cc, gcc, clang on PATH), asks it
// for its version and prepares the cache directory.
func NewBuilder(cfg Config) (*Builder, error) {
	cfg = cfg.withDefaults()
	cc, args, err := findCompiler(cfg.CC)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cc, append(append([]string{}, args...), "--version")...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("C compiler %s does not run (%v): install gcc or set [backend] cc in colt.toml", cc, err)
	}
	full := strings.TrimSpace(string(out))
	version, _, _ := strings.Cut(full, "\n")
	flags := cfg.CFlags
	if len(flags) == 0 {
		flags = DefaultCFlags()
	}
	dir := filepath.Join(cfg.CacheDir, "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	removeStaleTemps(dir)
	return &Builder{
		cc: cc, ccArgs: args, version: version, display: compilerDisplay(full, cc),
		flags: append([]string(nil), flags...), workers: cfg.BuildWorkers,
		timeout: cfg.BuildTimeout, dir: dir,
	}, nil
}

// findCompiler resolves the compiler command. An explicitly configured compiler (config, then
// $CC) is the only one tried; otherwise cc, gcc and clang are looked up on PATH.
func findCompiler(configured string) (string, []string, error) {
	var tries []string
	switch {
	case strings.TrimSpace(configured) != "":
		tries = []string{configured}
	case strings.TrimSpace(os.Getenv("CC")) != "":
		tries = []string{os.Getenv("CC")}
	default:
		tries = []string{"cc", "gcc", "clang"}
	}
	for _, t := range tries {
		fields := strings.Fields(t)
		if path, err := exec.LookPath(fields[0]); err == nil {
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			return path, fields[1:], nil
		}
	}
	return "", nil, fmt.Errorf("no C compiler found (tried %s): install gcc or set [backend] cc in colt.toml", strings.Join(tries, ", "))
}

var versionRE = regexp.MustCompile(`\d+\.\d+(\.\d+)?`)

// compilerDisplay names a compiler from its --version output, e.g. "gcc 12.2.0 (/usr/bin/cc)".
func compilerDisplay(versionOutput, path string) string {
	name := filepath.Base(path)
	low := strings.ToLower(versionOutput)
	versionLine, _, _ := strings.Cut(versionOutput, "\n")
	switch {
	case strings.Contains(low, "clang"):
		name = "clang"
	case strings.Contains(low, "gcc") || strings.Contains(low, "free software foundation"):
		name = "gcc"
	}
	v := ""
	if m := versionRE.FindAllString(versionLine, -1); len(m) > 0 {
		v = m[len(m)-1]
		if name == "clang" {
			v = m[0]
		}
	}
	if v == "" {
		return name + " (" + path + ")"
	}
	return name + " " + v + " (" + path + ")"
}

// Compiler is the compiler's display name, e.g. "gcc 12.2.0 (/usr/bin/cc)".
func (b *Builder) Compiler() string { return b.display }

// Flags are the flags candidates are compiled with.
func (b *Builder) Flags() []string { return append([]string(nil), b.flags...) }

// Build compiles one candidate source with the candidate flags.
func (b *Builder) Build(ctx context.Context, source string) BuildResult {
	return b.build(ctx, source, b.flags)
}

// BuildReference compiles a reference source with ReferenceCFlags.
func (b *Builder) BuildReference(ctx context.Context, source string) BuildResult {
	return b.build(ctx, source, ReferenceCFlags())
}

// BuildAll compiles sources with the candidate flags in parallel, at most BuildWorkers at a
// time, and returns one result per source in the same order. Identical sources are compiled
// once. Sources not started when ctx ends fail with ctx's error.
func (b *Builder) BuildAll(ctx context.Context, sources []string) []BuildResult {
	results := make([]BuildResult, len(sources))
	first := map[string]int{}
	sem := make(chan struct{}, max(b.workers, 1))
	var wg sync.WaitGroup
	for i, src := range sources {
		if _, dup := first[src]; dup {
			continue
		}
		first[src] = i
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				results[i] = b.Build(ctx, src)
			case <-ctx.Done():
				results[i] = BuildResult{Err: &BuildError{Compiler: b.display, Err: ctx.Err()}}
			}
		}()
	}
	wg.Wait()
	for i, src := range sources {
		if j := first[src]; j != i {
			results[i] = results[j]
		}
	}
	return results
}

// cacheKey is the hex SHA-256 of everything that determines the binary.
func (b *Builder) cacheKey(source string, flags []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "colt-build-v1\x00%s\x00%s\x00%s\x00%s\x00", b.cc, strings.Join(b.ccArgs, " "), b.version, strings.Join(flags, "\x00"))
	h.Write([]byte(source))
	return hex.EncodeToString(h.Sum(nil))
}

func (b *Builder) build(ctx context.Context, source string, flags []string) BuildResult {
	key := b.cacheKey(source, flags)
	final := filepath.Join(b.dir, key)
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		b.hits.Add(1)
		return BuildResult{Binary: final, Cached: true}
	}
	fail := func(err error) BuildResult { return BuildResult{Err: &BuildError{Compiler: b.display, Err: err}} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp(b.dir, ".tmp-"+key[:12]+"-")
	if err != nil {
		return fail(fmt.Errorf("build cache: %w", err))
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "kernel.c"), []byte(source), 0o644); err != nil {
		return fail(fmt.Errorf("build cache: %w", err))
	}
	args := append(append(append([]string{}, b.ccArgs...), flags...), "-o", "kernel", "kernel.c", "-lm")
	bctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cmd := exec.CommandContext(bctx, b.cc, args...)
	cmd.Dir = tmp                                                    // so diagnostics say "kernel.c:3:5", not a temporary path
	cmd.Env = append(withoutEnv(os.Environ(), "LC_ALL"), "LC_ALL=C") // plain ASCII quotes in messages
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{max: 16 << 10}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	start := time.Now()
	b.compiles.Add(1)
	err = cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		be := &BuildError{Compiler: b.display, Err: err, Stderr: firstLines(stderr.String(), 10)}
		if errors.Is(bctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			be.TimedOut, be.Timeout, be.Stderr = true, b.timeout, nil
		} else if ctx.Err() != nil {
			be.Err, be.Stderr = ctx.Err(), nil
		}
		return BuildResult{Seconds: secs, Err: be}
	}
	// Keep the source next to the binary for inspection; the binary goes last, since its
	// presence is what marks a complete cache entry.
	_ = os.Rename(filepath.Join(tmp, "kernel.c"), final+".c")
	if err := os.Rename(filepath.Join(tmp, "kernel"), final); err != nil {
		return BuildResult{Seconds: secs, Err: &BuildError{Compiler: b.display, Err: fmt.Errorf("build cache: %w", err)}}
	}
	return BuildResult{Binary: final, Seconds: secs}
}

// firstLines returns up to n non-empty lines of s.
func firstLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, strings.TrimRight(l, "\r"))
		if len(out) == n {
			break
		}
	}
	return out
}

// limitedBuffer keeps the first max bytes written to it and discards the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
	n   int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.buf != nil && w.n < w.max {
		w.buf.Write(p[:min(len(p), w.max-w.n)])
	}
	w.n += len(p)
	return len(p), nil
}

// removeStaleTemps deletes temporary entries (".tmp-*") older than an hour that a crashed
// process left in a cache directory; younger ones may belong to a colt running right now.
func removeStaleTemps(dir string) {
	entries, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, e := range entries {
		if st, err := os.Lstat(e); err == nil && time.Since(st.ModTime()) > time.Hour {
			_ = os.RemoveAll(e)
		}
	}
}
