package core

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"colt/backend"
)

// The values of the target setting (colt.toml's target, --target).
const (
	TargetAuto = "auto" // the GPU when an NVIDIA GPU and nvcc are present, else the CPU
	TargetCPU  = backend.KindCPU
	TargetCUDA = backend.KindCUDA
)

// TargetKinds lists the accepted target settings.
func TargetKinds() []string { return []string{TargetAuto, TargetCPU, TargetCUDA} }

// ResolveTarget detects the machine the configuration's target names. "cuda" needs an NVIDIA
// GPU (and, unless compileOnly, nvcc); "auto" takes the GPU when both are there and the CPU
// otherwise. With compileOnly (show, export) and backend.cuda_arch set, a machine without a
// GPU gets a description of that arch, enough to lower and compile CUDA. backend.cuda_arch
// overrides the detected arch when building. Every failure is an InputError whose one line
// says what is missing and what to do.
func ResolveTarget(cfg Config, compileOnly bool) (backend.Target, error) {
	kind := cfg.Target
	if kind == "" {
		kind = TargetAuto
	}
	if kind == TargetCPU {
		return backend.DetectCPU(), nil
	}
	arch := ""
	if cfg.Backend.CUDAArch != "" {
		a, err := backend.ParseArch(cfg.Backend.CUDAArch)
		if err != nil {
			return backend.Target{}, inputErrorf("%w", err)
		}
		arch = a
	}
	nvcc, _, nerr := backend.FindNVCC(cfg.Backend.NVCC)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	gpuPath := nvcc
	if nerr != nil {
		gpuPath = ""
	}
	gpu, gerr := backend.DetectGPU(ctx, gpuPath, filepath.Join(cfg.WorkDir, "cache"))
	if kind == TargetAuto {
		if nerr != nil || gerr != nil {
			return backend.DetectCPU(), nil
		}
		kind = TargetCUDA
	}
	switch {
	case gerr != nil && compileOnly && arch != "":
		g, err := backend.GPUForArch(arch)
		if err != nil {
			return backend.Target{}, inputErrorf("%w", err)
		}
		return backend.GPUTarget(g), nil
	case gerr != nil && errors.Is(gerr, backend.ErrNoGPU) && compileOnly:
		return backend.Target{}, inputErrorf("%v (with --arch sm_XX, colt show and export compile for that arch without a GPU)", gerr)
	case gerr != nil:
		return backend.Target{}, inputErrorf("%v", gerr)
	case nerr != nil && !compileOnly:
		return backend.Target{}, inputErrorf("%v", nerr)
	}
	if arch != "" {
		gpu.Arch = arch
	}
	return backend.GPUTarget(gpu), nil
}

// ParseArch checks a CUDA arch name ("sm_90", "90", "9.0") and returns its canonical form.
func ParseArch(s string) (string, error) { return backend.ParseArch(s) }
