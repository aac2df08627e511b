package backend

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// The target kinds.
const (
	KindCPU  = "cpu"
	KindCUDA = "cuda"
)

// Target describes the machine candidates are built for and timed on.
type Target struct {
	Kind        string  // "cpu" or "cuda"
	Model       string  // e.g. "AMD EPYC 9654 96-Core Processor"; for cuda the GPU's name
	Arch        string  // Go's name for the architecture: "amd64", "arm64", ...; "cuda" for a GPU
	Cores       int     // logical CPUs this process may use
	SIMD        string  // widest vector extension: "avx512", "avx2", "avx", "sse4", "sse2", "neon" or "scalar"
	VectorBytes int     // width of one vector register of that extension, in bytes
	Caches      []Cache // data and unified caches of one core, innermost first
	GPU         *GPU    // the NVIDIA GPU of a "cuda" target (see GPUTarget); nil for the CPU
}

// Cache is one level of the CPU cache hierarchy as seen from one core.
type Cache struct {
	Level int    // 1, 2, 3
	Type  string // "Data", "Instruction" or "Unified"
	Bytes int64
}

// DetectCPU describes the CPU this process runs on, from /proc/cpuinfo and
// /sys/devices/system/cpu/cpu0/cache on Linux. Elsewhere, or where those files are unreadable,
// it falls back to what the Go runtime knows: architecture, core count and the architecture's
// baseline vector extension (SSE2 on amd64, NEON on arm64), with no cache information.
func DetectCPU() Target {
	t := Target{Kind: "cpu", Arch: runtime.GOARCH, Cores: runtime.NumCPU()}
	info := readCPUInfo("/proc/cpuinfo")
	t.Model = info.model
	if t.Model == "" {
		t.Model = runtime.GOARCH + " CPU"
	}
	t.SIMD, t.VectorBytes = simdFromFlags(runtime.GOARCH, info.flags)
	t.Caches = readCaches("/sys/devices/system/cpu/cpu0/cache")
	return t
}

type cpuInfo struct {
	model string
	flags map[string]bool
}

// readCPUInfo extracts the first processor's model name and feature flags.
func readCPUInfo(path string) cpuInfo {
	info := cpuInfo{flags: map[string]bool{}}
	f, err := os.Open(path)
	if err != nil {
		return info
	}
	defer f.Close()
	var implementer, part string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name", "Model", "cpu model", "Hardware":
			if info.model == "" {
				info.model = val
			}
		case "CPU implementer":
			implementer = val
		case "CPU part":
			part = val
		case "flags", "Features":
			if len(info.flags) == 0 {
				for _, fl := range strings.Fields(val) {
					info.flags[fl] = true
				}
			}
		}
	}
	if info.model == "" && implementer != "" {
		info.model = "ARM CPU (implementer " + implementer + ", part " + part + ")"
	}
	return info
}

// simdFromFlags picks the widest vector extension the flags announce.
func simdFromFlags(arch string, flags map[string]bool) (string, int) {
	switch {
	case flags["avx512f"]:
		return "avx512", 64
	case flags["avx2"]:
		return "avx2", 32
	case flags["avx"]:
		return "avx", 32
	case flags["sse4_1"] || flags["sse4_2"]:
		return "sse4", 16
	case flags["asimd"] || flags["neon"]:
		return "neon", 16
	}
	switch arch {
	case "amd64":
		return "sse2", 16 // part of the amd64 baseline
	case "arm64":
		return "neon", 16 // part of the arm64 baseline
	}
	return "scalar", 4
}

// readCaches reads the cache hierarchy of one CPU from sysfs (dir holds index0, index1, ...).
func readCaches(dir string) []Cache {
	entries, err := filepath.Glob(filepath.Join(dir, "index*"))
	if err != nil {
		return nil
	}
	var caches []Cache
	for _, e := range entries {
		level, err1 := strconv.Atoi(readTrim(filepath.Join(e, "level")))
		typ := readTrim(filepath.Join(e, "type"))
		size, err2 := parseCacheSize(readTrim(filepath.Join(e, "size")))
		if err1 != nil || err2 != nil || typ == "" {
			continue
		}
		caches = append(caches, Cache{Level: level, Type: typ, Bytes: size})
	}
	sort.Slice(caches, func(i, j int) bool {
		if caches[i].Level != caches[j].Level {
			return caches[i].Level < caches[j].Level
		}
		return caches[i].Type < caches[j].Type
	})
	return caches
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// parseCacheSize reads sysfs sizes such as "32K", "1024K", "32M" or "512".
func parseCacheSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cache size %q: want a number with an optional K/M/G suffix", s)
	}
	return n * mult, nil
}

// String is a one-line summary, e.g.
// "cpu: AMD EPYC, 2 cores, avx512 (64 B vectors), L1d 32 KiB, L2 1 MiB, L3 32 MiB".
// Instruction caches are left out. A "cuda" target reads e.g.
// "cuda: NVIDIA H200 (sm_90), 132 SMs, 48 KiB shared/block (227 KiB opt-in), L2 60 MiB", or
// "cuda: sm_90 (no device; compile only)" when described from an arch alone. The string is the
// records key of the target and is shown in the status line.
func (t Target) String() string {
	if t.Kind == "cuda" {
		return "cuda: " + gpuSummary(t.GPU)
	}
	var b strings.Builder
	kind := t.Kind
	if kind == "" {
		kind = "cpu"
	}
	model := t.Model
	if model == "" {
		model = "unknown model"
	}
	cores := "cores"
	if t.Cores == 1 {
		cores = "core"
	}
	fmt.Fprintf(&b, "%s: %s, %d %s, %s (%d B vectors)", kind, model, t.Cores, cores, t.SIMD, t.VectorBytes)
	for _, c := range t.Caches {
		name := fmt.Sprintf("L%d", c.Level)
		switch c.Type {
		case "Instruction":
			continue
		case "Data":
			name += "d"
		}
		fmt.Fprintf(&b, ", %s %s", name, formatBytes(c.Bytes))
	}
	return b.String()
}

// formatBytes prints a size in binary units: "512 B", "32 KiB", "1.5 MiB".
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
