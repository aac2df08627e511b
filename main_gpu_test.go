package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGPUTargetOnAMachineWithoutAGPU: tuning for cuda without a GPU is one line and exit 2;
// show compiles-only CUDA for a named arch; a bad arch or target is a one-line usage error.
func TestGPUTargetOnAMachineWithoutAGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("this machine has nvidia-smi; the no-GPU behaviour is checked elsewhere")
	}
	dir := t.TempDir()
	cases := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"tune cuda", []string{"tune", "--workload", "llama3-8b-attn", "--target", "cuda", "--headless", "--work-dir", dir}, 2, "no NVIDIA GPU found"},
		{"unknown arch", []string{"show", "--workload", "llama3-8b-attn", "--arch", "sm_42", "--emit", "cuda", "--work-dir", dir}, 2, `unknown CUDA arch "sm_42"`},
		{"unknown target", []string{"show", "--workload", "llama3-8b-attn", "--target", "tpu", "--work-dir", dir}, 2, `unknown --target "tpu"`},
		{"cuda without arch", []string{"show", "--workload", "llama3-8b-attn", "--emit", "cuda", "--work-dir", dir}, 2, "--arch sm_XX"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := cli(t, c.args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != c.code || len(lines) != 1 || !strings.Contains(errOut, c.contains) {
				t.Errorf("exit %d, stderr %q; want exit %d and one line containing %q", code, errOut, c.code, c.contains)
			}
		})
	}
	code, out, errOut := cli(t, "show", "--workload", "llama3-8b-attn", "--target", "cuda", "--arch", "sm_90", "--emit", "cuda", "--work-dir", dir)
	if code != 0 || !strings.Contains(out, "__global__ void") || !strings.Contains(out, "__syncthreads();") || !strings.Contains(out, "void llama3_8b_attn(") {
		t.Errorf("show --emit cuda: exit %d, stderr %q; want the kernels and the launcher", code, errOut)
	}
}
