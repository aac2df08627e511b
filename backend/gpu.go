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
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// GPU describes an NVIDIA GPU target: what the CUDA lowering and the GPU postprocessors need to
// keep a schedule within the device's limits, and what the status line and the records key show.
type GPU struct {
	Name                  string // "NVIDIA H200"; for an arch-only description: "sm_90 (no device)"
	Arch                  string // "sm_90"
	ComputeCapability     string // "9.0"
	SMs                   int    // streaming multiprocessors; 0 when unknown (arch-only, or no nvcc to ask the device)
	MaxThreadsPerBlock    int    // 1024
	SharedPerBlock        int64  // default shared memory per block, bytes (48 KiB)
	SharedPerBlockOptin   int64  // opt-in maximum (sm_80: 163 KiB, sm_90: 227 KiB, ...)
	RegistersPerBlock     int    // 65536
	MaxRegistersPerThread int    // 255
	L2Bytes               int64  // 0 when unknown
	MemoryClockKHz        int    // peak memory clock; 0 when unknown
	BusWidthBits          int    // memory bus width; 0 when unknown
	Present               bool   // a device was found; false: described from an arch alone (compile only, nothing can run)
}

// ErrNoGPU is wrapped by DetectGPU's error when this machine has no usable NVIDIA GPU (nvidia-smi
// is absent, fails, or lists no GPU); test for it with errors.Is to fall back to the CPU or to
// compile-only work.
var ErrNoGPU = errors.New("no NVIDIA GPU found")

// ErrNoNVCC is wrapped by FindNVCC's error when no nvcc can be found; test for it with errors.Is.
var ErrNoNVCC = errors.New("nvcc not found")

// gpuToolTimeout bounds every command DetectGPU and FindNVCC run (nvidia-smi, nvcc --version,
// the device query).
const gpuToolTimeout = 10 * time.Second

// gpuBuildTimeout bounds the one-time nvcc build of the device-query program. A cold nvcc
// (host compiler, cicc, ptxas, fatbinary, linking the static CUDA runtime) can take several
// seconds on a loaded machine; the build is cached, so a longer limit costs nothing later.
const gpuBuildTimeout = 60 * time.Second

// archLimits are the per-block limits a compute capability guarantees, from the "Technical
// Specifications per Compute Capability" table of NVIDIA's CUDA C++ Programming Guide.
type archLimits struct {
	arch                string // "sm_90"
	threadsPerBlock     int
	sharedPerBlock      int64 // without opting in (cudaFuncAttributeMaxDynamicSharedMemorySize)
	sharedPerBlockOptin int64
	registersPerBlock   int // 32-bit registers
	registersPerThread  int
}

const gpuKiB = 1024

// cudaArchTable lists the arches nvcc 11.8 builds for, oldest first, with their limits. It
// returns a fresh slice on every call, so callers may not change what others see.
func cudaArchTable() []archLimits {
	return []archLimits{
		{"sm_50", 1024, 48 * gpuKiB, 48 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_52", 1024, 48 * gpuKiB, 48 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_53", 1024, 48 * gpuKiB, 48 * gpuKiB, 32 * gpuKiB, 255}, // Tegra X1: 32K registers per block
		{"sm_60", 1024, 48 * gpuKiB, 48 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_61", 1024, 48 * gpuKiB, 48 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_62", 1024, 48 * gpuKiB, 48 * gpuKiB, 32 * gpuKiB, 255}, // Tegra X2: 32K registers per block
		{"sm_70", 1024, 48 * gpuKiB, 96 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_72", 1024, 48 * gpuKiB, 96 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_75", 1024, 48 * gpuKiB, 64 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_80", 1024, 48 * gpuKiB, 163 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_86", 1024, 48 * gpuKiB, 99 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_87", 1024, 48 * gpuKiB, 163 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_89", 1024, 48 * gpuKiB, 99 * gpuKiB, 64 * gpuKiB, 255},
		{"sm_90", 1024, 48 * gpuKiB, 227 * gpuKiB, 64 * gpuKiB, 255},
	}
}

// conservativeArchLimits are assumed for an arch the table does not know (a GPU newer than the
// toolkit) when the device itself cannot be asked: every arch since sm_50 allows at least this.
func conservativeArchLimits(arch string) archLimits {
	return archLimits{arch: arch, threadsPerBlock: 1024, sharedPerBlock: 48 * gpuKiB, sharedPerBlockOptin: 48 * gpuKiB,
		registersPerBlock: 32 * gpuKiB, registersPerThread: 255}
}

// lookupCUDAArch finds an arch ("sm_90") in the table.
func lookupCUDAArch(arch string) (archLimits, bool) {
	for _, l := range cudaArchTable() {
		if l.arch == arch {
			return l, true
		}
	}
	return archLimits{}, false
}

// KnownArchs lists the CUDA arches this build can target (those nvcc 11.8 builds for), oldest
// first, e.g. for --arch completion and error messages.
func KnownArchs() []string {
	table := cudaArchTable()
	out := make([]string, len(table))
	for i, l := range table {
		out[i] = l.arch
	}
	return out
}

// ParseArch normalises a user-given CUDA arch to its "sm_XY" form. It accepts "sm_90", "90",
// "9.0" and "compute_90", in any case and with surrounding or inner spaces, and rejects arches
// nvcc 11.8 cannot build for.
func ParseArch(s string) (string, error) {
	orig := strings.TrimSpace(s)
	norm := strings.ToLower(strings.Join(strings.Fields(orig), ""))
	for _, p := range []string{"compute_", "compute", "sm_", "sm"} {
		if strings.HasPrefix(norm, p) {
			norm = strings.TrimPrefix(norm, p)
			break
		}
	}
	if major, minor, ok := strings.Cut(norm, "."); ok {
		if gpuDigits(major) && len(minor) == 1 && gpuDigits(minor) {
			norm = major + minor
		} else {
			norm = "" // not a compute capability
		}
	}
	if gpuDigits(norm) {
		arch := "sm_" + strings.TrimLeft(norm, "0")
		if _, ok := lookupCUDAArch(arch); ok {
			return arch, nil
		}
	}
	return "", fmt.Errorf("unknown CUDA arch %q: want one of %s", orig, strings.Join(KnownArchs(), ", "))
}

func gpuDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// cudaComputeCapability turns "sm_90" into "9.0" and "sm_100" into "10.0"; "" when arch is not of
// that form.
func cudaComputeCapability(arch string) string {
	d := strings.TrimPrefix(arch, "sm_")
	if len(d) < 2 || !gpuDigits(d) || d == arch {
		return ""
	}
	return d[:len(d)-1] + "." + d[len(d)-1:]
}

// cudaArchFromCapability turns "9.0" into "sm_90"; "" when cc is not "major.minor".
func cudaArchFromCapability(cc string) string {
	major, minor, ok := strings.Cut(strings.TrimSpace(cc), ".")
	if !ok || !gpuDigits(major) || !gpuDigits(minor) || len(minor) != 1 {
		return ""
	}
	major = strings.TrimLeft(major, "0")
	if major == "" {
		return ""
	}
	return "sm_" + major + minor
}

// applyArchLimits fills g's per-block limits from l.
func applyArchLimits(g *GPU, l archLimits) {
	g.MaxThreadsPerBlock = l.threadsPerBlock
	g.SharedPerBlock = l.sharedPerBlock
	g.SharedPerBlockOptin = l.sharedPerBlockOptin
	g.RegistersPerBlock = l.registersPerBlock
	g.MaxRegistersPerThread = l.registersPerThread
}

// GPUForArch describes a GPU from its arch alone (Present false): the limits the arch
// guarantees, no SM count or cache sizes. It is what `--arch sm_XX` compiles CUDA for on a
// machine without a GPU; nothing built for it can run there.
func GPUForArch(arch string) (GPU, error) {
	a, err := ParseArch(arch)
	if err != nil {
		return GPU{}, err
	}
	l, _ := lookupCUDAArch(a)
	g := GPU{Name: a + " (no device)", Arch: a, ComputeCapability: cudaComputeCapability(a)}
	applyArchLimits(&g, l)
	return g, nil
}

// GPUTarget wraps a GPU description as a cuda Target (Kind "cuda", Arch "cuda", Model the GPU's
// name, Cores the host CPUs that build and drive the kernels).
func GPUTarget(g GPU) Target {
	return Target{Kind: "cuda", Arch: "cuda", Model: g.Name, Cores: runtime.NumCPU(), GPU: &g}
}

// gpuSummary is the cuda part of Target.String: "NVIDIA H200 (sm_90), 132 SMs, 48 KiB
// shared/block (227 KiB opt-in), L2 60 MiB", or "sm_90 (no device; compile only)". Unknown
// quantities (zero) are left out rather than shown as 0.
func gpuSummary(g *GPU) string {
	if g == nil {
		return "unknown GPU"
	}
	arch := g.Arch
	if arch == "" {
		arch = "unknown arch"
	}
	if !g.Present {
		return arch + " (no device; compile only)"
	}
	name := g.Name
	if name == "" {
		name = "unknown NVIDIA GPU"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", name, arch)
	if g.SMs > 0 {
		fmt.Fprintf(&b, ", %d SMs", g.SMs)
	}
	if g.SharedPerBlock > 0 {
		fmt.Fprintf(&b, ", %s shared/block", formatBytes(g.SharedPerBlock))
		if g.SharedPerBlockOptin > g.SharedPerBlock {
			fmt.Fprintf(&b, " (%s opt-in)", formatBytes(g.SharedPerBlockOptin))
		}
	}
	if g.L2Bytes > 0 {
		fmt.Fprintf(&b, ", L2 %s", formatBytes(g.L2Bytes))
	}
	return b.String()
}

// FindNVCC locates nvcc and reads its release ("11.8"). It uses configured (the [backend] nvcc
// setting: a path or a command name) when set, else $CUDA_HOME/bin/nvcc, nvcc on PATH and
// /usr/local/cuda/bin/nvcc, in that order. When none is found the error wraps ErrNoNVCC.
func FindNVCC(configured string) (path, version string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), gpuToolTimeout)
	defer cancel()
	if c := strings.TrimSpace(configured); c != "" {
		p, why := gpuResolveExecutable(c)
		if why != "" {
			return "", "", fmt.Errorf("%w: [backend] nvcc in colt.toml is %q, which %s: fix the path, or remove the setting to search $CUDA_HOME/bin, PATH and /usr/local/cuda/bin",
				ErrNoNVCC, c, why)
		}
		v, err := nvccVersion(ctx, p)
		if err != nil {
			return "", "", err
		}
		return p, v, nil
	}
	var candidates []string
	if home := strings.TrimSpace(os.Getenv("CUDA_HOME")); home != "" {
		candidates = append(candidates, filepath.Join(home, "bin", "nvcc"))
	}
	if p, err := exec.LookPath("nvcc"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/local/cuda/bin/nvcc")
	for _, c := range candidates {
		p, why := gpuResolveExecutable(c)
		if why != "" {
			continue
		}
		v, err := nvccVersion(ctx, p)
		if err != nil {
			return "", "", err
		}
		return p, v, nil
	}
	return "", "", fmt.Errorf("%w: install the CUDA toolkit (Debian: apt-get install nvidia-cuda-toolkit from non-free; or NVIDIA's installer) or set [backend] nvcc in colt.toml", ErrNoNVCC)
}

// gpuResolveExecutable finds an executable given as a path or a command name; why says what is
// wrong with it ("does not exist", ...) when it cannot be used.
func gpuResolveExecutable(name string) (path, why string) {
	if !strings.ContainsRune(name, filepath.Separator) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", "is not a command on PATH"
		}
		name = p
	}
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", "does not exist"
	case err != nil:
		return "", "cannot be read (" + err.Error() + ")"
	case fi.IsDir():
		return "", "is a directory"
	case fi.Mode().Perm()&0o111 == 0:
		return "", "is not executable"
	}
	if abs, err := filepath.Abs(name); err == nil {
		name = abs
	}
	return name, ""
}

// parseNVCCVersion extracts the release ("11.8") from `nvcc --version` output, whose last
// lines read "Cuda compilation tools, release 11.8, V11.8.89".
func parseNVCCVersion(out string) (string, bool) {
	fields := strings.Fields(out)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] != "release" {
			continue
		}
		v := strings.TrimSuffix(fields[i+1], ",")
		if major, minor, ok := strings.Cut(v, "."); ok && gpuDigits(major) && gpuDigits(minor) {
			return v, true
		}
	}
	return "", false
}

// nvccVersion runs `nvcc --version` and returns its release.
func nvccVersion(ctx context.Context, nvcc string) (string, error) {
	stdout, stderr, err := runGPUTool(ctx, gpuToolTimeout, nvcc, "--version")
	if err != nil {
		return "", fmt.Errorf("run %s --version: %v%s: check the CUDA toolkit installation or set [backend] nvcc in colt.toml to a working nvcc",
			nvcc, err, gpuOutputHint(stdout, stderr))
	}
	v, ok := parseNVCCVersion(stdout + "\n" + stderr)
	if !ok {
		return "", fmt.Errorf("%s --version printed %q, want a line with \"release X.Y\": is it really NVIDIA's nvcc? Set [backend] nvcc in colt.toml to the toolkit's nvcc",
			nvcc, gpuFirstLine(stdout+stderr))
	}
	return v, nil
}

// DetectGPU describes the NVIDIA GPU this process would run kernels on: the first GPU, or the
// first one $CUDA_VISIBLE_DEVICES names. nvidia-smi gives the name, compute capability and
// memory clock; when nvcc is given, a small device-query program (built once with nvcc and
// cached under cacheDir/gpu/, keyed by nvcc's release and the program's source) asks the CUDA
// runtime for the rest (SM count, shared memory, registers, L2, memory bus). Without nvcc the
// per-block limits come from the arch table and SM count and cache sizes stay unknown (0).
// Without a GPU the error wraps ErrNoGPU.
func DetectGPU(ctx context.Context, nvcc, cacheDir string) (GPU, error) {
	smiPath, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return GPU{}, noGPUError("nvidia-smi: not found on PATH")
	}
	visible, isSet := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	id, hidden := visibleDevice(visible, isSet)
	if hidden {
		return GPU{}, noGPUError(fmt.Sprintf("CUDA_VISIBLE_DEVICES=%q hides every GPU; unset it or name a GPU", visible))
	}
	query := "name,compute_cap,memory.total,clocks.max.memory"
	args := func(q string) []string {
		a := []string{"--query-gpu=" + q, "--format=csv,noheader"}
		if id != "" {
			a = append(a, "--id="+id)
		}
		return a
	}
	stdout, stderr, err := runGPUTool(ctx, gpuToolTimeout, smiPath, args(query)...)
	if err != nil && strings.Contains(stdout+stderr, "compute_cap") {
		// Drivers before 510 do not know compute_cap; the device query can still tell.
		query = "name,memory.total,clocks.max.memory"
		stdout, stderr, err = runGPUTool(ctx, gpuToolTimeout, smiPath, args(query)...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return GPU{}, fmt.Errorf("detect GPU: %w", ctx.Err())
		}
		detail := gpuFirstLine(stdout + "\n" + stderr)
		if detail == "" {
			detail = err.Error()
		} else {
			detail += " (" + err.Error() + ")"
		}
		return GPU{}, noGPUError("nvidia-smi: " + detail)
	}
	gpus, err := parseNvidiaSMI(stdout)
	if err != nil {
		if errors.Is(err, errSMINoGPU) {
			return GPU{}, noGPUError("nvidia-smi: " + err.Error())
		}
		return GPU{}, fmt.Errorf("detect GPU: %w", err)
	}
	s := gpus[0]
	g := GPU{Name: s.name, Arch: cudaArchFromCapability(s.computeCap), ComputeCapability: s.computeCap,
		MemoryClockKHz: s.memoryClockMHz * 1000, Present: true}
	if g.Arch == "" {
		g.ComputeCapability = ""
	}

	if strings.TrimSpace(nvcc) != "" {
		q, err := queryDevice(ctx, nvcc, cacheDir)
		if err != nil {
			return GPU{}, err
		}
		if q.MemoryClockKHz == 0 {
			q.MemoryClockKHz = g.MemoryClockKHz
		}
		return q, nil
	}

	if g.Arch == "" {
		return GPU{}, fmt.Errorf("detect GPU %s: this nvidia-smi does not report the compute capability (drivers before 510) and no nvcc was given to ask the device: update the NVIDIA driver, install the CUDA toolkit, or pass --arch sm_XX", g.Name)
	}
	l, ok := lookupCUDAArch(g.Arch)
	if !ok {
		l = conservativeArchLimits(g.Arch)
	}
	applyArchLimits(&g, l)
	return g, nil
}

// noGPUError is the ErrNoGPU error with what was found and what to do.
func noGPUError(detail string) error {
	return fmt.Errorf("%w (%s): run on a machine with an NVIDIA GPU and driver, or use --target cpu; to only compile CUDA use --arch sm_XX with colt show/export",
		ErrNoGPU, detail)
}

// visibleDevice reads $CUDA_VISIBLE_DEVICES: the first device it names (an index or a GPU
// UUID, for nvidia-smi --id), "" when unset or when it names a MIG instance (nvidia-smi cannot
// select those; the first GPU stands in and the device query, run under the same variable,
// describes the instance), and hidden when it hides every GPU ("" or a negative index).
func visibleDevice(value string, set bool) (id string, hidden bool) {
	if !set {
		return "", false
	}
	first, _, _ := strings.Cut(value, ",")
	first = strings.TrimSpace(first)
	switch {
	case first == "", strings.HasPrefix(first, "-"), strings.EqualFold(first, "NoDevFiles"):
		return "", true
	case strings.HasPrefix(strings.ToUpper(first), "MIG-"):
		return "", false
	}
	return first, false
}

// smiGPU is one line of `nvidia-smi --query-gpu=name,compute_cap,memory.total,clocks.max.memory
// --format=csv,noheader` (or of the same query without compute_cap).
type smiGPU struct {
	name           string
	computeCap     string // "9.0"; "" when not reported
	memoryMiB      int64  // 0 when not reported
	memoryClockMHz int    // 0 when not reported
}

// errSMINoGPU is parseNvidiaSMI's error when nvidia-smi lists no GPU.
var errSMINoGPU = errors.New("no GPU listed")

// parseNvidiaSMI reads the CSV lines of the nvidia-smi query, one GPU a line, in nvidia-smi's
// order: "NVIDIA H200, 9.0, 143771 MiB, 3201 MHz" (or without the compute capability field).
// Values nvidia-smi cannot tell ("[N/A]") are left zero. Empty output and "No devices were
// found" give an error wrapping errSMINoGPU; anything else unrecognised a plain error.
func parseNvidiaSMI(out string) ([]smiGPU, error) {
	var gpus []smiGPU
	var bad []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Contains(strings.ToLower(line), "no devices were found") {
			return nil, fmt.Errorf("%w: %s", errSMINoGPU, line)
		}
		g, ok := parseSMILine(line)
		if !ok {
			bad = append(bad, line)
			continue
		}
		gpus = append(gpus, g)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("nvidia-smi printed %q, want lines like \"NVIDIA H200, 9.0, 143771 MiB, 3201 MHz\": update the NVIDIA driver, or pass --arch sm_XX to compile only",
			gpuTruncate(bad[0], 120))
	}
	if len(gpus) == 0 {
		return nil, fmt.Errorf("%w: the query printed nothing", errSMINoGPU)
	}
	return gpus, nil
}

// parseSMILine reads one line; the name may itself hold commas, so fields are taken from the
// right.
func parseSMILine(line string) (smiGPU, bool) {
	fields := strings.Split(line, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if len(fields) < 3 {
		return smiGPU{}, false
	}
	n := len(fields)
	mem, ok1 := smiNumber(fields[n-2], "MiB")
	clock, ok2 := smiNumber(fields[n-1], "MHz")
	if !ok1 || !ok2 {
		return smiGPU{}, false
	}
	g := smiGPU{memoryMiB: mem, memoryClockMHz: int(clock)}
	rest := fields[:n-2]
	if len(rest) >= 2 {
		cc := rest[len(rest)-1]
		if cudaArchFromCapability(cc) != "" {
			g.computeCap, rest = cc, rest[:len(rest)-1]
		} else if smiNA(cc) {
			rest = rest[:len(rest)-1]
		}
	}
	g.name = strings.TrimSpace(strings.Join(rest, ","))
	if g.name == "" || smiNA(g.name) {
		return smiGPU{}, false
	}
	return g, true
}

func smiNA(s string) bool {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "[]"))
	return s == "n/a" || s == "not supported" || s == "unknown error" || s == "insufficient permissions"
}

// smiNumber reads "143771 MiB", "143771" or "[N/A]" (0).
func smiNumber(s, unit string) (int64, bool) {
	if smiNA(s) {
		return 0, true
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), unit))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// deviceQuerySource is the CUDA program DetectGPU builds to ask the CUDA runtime about device 0
// (the first device $CUDA_VISIBLE_DEVICES leaves visible). It prints one key=value line per
// property, named as in cudaDeviceProp, or error=... and exits 1. The memory clock and bus width
// are read as attributes because newer toolkits dropped those cudaDeviceProp fields.
const deviceQuerySource = `// colt device query: prints the properties of CUDA device 0 as key=value lines.
#include <cstdio>
#include <cuda_runtime.h>

static int fail(const char *what, cudaError_t err) {
  std::printf("error=%s: %s (CUDA error %d)\n", what, cudaGetErrorString(err), (int)err);
  return 1;
}

int main() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) return fail("cudaGetDeviceCount", err);
  if (count < 1) { std::printf("error=no CUDA device is visible\n"); return 1; }
  cudaDeviceProp p;
  err = cudaGetDeviceProperties(&p, 0);
  if (err != cudaSuccess) return fail("cudaGetDeviceProperties", err);
  int memClock = 0, busWidth = 0, driver = 0, rt = 0;
  if (cudaDeviceGetAttribute(&memClock, cudaDevAttrMemoryClockRate, 0) != cudaSuccess) memClock = 0;
  if (cudaDeviceGetAttribute(&busWidth, cudaDevAttrGlobalMemoryBusWidth, 0) != cudaSuccess) busWidth = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&rt);
  std::printf("name=%s\n", p.name);
  std::printf("major=%d\n", p.major);
  std::printf("minor=%d\n", p.minor);
  std::printf("multiProcessorCount=%d\n", p.multiProcessorCount);
  std::printf("maxThreadsPerBlock=%d\n", p.maxThreadsPerBlock);
  std::printf("sharedMemPerBlock=%zu\n", p.sharedMemPerBlock);
  std::printf("sharedMemPerBlockOptin=%zu\n", p.sharedMemPerBlockOptin);
  std::printf("regsPerBlock=%d\n", p.regsPerBlock);
  std::printf("l2CacheSize=%d\n", p.l2CacheSize);
  std::printf("memoryClockRate=%d\n", memClock);
  std::printf("memoryBusWidth=%d\n", busWidth);
  std::printf("totalGlobalMem=%zu\n", p.totalGlobalMem);
  std::printf("driverVersion=%d\n", driver);
  std::printf("runtimeVersion=%d\n", rt);
  return 0;
}
`

// deviceQueryKeys are the keys parseDeviceQuery needs.
func deviceQueryKeys() []string {
	return []string{"name", "major", "minor", "multiProcessorCount", "maxThreadsPerBlock", "sharedMemPerBlock",
		"sharedMemPerBlockOptin", "regsPerBlock", "l2CacheSize", "memoryClockRate", "memoryBusWidth"}
}

// parseDeviceQuery reads the device-query program's key=value lines into a GPU (Present true).
// Unknown keys and lines without '=' are ignored; an error= line, a missing key or a value that
// is not a non-negative integer is an error.
func parseDeviceQuery(out string) (GPU, error) {
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "error" {
			return GPU{}, fmt.Errorf("the CUDA runtime says: %s", v)
		}
		if _, dup := kv[k]; !dup {
			kv[k] = v
		}
	}
	var missing []string
	for _, k := range deviceQueryKeys() {
		if _, ok := kv[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == len(deviceQueryKeys()) {
		return GPU{}, fmt.Errorf("device query printed %q, want key=value lines (name=..., major=..., ...)", gpuTruncate(gpuFirstLine(out), 120))
	}
	if len(missing) > 0 {
		return GPU{}, fmt.Errorf("device query output lacks %s", strings.Join(missing, ", "))
	}
	var bad []string
	num := func(k string) int64 {
		n, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, fmt.Sprintf("%s=%q", k, kv[k]))
			return 0
		}
		return n
	}
	toInt := func(n int64) int {
		if n > int64(^uint32(0)>>1) {
			return int(^uint32(0) >> 1)
		}
		return int(n)
	}
	major, minor := num("major"), num("minor")
	g := GPU{
		Name:                kv["name"],
		SMs:                 toInt(num("multiProcessorCount")),
		MaxThreadsPerBlock:  toInt(num("maxThreadsPerBlock")),
		SharedPerBlock:      num("sharedMemPerBlock"),
		SharedPerBlockOptin: num("sharedMemPerBlockOptin"),
		RegistersPerBlock:   toInt(num("regsPerBlock")),
		L2Bytes:             num("l2CacheSize"),
		MemoryClockKHz:      toInt(num("memoryClockRate")),
		BusWidthBits:        toInt(num("memoryBusWidth")),
		Present:             true,
	}
	if len(bad) > 0 {
		return GPU{}, fmt.Errorf("device query printed %s, want non-negative integers", strings.Join(bad, ", "))
	}
	if g.Name == "" {
		return GPU{}, errors.New("device query printed an empty name")
	}
	if major < 1 || minor > 9 {
		return GPU{}, fmt.Errorf("device query printed compute capability %d.%d, want major ≥ 1 and minor 0-9", major, minor)
	}
	g.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	g.Arch = fmt.Sprintf("sm_%d%d", major, minor)
	g.MaxRegistersPerThread = 255 // every arch since sm_30
	if l, ok := lookupCUDAArch(g.Arch); ok {
		g.MaxRegistersPerThread = l.registersPerThread
	}
	if g.SharedPerBlockOptin < g.SharedPerBlock {
		g.SharedPerBlockOptin = g.SharedPerBlock
	}
	return g, nil
}

// queryDevice builds (once) and runs the device-query program with nvcc.
func queryDevice(ctx context.Context, nvcc, cacheDir string) (GPU, error) {
	version, err := nvccVersion(ctx, nvcc)
	if err != nil {
		return GPU{}, fmt.Errorf("detect GPU: %w", err)
	}
	bin, cleanup, err := buildDeviceQuery(ctx, nvcc, version, cacheDir)
	if err != nil {
		return GPU{}, fmt.Errorf("detect GPU: %w", err)
	}
	defer cleanup()
	stdout, stderr, err := runGPUTool(ctx, gpuToolTimeout, bin)
	g, perr := parseDeviceQuery(stdout)
	if perr == nil && err == nil {
		return g, nil
	}
	if perr == nil {
		perr = err
	}
	return GPU{}, fmt.Errorf("detect GPU: query the device with the CUDA runtime: %v%s: check that the NVIDIA driver supports CUDA %s (nvidia-smi shows the newest CUDA it supports) and that $CUDA_VISIBLE_DEVICES names a usable GPU",
		perr, gpuOutputHint("", stderr), version)
}

// buildDeviceQuery returns the device-query binary, building it when the cache lacks it. The
// build goes to a temporary name in the cache directory and is renamed into place, so
// concurrent detections never see a half-written binary. With no cacheDir it builds into a
// temporary directory that cleanup removes.
func buildDeviceQuery(ctx context.Context, nvcc, version, cacheDir string) (bin string, cleanup func(), err error) {
	cleanup = func() {}
	sum := sha256.Sum256([]byte("nvcc " + version + "\x00" + deviceQuerySource))
	name := "devicequery-" + hex.EncodeToString(sum[:8])
	dir := ""
	if cacheDir != "" {
		dir = filepath.Join(cacheDir, "gpu")
		final := filepath.Join(dir, name)
		if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return final, cleanup, nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", cleanup, fmt.Errorf("create the GPU cache directory: %w: check that %s is writable", err, cacheDir)
		}
	}
	tmp, err := os.MkdirTemp(dir, "devicequery-build-")
	if err != nil {
		return "", cleanup, fmt.Errorf("create a directory to build the device query: %w", err)
	}
	src := filepath.Join(tmp, "devicequery.cu")
	out := filepath.Join(tmp, "devicequery")
	if err := os.WriteFile(src, []byte(deviceQuerySource), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", cleanup, fmt.Errorf("write the device query source: %w", err)
	}
	stdout, stderr, err := runGPUTool(ctx, gpuBuildTimeout, nvcc, "-O2", "-o", out, src)
	if err != nil {
		os.RemoveAll(tmp)
		return "", cleanup, fmt.Errorf("build the device query with %s: %v%s: check that nvcc works (its host compiler must be one this CUDA release supports) or set [backend] nvcc in colt.toml",
			nvcc, err, gpuOutputHint(stdout, stderr))
	}
	if cacheDir == "" {
		return out, func() { os.RemoveAll(tmp) }, nil
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(out, final); err != nil {
		os.RemoveAll(tmp)
		return "", cleanup, fmt.Errorf("store the device query in the cache: %w", err)
	}
	os.RemoveAll(tmp)
	return final, cleanup, nil
}

// runGPUTool runs one command with a timeout in its own process group (so a timeout also ends
// nvcc's children) and returns its output, at most 1 MiB of each stream.
func runGPUTool(ctx context.Context, timeout time.Duration, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var so, se gpuCappedBuffer
	so.max, se.max = 1<<20, 1<<20
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	return so.buf.String(), se.buf.String(), err
}

// gpuCappedBuffer keeps the first max bytes written to it and discards the rest.
type gpuCappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (w *gpuCappedBuffer) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		if len(p) <= room {
			w.buf.Write(p)
		} else {
			w.buf.Write(p[:room])
		}
	}
	return len(p), nil
}

// gpuOutputHint is ": <first lines of stderr, else stdout>" for an error message, or "".
func gpuOutputHint(stdout, stderr string) string {
	s := strings.TrimSpace(stderr)
	if s == "" {
		s = strings.TrimSpace(stdout)
	}
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[:5]
	}
	return ": " + gpuTruncate(strings.Join(lines, "; "), 600)
}

// gpuFirstLine is the first non-blank line of s, trimmed.
func gpuFirstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

func gpuTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
