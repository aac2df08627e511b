package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"colt/backend"
	"colt/schedule"
)

// TestExportCUDA exports a GPU record (its trace, measured on an sm_90 GPU): kernel.cu carries
// the header and the kernels, main.cu the harness, and main.cu compiles with nvcc.
func TestExportCUDA(t *testing.T) {
	w := ttWorkload(t)
	gpu, err := backend.GPUForArch("sm_90")
	if err != nil {
		t.Fatal(err)
	}
	target := backend.GPUTarget(gpu)
	space := SpaceOptionsFor(target)
	f := w.Tasks[0].Func()
	sk, err := schedule.DesignSpace(f, space)
	if err != nil {
		t.Fatal(err)
	}
	g, err := schedule.Build(f, sk[0].Trace, space)
	if err != nil {
		t.Fatal(err)
	}
	traceJSON, err := sk[0].Trace.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec := Record{Workload: w.Name, WorkloadHash: schedule.StructuralHash(f), Target: target.String(),
		CandidateHash: schedule.StructuralHash(g), Trace: traceJSON, Status: StatusOK, LatencyS: 2e-5,
		LatenciesS: []float64{2e-5}, Strategy: "random", Sample: 1}
	if err := store.Append(rec); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	res, err := Export(ExportOptions{Workload: w, Store: store, Target: target, Compiler: "nvcc", CFlags: []string{"-O3", "-arch=sm_90"}, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 4 {
		t.Errorf("wrote %v, want kernel.cu, trace.json, program.tir and main.cu", res.Files)
	}
	kernel, _ := os.ReadFile(filepath.Join(out, ExportCUDAKernelFile))
	for _, want := range []string{`workload "tt16"`, "target:    cuda: sm_90", "-arch=sm_90", "__global__ void", "void tt16("} {
		if !strings.Contains(string(kernel), want) {
			t.Errorf("kernel.cu lacks %q", want)
		}
	}
	nvcc, _, err := backend.FindNVCC("")
	if err != nil {
		t.Skipf("files checked; not compiled: %v", err)
	}
	cmd := exec.Command(nvcc, "-O3", "-arch=sm_90", "-o", filepath.Join(out, "kernel"), "main.cu")
	cmd.Dir = out
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("nvcc main.cu: %v\n%s", err, msg)
	}
}
