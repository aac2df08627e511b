package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// SpaceOptions describes the target to the design-space rules and postprocessors: a CPU, or
// an NVIDIA GPU when GPU is set.
type SpaceOptions struct {
	// Cores is the number of cores; parallel loops are fused up to Cores×16 iterations.
	Cores int
	// VectorLanes is the longest loop the postprocessor vectorizes (TVM's 64).
	VectorLanes int
	// MaxInnermostFactor bounds the innermost tile of every multi-level tiling (TVM's 64).
	MaxInnermostFactor int
	// UnrollSteps are the auto-unroll steps sampled for the root block (TVM's 0, 16, 64, 512).
	UnrollSteps []int
	// SIMDLanes is the number of float32 lanes of one CPU vector register (16 for AVX-512);
	// when set, each tiled block also gets a sketch with a vector micro-kernel of that width.
	// 0: no micro-kernel sketches (TVM's space).
	SIMDLanes int
	// GPU, when set, makes the target a CUDA GPU with these limits: the GPU design space,
	// postprocessors, verifier and mutators apply instead of the CPU's.
	GPU *GPUSpace
}

// DefaultSpaceOptions is TVM MetaSchedule's CPU configuration for a machine with the given
// number of cores.
func DefaultSpaceOptions(cores int) SpaceOptions {
	return SpaceOptions{Cores: max(cores, 1), VectorLanes: 64, MaxInnermostFactor: 64, UnrollSteps: []int{0, 16, 64, 512}}
}

// Sketch is one design of a program's space: a trace whose sampling instructions may be
// re-sampled freely. Name says in a few words what the design does.
type Sketch struct {
	Name  string
	Trace *Trace
}

// SampleCandidate draws a random candidate from a sketch: its trace replayed on f with every
// decision drawn afresh from rng. The result is a fully decided trace for Build; on an error it
// is nil.
func SampleCandidate(f *Func, sketch *Trace, rng *rand.Rand) (_ *Trace, err error) {
	defer guardInput("SampleCandidate", &err)
	if err := checkInputs(f, sketch); err != nil {
		return nil, fmt.Errorf("sample a candidate: %w", err)
	}
	if rng == nil {
		return nil, errors.New("sample a candidate: no random source (nil *rand.Rand)")
	}
	t := sketch.Copy()
	for i := range t.Insts {
		if t.Insts[i].IsSampling() {
			t.Insts[i].Decision = nil
		}
	}
	s, _, err := Replay(f, t, rng)
	if err != nil {
		return nil, fmt.Errorf("sample a candidate: %w", err)
	}
	return s.Trace(), nil
}

// Build turns a decided trace into the program to compile: replay on f, the postprocessors,
// then the verifier. Any failure means the candidate is invalid; the error says why, and the
// program is nil.
func Build(f *Func, t *Trace, opt SpaceOptions) (_ *Func, err error) {
	defer guardInput("Build", &err)
	s, _, err := Replay(f, t, nil)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := Postprocess(s, opt); err != nil {
		return nil, fmt.Errorf("postprocess: %w", err)
	}
	if err := Verify(s.Func()); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return s.Func(), nil
}
