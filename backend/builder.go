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

// Builder compiles C translation units (NewBuilder) or CUDA ones (NewNVCCBuilder, with nvcc)
// into executables: in parallel on a bounded worker pool, each with a timeout that kills the
// compiler's process group, and through a content-addressed cache under CacheDir/build keyed
// by the SHA-256 of the source, the compiler's path and version and the flags (extra flags
// of BuildWith included). Binaries are written under a temporary name
// and renamed into place, so a crash never leaves a half-written binary in the cache.
type Builder struct {
	cc       string   // resolved path of the compiler
	ccArgs   []string // leading arguments from a CC such as "gcc -m64"
	version  string   // first line of `cc --version`; all of `nvcc --version` (+ host compiler)
	display  string   // e.g. "gcc 12.2.0 (/usr/bin/cc)"
	flags    []string
	ext      string   // source file extension: ".c", or ".cu" for nvcc
	libs     []string // trailing link flags of every build: -lm for C
	nvcc     bool     // built by NewNVCCBuilder
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

// errorLineRE matches a compiler's error line: gcc and clang ("kernel.c:3:5: error: ..."),
// nvcc ("kernel.cu(12): error: ..." or "error #20-D: ..."), ptxas and nvcc's driver ("ptxas
// error   : ...", "nvcc fatal   : ..."), the linker ("ld: cannot find -lcublas", "undefined
// reference to `cublasCreate_v2'", before collect2's summary).
var errorLineRE = regexp.MustCompile(`(^|[\s:)])(fatal )?error( #\d+(-D)?)?\s*:|^(ptxas|nvlink|nvcc)( fatal| error)\s*:|(^|/)ld(\.\w+)?: cannot find|undefined reference to|multiple definition of`)

// Headline is the most informative stderr line: the first error line as gcc, clang, nvcc,
// ptxas or the linker print them, else the first one mentioning an error, else the first.
func (e *BuildError) Headline() string {
	for _, l := range e.Stderr {
		if errorLineRE.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
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
		flags: append([]string(nil), flags...), ext: ".c", libs: []string{"-lm"}, workers: cfg.BuildWorkers,
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

// NewNVCCBuilder returns a Builder that compiles CUDA translation units (written as kernel.cu)
// with nvcc and the flags -O3 -arch=ARCH -lineinfo, through the same worker pool
// (cfg.BuildWorkers), build timeout (cfg.BuildTimeout) and content-addressed cache
// (cfg.CacheDir/build) as NewBuilder; cfg.CC and cfg.CFlags are not used.
//
// nvcc is the command: "" looks up nvcc on PATH, then /usr/local/cuda/bin/nvcc; leading
// arguments such as "nvcc -ccbin g++-11" are kept. arch is the GPU architecture: "sm_90",
// "sm_90a", "compute_90", "90" or "9.0". It checks that nvcc compiles a tiny program for arch
// (a second or so); when nvcc rejects the default host compiler as unsupported and no -ccbin
// was given, it retries with g++-14 … g++-7 from PATH and keeps the first that works (adding
// -ccbin PATH to the flags). The cache key holds nvcc's path and full --version output, the
// flags (host compiler included) and, per build, the extra flags. Link flags such as
// -lcublas go in BuildWith's or BuildAllWith's extraFlags. BuildReference is refused: the
// reference is C.
func NewNVCCBuilder(cfg Config, nvcc string, arch string) (*Builder, error) {
	cfg = cfg.withDefaults()
	archFlag, err := builderNVCCArch(arch)
	if err != nil {
		return nil, err
	}
	path, args, err := builderFindNVCC(nvcc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, append(append([]string{}, args...), "--version")...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("nvcc %s does not run (%v): install the CUDA toolkit or set the nvcc path", path, err)
	}
	full := strings.TrimSpace(string(out))
	display := "nvcc (" + path + ")"
	if m := builderNVCCReleaseRE.FindStringSubmatch(full); m != nil {
		display = "nvcc " + m[1] + " (" + path + ")"
	}
	dir := filepath.Join(cfg.CacheDir, "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	removeStaleTemps(dir)
	b := &Builder{
		cc: path, ccArgs: args, version: full, display: display,
		flags: []string{"-O3", "-arch=" + archFlag, "-lineinfo"}, ext: ".cu", nvcc: true,
		workers: cfg.BuildWorkers, timeout: cfg.BuildTimeout, dir: dir,
	}
	if err := b.probeNVCC(archFlag); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	builderNVCCReleaseRE = regexp.MustCompile(`release (\d+\.\d+)`)
	builderNVCCArchRE    = regexp.MustCompile(`^(sm|compute)_\d{2,3}[a-z]?$`)
)

// builderNVCCArch normalizes a GPU architecture ("90", "9.0", "sm_90", "sm_90a", "compute_90")
// for -arch.
func builderNVCCArch(arch string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(arch))
	if major, minor, ok := strings.Cut(a, "."); ok && len(minor) == 1 {
		a = major + minor // a compute capability such as 9.0
	}
	if a != "" && a[0] >= '0' && a[0] <= '9' {
		a = "sm_" + a
	}
	if !builderNVCCArchRE.MatchString(a) {
		return "", fmt.Errorf("GPU architecture %q: want sm_XX such as sm_90 (the GPU's compute capability without the dot)", arch)
	}
	return a, nil
}

// builderFindNVCC resolves the nvcc command (FindNVCC's search), keeping arguments given after
// it (such as "-ccbin g++-11").
func builderFindNVCC(configured string) (string, []string, error) {
	fields := strings.Fields(configured)
	name := ""
	if len(fields) > 0 {
		name, fields = fields[0], fields[1:]
	}
	path, _, err := FindNVCC(name)
	if err != nil {
		return "", nil, err
	}
	return path, fields, nil
}

// builderNVCCProbe is compiled once by NewNVCCBuilder to check nvcc, the host compiler and
// the architecture together.
const builderNVCCProbe = "__global__ void colt_probe(float* x) { x[threadIdx.x] = 1.0f; }\nint main(void) { return 0; }\n"

// probeNVCC compiles builderNVCCProbe (not cached), retrying with a versioned g++ as host
// compiler when nvcc refuses the default one.
func (b *Builder) probeNVCC(arch string) error {
	ctx := context.Background()
	r := b.probe(ctx)
	if r == nil {
		return nil
	}
	hasCCBin := false
	for _, a := range b.ccArgs {
		if a == "-ccbin" || a == "--compiler-bindir" || strings.HasPrefix(a, "-ccbin=") || strings.HasPrefix(a, "--compiler-bindir=") {
			hasCCBin = true
		}
	}
	if !hasCCBin && strings.Contains(strings.Join(r.Stderr, "\n"), "unsupported") {
		for v := 14; v >= 7; v-- {
			gxx, err := exec.LookPath(fmt.Sprintf("g++-%d", v))
			if err != nil {
				continue
			}
			base := b.flags
			b.flags = append(append([]string(nil), base...), "-ccbin", gxx)
			if b.probe(ctx) == nil {
				if out, err := exec.Command(gxx, "--version").Output(); err == nil {
					first, _, _ := strings.Cut(string(out), "\n")
					b.version += "\nhost compiler: " + strings.TrimSpace(first)
				}
				return nil
			}
			b.flags = base
		}
	}
	msg := r.Error()
	if r.TimedOut {
		msg = "the probe build " + msg
	}
	return fmt.Errorf("%s cannot compile for %s: %s", b.display, arch, msg)
}

// probe compiles builderNVCCProbe in a temporary directory and returns nil on success.
func (b *Builder) probe(ctx context.Context) *BuildError {
	tmp, err := os.MkdirTemp(b.dir, ".tmp-probe-")
	if err != nil {
		return &BuildError{Compiler: b.display, Err: fmt.Errorf("build cache: %w", err)}
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "probe.cu"), []byte(builderNVCCProbe), 0o644); err != nil {
		return &BuildError{Compiler: b.display, Err: fmt.Errorf("build cache: %w", err)}
	}
	args := append(append(append([]string{}, b.ccArgs...), b.flags...), "-o", "probe", "probe.cu")
	return b.runCompiler(ctx, tmp, args)
}

// runCompiler runs the compiler with args in dir under the build timeout, in its own process
// group (killed whole at the deadline or when ctx ends), and returns nil on success.
func (b *Builder) runCompiler(ctx context.Context, dir string, args []string) *BuildError {
	bctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cmd := exec.CommandContext(bctx, b.cc, args...)
	cmd.Dir = dir                                                    // so diagnostics say "kernel.c:3:5", not a temporary path
	cmd.Env = append(withoutEnv(os.Environ(), "LC_ALL"), "LC_ALL=C") // plain ASCII quotes in messages
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{max: 16 << 10}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	be := &BuildError{Compiler: b.display, Err: err, Stderr: firstLines(stderr.String(), 10)}
	if errors.Is(bctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		be.TimedOut, be.Timeout, be.Stderr = true, b.timeout, nil
	} else if ctx.Err() != nil {
		be.Err, be.Stderr = ctx.Err(), nil
	}
	return be
}

// SourceExt is the extension of the source files this Builder compiles: ".c", or ".cu" for a
// Builder made by NewNVCCBuilder. Cached sources are kept next to their binaries with it.
func (b *Builder) SourceExt() string { return b.sourceExt() }

func (b *Builder) sourceExt() string {
	if b.ext == "" {
		return ".c"
	}
	return b.ext
}

// Compiler is the compiler's display name, e.g. "gcc 12.2.0 (/usr/bin/cc)".
func (b *Builder) Compiler() string { return b.display }

// Flags are the flags candidates are compiled with.
func (b *Builder) Flags() []string { return append([]string(nil), b.flags...) }

// Build compiles one candidate source with the candidate flags.
func (b *Builder) Build(ctx context.Context, source string) BuildResult {
	return b.build(ctx, source, b.flags, nil)
}

// BuildWith compiles one candidate source with the candidate flags and extraFlags, which are
// placed after the source file on the command line (so libraries such as -lcublas link) and
// are part of the cache key. BuildWith(ctx, src, nil) is Build(ctx, src).
func (b *Builder) BuildWith(ctx context.Context, source string, extraFlags []string) BuildResult {
	return b.build(ctx, source, b.flags, extraFlags)
}

// BuildReference compiles a reference source with ReferenceCFlags. The reference is C: on a
// Builder made by NewNVCCBuilder it fails with a BuildError saying so.
func (b *Builder) BuildReference(ctx context.Context, source string) BuildResult {
	if b.nvcc {
		return BuildResult{Err: &BuildError{Compiler: b.display, Err: errors.New("the double-precision reference is C: build it with the C compiler's Builder, not nvcc")}}
	}
	return b.build(ctx, source, ReferenceCFlags(), nil)
}

// BuildAll compiles sources with the candidate flags in parallel, at most BuildWorkers at a
// time, and returns one result per source in the same order. Identical sources are compiled
// once. Sources not started when ctx ends fail with ctx's error.
func (b *Builder) BuildAll(ctx context.Context, sources []string) []BuildResult {
	return b.BuildAllWith(ctx, sources, nil)
}

// BuildAllWith is BuildAll with extraFlags added to every build as BuildWith adds them (for
// example []string{"-lcublas"} for cuBLAS references on an nvcc Builder).
func (b *Builder) BuildAllWith(ctx context.Context, sources []string, extraFlags []string) []BuildResult {
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
				results[i] = b.build(ctx, src, b.flags, extraFlags)
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

// cacheKey is the hex SHA-256 of everything that determines the binary. Keys of plain C
// builds (no extra flags) are those of earlier versions, so existing caches stay valid.
func (b *Builder) cacheKey(source string, flags, extra []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "colt-build-v1\x00%s\x00%s\x00%s\x00%s\x00", b.cc, strings.Join(b.ccArgs, " "), b.version, strings.Join(flags, "\x00"))
	if len(extra) > 0 || b.sourceExt() != ".c" {
		fmt.Fprintf(h, "ext\x00%s\x00extra\x00%s\x00%d\x00", b.sourceExt(), strings.Join(extra, "\x00"), len(extra))
	}
	h.Write([]byte(source))
	return hex.EncodeToString(h.Sum(nil))
}

func (b *Builder) build(ctx context.Context, source string, flags, extra []string) BuildResult {
	key := b.cacheKey(source, flags, extra)
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
	srcName := "kernel" + b.sourceExt()
	if err := os.WriteFile(filepath.Join(tmp, srcName), []byte(source), 0o644); err != nil {
		return fail(fmt.Errorf("build cache: %w", err))
	}
	args := append(append([]string{}, b.ccArgs...), flags...)
	args = append(append(append(args, "-o", "kernel", srcName), extra...), b.libs...)
	start := time.Now()
	b.compiles.Add(1)
	be := b.runCompiler(ctx, tmp, args)
	secs := time.Since(start).Seconds()
	if be != nil {
		return BuildResult{Seconds: secs, Err: be}
	}
	// Keep the source next to the binary for inspection; the binary goes last, since its
	// presence is what marks a complete cache entry.
	_ = os.Rename(filepath.Join(tmp, srcName), final+b.sourceExt())
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
