package backend

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	smiH200 = "NVIDIA H200, 9.0, 143771 MiB, 3201 MHz"
	smiA100 = "NVIDIA A100-SXM4-80GB, 8.0, 81920 MiB, 1593 MHz"
)

func readGPUFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "gpu", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGPUParseNvidiaSMI(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []smiGPU
		noGPU   bool // error wraps errSMINoGPU
		wantErr string
	}{
		{name: "H200", out: smiH200 + "\n", want: []smiGPU{{"NVIDIA H200", "9.0", 143771, 3201}}},
		{name: "A100", out: smiA100 + "\n", want: []smiGPU{{"NVIDIA A100-SXM4-80GB", "8.0", 81920, 1593}}},
		{name: "two GPUs, CRLF", out: smiH200 + "\r\n" + smiA100 + "\r\n",
			want: []smiGPU{{"NVIDIA H200", "9.0", 143771, 3201}, {"NVIDIA A100-SXM4-80GB", "8.0", 81920, 1593}}},
		{name: "not available values", out: "NVIDIA H100 80GB HBM3, 9.0, [N/A], [N/A]",
			want: []smiGPU{{"NVIDIA H100 80GB HBM3", "9.0", 0, 0}}},
		{name: "no units", out: "Tesla T4, 7.5, 15360, 5001", want: []smiGPU{{"Tesla T4", "7.5", 15360, 5001}}},
		{name: "legacy driver without compute_cap", out: "Tesla V100-SXM2-16GB, 16160 MiB, 877 MHz",
			want: []smiGPU{{"Tesla V100-SXM2-16GB", "", 16160, 877}}},
		{name: "compute_cap not available", out: "GRID A100D-4C, [N/A], 4096 MiB, 1215 MHz",
			want: []smiGPU{{"GRID A100D-4C", "", 4096, 1215}}},
		{name: "empty", out: "", noGPU: true},
		{name: "blank lines", out: "\n \n\t\n", noGPU: true},
		{name: "no devices", out: "No devices were found\n", noGPU: true},
		{name: "driver failure", out: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
			wantErr: "want lines like"},
		{name: "garbage fields", out: "a, b, c, d", wantErr: "want lines like"},
		{name: "negative memory", out: "NVIDIA H200, 9.0, -1 MiB, 3201 MHz", wantErr: "want lines like"},
		{name: "binary", out: "\x00\xff\xfe,,,", wantErr: "want lines like"},
		{name: "one good one bad", out: smiH200 + "\nwhat?\n", wantErr: "what?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNvidiaSMI(tt.out)
			switch {
			case tt.noGPU:
				if !errors.Is(err, errSMINoGPU) {
					t.Fatalf("parseNvidiaSMI(%q) error = %v, want one wrapping errSMINoGPU", tt.out, err)
				}
				return
			case tt.wantErr != "":
				if err == nil || errors.Is(err, errSMINoGPU) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseNvidiaSMI(%q) error = %v, want one containing %q (not errSMINoGPU)", tt.out, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseNvidiaSMI(%q): %v", tt.out, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseNvidiaSMI(%q) = %+v, want %+v", tt.out, got, tt.want)
			}
		})
	}
}

func TestGPUParseDeviceQuery(t *testing.T) {
	h200 := readGPUFixture(t, "h200.devicequery.txt")
	a100 := readGPUFixture(t, "a100.devicequery.txt")
	tests := []struct {
		name    string
		out     string
		want    GPU
		wantErr string
	}{
		{name: "H200", out: h200, want: GPU{Name: "NVIDIA H200", Arch: "sm_90", ComputeCapability: "9.0", SMs: 132,
			MaxThreadsPerBlock: 1024, SharedPerBlock: 48 << 10, SharedPerBlockOptin: 227 << 10, RegistersPerBlock: 65536,
			MaxRegistersPerThread: 255, L2Bytes: 50 << 20, MemoryClockKHz: 3201000, BusWidthBits: 6144, Present: true}},
		{name: "A100", out: a100, want: GPU{Name: "NVIDIA A100-SXM4-80GB", Arch: "sm_80", ComputeCapability: "8.0", SMs: 108,
			MaxThreadsPerBlock: 1024, SharedPerBlock: 48 << 10, SharedPerBlockOptin: 163 << 10, RegistersPerBlock: 65536,
			MaxRegistersPerThread: 255, L2Bytes: 40 << 20, MemoryClockKHz: 1593000, BusWidthBits: 5120, Present: true}},
		{name: "CRLF and noise lines", out: "warning: something\r\n" + strings.ReplaceAll(a100, "\n", "\r\n"),
			want: GPU{Name: "NVIDIA A100-SXM4-80GB", Arch: "sm_80", ComputeCapability: "8.0", SMs: 108,
				MaxThreadsPerBlock: 1024, SharedPerBlock: 48 << 10, SharedPerBlockOptin: 163 << 10, RegistersPerBlock: 65536,
				MaxRegistersPerThread: 255, L2Bytes: 40 << 20, MemoryClockKHz: 1593000, BusWidthBits: 5120, Present: true}},
		{name: "empty", out: "", wantErr: "want key=value lines"},
		{name: "garbage", out: "Segmentation fault\n\x00\xff", wantErr: "want key=value lines"},
		{name: "runtime error", out: "error=cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version (CUDA error 35)\n",
			wantErr: "CUDA driver version is insufficient"},
		{name: "no device", out: "error=no CUDA device is visible\n", wantErr: "no CUDA device is visible"},
		{name: "missing keys", out: "name=NVIDIA H200\nmajor=9\nminor=0\n", wantErr: "lacks multiProcessorCount"},
		{name: "not a number", out: strings.Replace(h200, "multiProcessorCount=132", "multiProcessorCount=lots", 1),
			wantErr: `multiProcessorCount="lots"`},
		{name: "negative", out: strings.Replace(h200, "regsPerBlock=65536", "regsPerBlock=-1", 1), wantErr: "non-negative"},
		{name: "huge", out: strings.Replace(h200, "regsPerBlock=65536", "regsPerBlock=99999999999999999999999", 1), wantErr: "non-negative"},
		{name: "empty name", out: strings.Replace(h200, "name=NVIDIA H200", "name=", 1), wantErr: "empty name"},
		{name: "bad capability", out: strings.Replace(h200, "major=9", "major=0", 1), wantErr: "compute capability 0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDeviceQuery(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseDeviceQuery error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDeviceQuery: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseDeviceQuery =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestKnownArchs(t *testing.T) {
	want := []string{"sm_50", "sm_52", "sm_53", "sm_60", "sm_61", "sm_62", "sm_70", "sm_72", "sm_75",
		"sm_80", "sm_86", "sm_87", "sm_89", "sm_90"}
	got := KnownArchs()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("KnownArchs() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if KnownArchs()[0] != "sm_50" {
		t.Error("changing KnownArchs' result changed the table")
	}
	for _, l := range cudaArchTable() {
		if l.threadsPerBlock != 1024 || l.sharedPerBlock != 48<<10 || l.sharedPerBlockOptin < l.sharedPerBlock ||
			(l.registersPerBlock != 64<<10 && l.registersPerBlock != 32<<10) || l.registersPerThread != 255 {
			t.Errorf("arch table row %+v is out of the documented ranges", l)
		}
	}
}

func TestParseArch(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"sm_90", "sm_90"},
		{"90", "sm_90"},
		{"9.0", "sm_90"},
		{"compute_90", "sm_90"},
		{"  SM_86 ", "sm_86"},
		{"Compute_80", "sm_80"},
		{"sm90", "sm_90"},
		{"sm 75", "sm_75"},
		{"8.7", "sm_87"},
		{"5.0", "sm_50"},
		{"sm_42", ""},
		{"42", ""},
		{"9", ""},
		{"9.", ""},
		{".0", ""},
		{"9.0.1", ""},
		{"sm_90a", ""},
		{"sm_100", ""},
		{"sm_", ""},
		{"", ""},
		{"-90", ""},
		{"sm_9\x000", ""},
		{"hopper", ""},
	}
	for _, tt := range tests {
		got, err := ParseArch(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseArch(%q) = %q, want an error", tt.in, got)
				continue
			}
			if !strings.Contains(err.Error(), "unknown CUDA arch") || !strings.Contains(err.Error(), "want one of sm_50, sm_52,") ||
				!strings.HasSuffix(err.Error(), ", sm_89, sm_90") {
				t.Errorf("ParseArch(%q) error = %q, want it to name the input and list the known arches", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseArch(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseArch("sm_42"); err == nil || !strings.HasPrefix(err.Error(), `unknown CUDA arch "sm_42": want one of sm_50, `) {
		t.Errorf("ParseArch(sm_42) error = %v", err)
	}
}

func TestGPUForArch(t *testing.T) {
	tests := []struct {
		arch      string
		want      GPU
		wantError bool
	}{
		{arch: "sm_90", want: GPU{Name: "sm_90 (no device)", Arch: "sm_90", ComputeCapability: "9.0", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 227 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255}},
		{arch: "8.0", want: GPU{Name: "sm_80 (no device)", Arch: "sm_80", ComputeCapability: "8.0", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 163 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255}},
		{arch: "86", want: GPU{Name: "sm_86 (no device)", Arch: "sm_86", ComputeCapability: "8.6", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 99 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255}},
		{arch: "sm_75", want: GPU{Name: "sm_75 (no device)", Arch: "sm_75", ComputeCapability: "7.5", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 64 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255}},
		{arch: "compute_70", want: GPU{Name: "sm_70 (no device)", Arch: "sm_70", ComputeCapability: "7.0", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 96 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255}},
		{arch: "sm_53", want: GPU{Name: "sm_53 (no device)", Arch: "sm_53", ComputeCapability: "5.3", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 48 << 10, RegistersPerBlock: 32768, MaxRegistersPerThread: 255}},
		{arch: "sm_42", wantError: true},
		{arch: "", wantError: true},
	}
	for _, tt := range tests {
		got, err := GPUForArch(tt.arch)
		if tt.wantError {
			if err == nil {
				t.Errorf("GPUForArch(%q) = %+v, want an error", tt.arch, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("GPUForArch(%q): %v", tt.arch, err)
			continue
		}
		if got != tt.want {
			t.Errorf("GPUForArch(%q) =\n%+v\nwant\n%+v", tt.arch, got, tt.want)
		}
		if s, want := GPUTarget(got).String(), "cuda: "+tt.want.Arch+" (no device; compile only)"; s != want {
			t.Errorf("GPUTarget(GPUForArch(%q)).String() = %q, want %q", tt.arch, s, want)
		}
	}
	for _, a := range KnownArchs() {
		if _, err := GPUForArch(a); err != nil {
			t.Errorf("GPUForArch(%q): %v", a, err)
		}
	}
}

func TestGPUTargetString(t *testing.T) {
	h200, err := parseDeviceQuery(readGPUFixture(t, "h200.devicequery.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tg := GPUTarget(h200)
	if tg.Kind != "cuda" || tg.Arch != "cuda" || tg.Model != "NVIDIA H200" || tg.GPU == nil || *tg.GPU != h200 || tg.Cores < 1 {
		t.Errorf("GPUTarget = %+v", tg)
	}
	h200.SMs = 1 // GPUTarget copies its argument
	if tg.GPU.SMs != 132 {
		t.Error("GPUTarget shares the caller's GPU")
	}
	tests := []struct {
		name string
		tg   Target
		want string
	}{
		{"H200", tg, "cuda: NVIDIA H200 (sm_90), 132 SMs, 48 KiB shared/block (227 KiB opt-in), L2 50 MiB"},
		{"from nvidia-smi only", GPUTarget(GPU{Name: "NVIDIA A100-SXM4-80GB", Arch: "sm_80", SharedPerBlock: 48 << 10,
			SharedPerBlockOptin: 163 << 10, Present: true}), "cuda: NVIDIA A100-SXM4-80GB (sm_80), 48 KiB shared/block (163 KiB opt-in)"},
		{"no opt-in", GPUTarget(GPU{Name: "Tesla M40", Arch: "sm_52", SMs: 24, SharedPerBlock: 48 << 10,
			SharedPerBlockOptin: 48 << 10, L2Bytes: 3 << 20, Present: true}), "cuda: Tesla M40 (sm_52), 24 SMs, 48 KiB shared/block, L2 3 MiB"},
		{"arch only", GPUTarget(GPU{Name: "sm_90 (no device)", Arch: "sm_90"}), "cuda: sm_90 (no device; compile only)"},
		{"empty GPU", GPUTarget(GPU{}), "cuda: unknown arch (no device; compile only)"},
		{"present but empty", GPUTarget(GPU{Present: true}), "cuda: unknown NVIDIA GPU (unknown arch)"},
		{"nil GPU", Target{Kind: "cuda"}, "cuda: unknown GPU"},
	}
	for _, tt := range tests {
		if got := tt.tg.String(); got != tt.want {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestGPUVisibleDevice(t *testing.T) {
	tests := []struct {
		value  string
		set    bool
		id     string
		hidden bool
	}{
		{"", false, "", false},
		{"", true, "", true},
		{"  ", true, "", true},
		{"-1", true, "", true},
		{"NoDevFiles", true, "", true},
		{"1", true, "1", false},
		{"2,0", true, "2", false},
		{" 3 , 1", true, "3", false},
		{"GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", true, "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", false},
		{"MIG-GPU-8932f937/1/0", true, "", false},
		{",1", true, "", true},
	}
	for _, tt := range tests {
		id, hidden := visibleDevice(tt.value, tt.set)
		if id != tt.id || hidden != tt.hidden {
			t.Errorf("visibleDevice(%q, %v) = %q, %v, want %q, %v", tt.value, tt.set, id, hidden, tt.id, tt.hidden)
		}
	}
}

func TestParseNVCCVersion(t *testing.T) {
	tests := []struct{ out, want string }{
		{"nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2022 NVIDIA Corporation\nBuilt on Wed_Sep_21_10:33:58_PDT_2022\nCuda compilation tools, release 11.8, V11.8.89\nBuild cuda_11.8.r11.8/compiler.31833905_0\n", "11.8"},
		{"Cuda compilation tools, release 12.4, V12.4.131", "12.4"},
		{"", ""},
		{"gcc (Debian 12.2.0-14) 12.2.0", ""},
	}
	for _, tt := range tests {
		got, ok := parseNVCCVersion(tt.out)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseNVCCVersion(%q) = %q, %v, want %q", tt.out, got, ok, tt.want)
		}
	}
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

const fakeNVCCVersion = `if [ "$1" = "--version" ]; then
  echo "nvcc: NVIDIA (R) Cuda compiler driver"
  echo "Cuda compilation tools, release 12.4, V12.4.131"
  exit 0
fi
`

func TestFindNVCCConfiguredBogus(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "nvcc-not-exec")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ configured, why string }{
		{"/nonexistent/cuda/bin/nvcc", "does not exist"},
		{dir, "is a directory"},
		{notExec, "is not executable"},
		{"no-such-nvcc-command-xyz", "is not a command on PATH"},
	}
	for _, tt := range tests {
		path, version, err := FindNVCC(tt.configured)
		if err == nil {
			t.Errorf("FindNVCC(%q) = %q, %q, want an error", tt.configured, path, version)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, ErrNoNVCC) || !strings.Contains(msg, tt.configured) || !strings.Contains(msg, tt.why) ||
			!strings.Contains(msg, "[backend] nvcc") {
			t.Errorf("FindNVCC(%q) error = %q, want one wrapping ErrNoNVCC, naming the path, saying %q and what to do",
				tt.configured, msg, tt.why)
		}
	}
}

func TestFindNVCCSearch(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "cuda")
	writeScript(t, filepath.Join(home, "bin", "nvcc"), fakeNVCCVersion+"exit 1\n")
	pathDir := filepath.Join(dir, "path")
	writeScript(t, filepath.Join(pathDir, "nvcc"), strings.ReplaceAll(fakeNVCCVersion, "12.4", "11.8")+"exit 1\n")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Setenv("CUDA_HOME", home)
	t.Setenv("PATH", pathDir)
	path, version, err := FindNVCC("")
	if err != nil || path != filepath.Join(home, "bin", "nvcc") || version != "12.4" {
		t.Errorf("with CUDA_HOME: FindNVCC = %q, %q, %v, want $CUDA_HOME/bin/nvcc, 12.4", path, version, err)
	}

	t.Setenv("CUDA_HOME", empty)
	path, version, err = FindNVCC("")
	if err != nil || path != filepath.Join(pathDir, "nvcc") || version != "11.8" {
		t.Errorf("from PATH: FindNVCC = %q, %q, %v, want PATH's nvcc, 11.8", path, version, err)
	}

	path, version, err = FindNVCC(filepath.Join(home, "bin", "nvcc"))
	if err != nil || path != filepath.Join(home, "bin", "nvcc") || version != "12.4" {
		t.Errorf("configured: FindNVCC = %q, %q, %v", path, version, err)
	}

	writeScript(t, filepath.Join(dir, "notnvcc"), "echo hello\n")
	if _, _, err := FindNVCC(filepath.Join(dir, "notnvcc")); err == nil || !strings.Contains(err.Error(), "release X.Y") {
		t.Errorf("FindNVCC(a program without a release line) error = %v, want one asking for \"release X.Y\"", err)
	}
	writeScript(t, filepath.Join(dir, "failing"), "echo broken >&2\nexit 3\n")
	if _, _, err := FindNVCC(filepath.Join(dir, "failing")); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("FindNVCC(a failing program) error = %v, want one quoting its stderr", err)
	}

	if _, err := os.Stat("/usr/local/cuda/bin/nvcc"); err == nil {
		return // the last fallback exists here; "not found" cannot be provoked
	}
	t.Setenv("PATH", empty)
	_, _, err = FindNVCC("")
	if !errors.Is(err, ErrNoNVCC) || !strings.Contains(err.Error(), "nvcc not found: install the CUDA toolkit (Debian: apt-get install nvidia-cuda-toolkit") {
		t.Errorf("nothing installed: FindNVCC error = %v, want ErrNoNVCC with installation advice", err)
	}
}

func TestDetectGPUOnThisMachine(t *testing.T) {
	if out, err := exec.Command("nvidia-smi", "-L").CombinedOutput(); err == nil && strings.Contains(string(out), "GPU ") {
		nvcc, _, _ := FindNVCC("")
		g, err := DetectGPU(context.Background(), nvcc, t.TempDir())
		if err != nil {
			t.Fatalf("this machine has a GPU (%s) but DetectGPU failed: %v", strings.TrimSpace(string(out)), err)
		}
		t.Logf("detected: %s", GPUTarget(g))
		return
	}
	g, err := DetectGPU(context.Background(), "", t.TempDir())
	if !errors.Is(err, ErrNoGPU) {
		t.Fatalf("DetectGPU on a machine without a GPU = %+v, %v, want an error wrapping ErrNoGPU", g, err)
	}
	for _, want := range []string{"no NVIDIA GPU found (nvidia-smi: ", "--target cpu", "--arch sm_XX"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("DetectGPU error %q lacks %q", err, want)
		}
	}
}

func TestDetectGPUNoGPU(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	noDevices := filepath.Join(dir, "nodevices")
	writeScript(t, filepath.Join(noDevices, "nvidia-smi"), "echo 'No devices were found'\nexit 6\n")
	noDriver := filepath.Join(dir, "nodriver")
	writeScript(t, filepath.Join(noDriver, "nvidia-smi"),
		"echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n")
	silent := filepath.Join(dir, "silent")
	writeScript(t, filepath.Join(silent, "nvidia-smi"), "exit 0\n")
	hanging := filepath.Join(dir, "hanging")
	writeScript(t, filepath.Join(hanging, "nvidia-smi"), "sleep 30\n")
	good := filepath.Join(dir, "good")
	writeScript(t, filepath.Join(good, "nvidia-smi"), "echo '"+smiH200+"'\n")

	tests := []struct {
		name, path, visible string
		setVisible          bool
		want                string
	}{
		{name: "no nvidia-smi", path: empty, want: "nvidia-smi: not found on PATH"},
		{name: "no devices", path: noDevices, want: "No devices were found"},
		{name: "no driver", path: noDriver, want: "couldn't communicate with the NVIDIA driver"},
		{name: "lists nothing", path: silent, want: "no GPU listed"},
		{name: "all hidden", path: good, setVisible: true, visible: "", want: `CUDA_VISIBLE_DEVICES="" hides every GPU`},
		{name: "hidden by -1", path: good, setVisible: true, visible: "-1", want: `CUDA_VISIBLE_DEVICES="-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			if tt.setVisible {
				t.Setenv("CUDA_VISIBLE_DEVICES", tt.visible)
			} else {
				t.Setenv("CUDA_VISIBLE_DEVICES", "")
				os.Unsetenv("CUDA_VISIBLE_DEVICES")
			}
			_, err := DetectGPU(context.Background(), "", t.TempDir())
			if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "or use --target cpu") {
				t.Errorf("DetectGPU error = %v, want one wrapping ErrNoGPU containing %q and advice", err, tt.want)
			}
		})
	}

	t.Run("cancelled while nvidia-smi hangs", func(t *testing.T) {
		t.Setenv("PATH", hanging+string(os.PathListSeparator)+"/bin"+string(os.PathListSeparator)+"/usr/bin")
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := DetectGPU(ctx, "", t.TempDir())
		if err == nil || time.Since(start) > 8*time.Second {
			t.Errorf("DetectGPU with a hanging nvidia-smi and a cancelled context = %v after %s, want a prompt error", err, time.Since(start))
		}
	})
}

// fakeGPUTools puts a fake nvidia-smi printing smiLine (logging its arguments to smi.args) and a
// fake nvcc (logging each build to builds.log; the "binary" it builds prints query) in a
// directory, and returns it and the fake nvcc's path.
func fakeGPUTools(t *testing.T, smiScript, query string) (dir, nvcc string) {
	t.Helper()
	dir = t.TempDir()
	writeScript(t, filepath.Join(dir, "bin", "nvidia-smi"), "echo \"$@\" >> '"+filepath.Join(dir, "smi.args")+"'\n"+smiScript)
	if err := os.WriteFile(filepath.Join(dir, "query.txt"), []byte(query), 0o644); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(dir, "devicequery.sh"), "cat '"+filepath.Join(dir, "query.txt")+"'\n")
	nvcc = filepath.Join(dir, "cuda", "bin", "nvcc")
	writeScript(t, nvcc, fakeNVCCVersion+`echo "$@" >> '`+filepath.Join(dir, "builds.log")+`'
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
cp '`+filepath.Join(dir, "devicequery.sh")+`' "$out" && chmod +x "$out"
`)
	t.Setenv("PATH", filepath.Join(dir, "bin")+string(os.PathListSeparator)+"/bin"+string(os.PathListSeparator)+"/usr/bin")
	t.Setenv("CUDA_VISIBLE_DEVICES", "")
	os.Unsetenv("CUDA_VISIBLE_DEVICES")
	return dir, nvcc
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func TestDetectGPUWithFakeTools(t *testing.T) {
	h200Query := readGPUFixture(t, "h200.devicequery.txt")

	t.Run("nvidia-smi only", func(t *testing.T) {
		dir, _ := fakeGPUTools(t, "echo '"+smiH200+"'\necho '"+smiA100+"'\n", h200Query)
		g, err := DetectGPU(context.Background(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		want := GPU{Name: "NVIDIA H200", Arch: "sm_90", ComputeCapability: "9.0", MaxThreadsPerBlock: 1024,
			SharedPerBlock: 48 << 10, SharedPerBlockOptin: 227 << 10, RegistersPerBlock: 65536, MaxRegistersPerThread: 255,
			MemoryClockKHz: 3201000, Present: true}
		if g != want {
			t.Errorf("DetectGPU =\n%+v\nwant\n%+v", g, want)
		}
		if s := GPUTarget(g).String(); s != "cuda: NVIDIA H200 (sm_90), 48 KiB shared/block (227 KiB opt-in)" {
			t.Errorf("String() = %q", s)
		}
		args, _ := os.ReadFile(filepath.Join(dir, "smi.args"))
		if !strings.Contains(string(args), "--query-gpu=name,compute_cap,memory.total,clocks.max.memory --format=csv,noheader") ||
			strings.Contains(string(args), "--id") {
			t.Errorf("nvidia-smi ran with %q", args)
		}
	})

	t.Run("CUDA_VISIBLE_DEVICES", func(t *testing.T) {
		dir, _ := fakeGPUTools(t, "echo '"+smiA100+"'\n", h200Query)
		t.Setenv("CUDA_VISIBLE_DEVICES", "3,1")
		g, err := DetectGPU(context.Background(), "", t.TempDir())
		if err != nil || g.Arch != "sm_80" || g.SharedPerBlockOptin != 163<<10 {
			t.Errorf("DetectGPU = %+v, %v", g, err)
		}
		args, _ := os.ReadFile(filepath.Join(dir, "smi.args"))
		if !strings.Contains(string(args), "--id=3") {
			t.Errorf("nvidia-smi ran with %q, want --id=3", args)
		}
	})

	t.Run("device query, cached", func(t *testing.T) {
		dir, nvcc := fakeGPUTools(t, "echo '"+smiH200+"'\n", h200Query)
		cache := t.TempDir()
		want, err := parseDeviceQuery(h200Query)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			g, err := DetectGPU(context.Background(), nvcc, cache)
			if err != nil {
				t.Fatalf("DetectGPU #%d: %v", i+1, err)
			}
			if g != want {
				t.Errorf("DetectGPU #%d =\n%+v\nwant\n%+v", i+1, g, want)
			}
		}
		if n := countLines(t, filepath.Join(dir, "builds.log")); n != 1 {
			t.Errorf("nvcc built the device query %d times for two detections, want once", n)
		}
		entries, err := os.ReadDir(filepath.Join(cache, "gpu"))
		if err != nil || len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "devicequery-") {
			t.Errorf("cache dir holds %v (%v), want one devicequery-<hash>", entries, err)
		}
		// Without a cache directory it builds every time and leaves nothing behind.
		if _, err := DetectGPU(context.Background(), nvcc, ""); err != nil {
			t.Fatal(err)
		}
		if n := countLines(t, filepath.Join(dir, "builds.log")); n != 2 {
			t.Errorf("builds = %d, want 2", n)
		}
	})

	t.Run("device query fails", func(t *testing.T) {
		_, nvcc := fakeGPUTools(t, "echo '"+smiH200+"'\n",
			"error=cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version (CUDA error 35)\n")
		_, err := DetectGPU(context.Background(), nvcc, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "insufficient") || !strings.Contains(err.Error(), "NVIDIA driver supports CUDA 12.4") {
			t.Errorf("DetectGPU error = %v", err)
		}
	})

	t.Run("nvcc build fails", func(t *testing.T) {
		_, _ = fakeGPUTools(t, "echo '"+smiH200+"'\n", h200Query)
		bad := filepath.Join(t.TempDir(), "nvcc")
		writeScript(t, bad, fakeNVCCVersion+"echo 'unsupported GNU version! gcc versions later than 11 are not supported!' >&2\nexit 1\n")
		_, err := DetectGPU(context.Background(), bad, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "unsupported GNU version") || !strings.Contains(err.Error(), "host compiler") {
			t.Errorf("DetectGPU error = %v", err)
		}
	})

	t.Run("legacy driver", func(t *testing.T) {
		legacy := `case "$*" in *compute_cap*) echo 'Field "compute_cap" is not a valid field to query.'; exit 2;; esac
echo 'Tesla V100-SXM2-16GB, 16160 MiB, 877 MHz'
`
		_, nvcc := fakeGPUTools(t, legacy, h200Query)
		_, err := DetectGPU(context.Background(), "", t.TempDir())
		if err == nil || errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "does not report the compute capability") {
			t.Errorf("legacy driver without nvcc: DetectGPU error = %v", err)
		}
		g, err := DetectGPU(context.Background(), nvcc, t.TempDir())
		if err != nil || g.Arch != "sm_90" { // the fake device query describes an H200
			t.Errorf("legacy driver with nvcc: DetectGPU = %+v, %v", g, err)
		}
	})

	t.Run("arch newer than the table", func(t *testing.T) {
		_, _ = fakeGPUTools(t, "echo 'NVIDIA B200, 10.0, 183359 MiB, 3996 MHz'\n", h200Query)
		g, err := DetectGPU(context.Background(), "", t.TempDir())
		if err != nil || g.Arch != "sm_100" || g.ComputeCapability != "10.0" || g.SharedPerBlockOptin != 48<<10 || g.MaxThreadsPerBlock != 1024 {
			t.Errorf("DetectGPU = %+v, %v, want sm_100 with conservative limits", g, err)
		}
	})
}

// TestGPUDeviceQueryCompilesWithNVCC builds the device-query program with the real nvcc for sm_90.
func TestGPUDeviceQueryCompilesWithNVCC(t *testing.T) {
	nvcc, version, err := FindNVCC("")
	if errors.Is(err, ErrNoNVCC) {
		t.Skipf("no nvcc: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "devicequery.cu")
	if err := os.WriteFile(src, []byte(deviceQuerySource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "devicequery")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	stdout, stderr, err := runGPUTool(ctx, 5*time.Minute, nvcc, "-arch=sm_90", "-o", out, src)
	if err != nil {
		t.Fatalf("%s (release %s) -arch=sm_90: %v\n%s%s", nvcc, version, err, stdout, stderr)
	}
	t.Logf("nvcc %s built the device query in %s", version, time.Since(start).Round(time.Millisecond))
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("nvcc wrote no executable: %v", err)
	}

	// The cached build DetectGPU uses, run for real: on a GPU machine it describes the GPU;
	// without one the CUDA runtime's own error comes back, never unparsed output.
	cache := t.TempDir()
	bin, cleanup, err := buildDeviceQuery(ctx, nvcc, version, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if filepath.Dir(bin) != filepath.Join(cache, "gpu") {
		t.Errorf("device query built at %s, want it under %s", bin, filepath.Join(cache, "gpu"))
	}
	stdout, _, runErr := runGPUTool(ctx, gpuToolTimeout, bin)
	g, err := parseDeviceQuery(stdout)
	switch {
	case err == nil && runErr == nil:
		t.Logf("device query: %s", GPUTarget(g))
	case err != nil && strings.Contains(err.Error(), "the CUDA runtime says"):
		t.Logf("device query without a usable GPU: %v", err)
	default:
		t.Errorf("device query printed %q (%v), parsed as %+v, %v", stdout, runErr, g, err)
	}
}

// FuzzGPUParsers checks that no input makes the parsers panic (the seeds run with go test).
func FuzzGPUParsers(f *testing.F) {
	for _, seed := range []string{smiH200, smiA100, "", "No devices were found", "a, b, c", ",,,", "[N/A], [N/A], [N/A]",
		"name=x\nmajor=9\nminor=99", "error=", "=", "sm_90", "9.", "compute_", "release 11.8,", "release"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseNvidiaSMI(s)
		_, _ = parseDeviceQuery(s)
		_, _ = ParseArch(s)
		_, _ = GPUForArch(s)
		_, _ = parseNVCCVersion(s)
		_, _ = visibleDevice(s, true)
		_ = GPUTarget(GPU{Name: s, Arch: s, Present: true}).String()
	})
}
