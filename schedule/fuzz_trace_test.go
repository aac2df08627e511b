package schedule_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"colt/schedule"
)

// FuzzCorruptTraces corrupts a sampled candidate's trace in up to four places (decisions,
// inputs, outputs, kinds, counts, categorical values, names) and hands it to every entry point
// that takes a trace. None may panic, and none may answer with the guard's error: a corrupt
// trace must be rejected by a check, so a guarded panic here is a bug to fix at its root.
func FuzzCorruptTraces(f *testing.F) {
	for i := 0; i < 40; i++ {
		f.Add(uint64(i), uint8(i))
	}
	// Decisions, counts and literals a broken trace file or LLM answer may hold.
	hostileInts := []int{0, -1, -2, 1, 2, 3, 7, 8, 64, 1 << 31, 1<<61 + 1, 1 << 62, -1 << 63, 1<<63 - 1}
	// Instruction inputs: handles of every kind, defined or not, and literals up to the int
	// limits.
	hostileNames := []string{"b0", "b1", "l1", "l2", "l5", "v3", "r2", "0", "3", "-1", "64",
		"2305843009213693953", "9223372036854775807", "-9223372036854775808"}
	kinds := []string{
		schedule.KindGetBlock, schedule.KindGetLoops, schedule.KindGetProducers, schedule.KindGetConsumers,
		schedule.KindSplit, schedule.KindFuse, schedule.KindReorder, schedule.KindParallel, schedule.KindVectorize,
		schedule.KindUnroll, schedule.KindBind, schedule.KindAnnotate, schedule.KindCacheRead, schedule.KindCacheWrite,
		schedule.KindComputeAt, schedule.KindReverseComputeAt, schedule.KindComputeInline,
		schedule.KindReverseComputeInline, schedule.KindDecomposeReduction, schedule.KindRFactor, schedule.KindSamplePerfectTile,
		schedule.KindSampleCategorical, schedule.KindSampleComputeLocation, "Teleport",
	}
	attrNames := []string{"root", "C", "T", "global", "local", "shared", "threadIdx.x", "",
		schedule.AnnParallel, schedule.AnnUnroll, schedule.AnnVectorize, schedule.AnnAutoUnrollStep}
	f.Fuzz(func(t *testing.T, seed uint64, pick uint8) {
		progs := fuzzPrograms()
		prog := progs[int(pick)%len(progs)]
		rng := rand.New(rand.NewPCG(seed, 7))
		opt := schedule.DefaultSpaceOptions(2)
		sketches, err := schedule.DesignSpace(prog, opt)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := schedule.SampleCandidate(prog, sketches[rng.IntN(len(sketches))].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		bad := tr.Copy()
		for k := 0; k < 1+rng.IntN(4); k++ {
			in := &bad.Insts[rng.IntN(len(bad.Insts))]
			switch rng.IntN(9) {
			case 0:
				if len(in.Decision) > 0 {
					in.Decision[rng.IntN(len(in.Decision))] = hostileInts[rng.IntN(len(hostileInts))]
				}
			case 1:
				in.Decision = in.Decision[:rng.IntN(len(in.Decision)+1)]
			case 2:
				if len(in.Inputs) > 0 {
					in.Inputs[rng.IntN(len(in.Inputs))] = hostileNames[rng.IntN(len(hostileNames))]
				}
			case 3:
				in.Inputs = append(in.Inputs, hostileNames[rng.IntN(len(hostileNames))])
			case 4:
				in.Outputs = append(in.Outputs, fmt.Sprintf("v%d", 900+rng.IntN(3)))
			case 5:
				in.Kind = kinds[rng.IntN(len(kinds))]
			case 6:
				in.N = hostileInts[rng.IntN(len(hostileInts))]
				in.Max = hostileInts[rng.IntN(len(hostileInts))]
			case 7:
				in.Values = append(in.Values, hostileInts[rng.IntN(len(hostileInts))])
				in.Probs = append(in.Probs, 0.5)
			default:
				in.Name = attrNames[rng.IntN(len(attrNames))]
			}
		}
		_ = bad.String()
		type call struct {
			name string
			run  func() error
		}
		calls := []call{
			{"Replay", func() error { _, _, err := schedule.Replay(prog, bad, rng); return err }},
			{"SampleCandidate", func() error { _, err := schedule.SampleCandidate(prog, bad, rng); return err }},
			{"Mutate", func() error { _, _, err := schedule.Mutate(prog, bad, opt, rng); return err }},
			{"Build", func() error {
				p, err := schedule.Build(prog, bad, opt)
				if err == nil {
					if verr := schedule.Verify(p); verr != nil {
						t.Fatalf("Build passed a program the verifier rejects: %v", verr)
					}
				}
				return err
			}},
		}
		for _, m := range schedule.Mutators() {
			calls = append(calls, call{"Apply " + m.Name, func() error { _, err := m.Apply(prog, bad, opt, rng); return err }})
		}
		for _, c := range calls {
			if err := c.run(); errors.Is(err, schedule.ErrInternalForTest) {
				t.Fatalf("%s of a corrupt trace reached a panic: %v\ntrace:\n%s", c.name, err, bad)
			}
		}
	})
}
