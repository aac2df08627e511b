package backend

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"colt/schedule"
	"colt/workloads"
)

// TestPackedAndUnpackedGiveTheSameResult draws candidates whose weights are packed in panels
// and checks, for each, that the program without the packing (the same trace less its
// pack_panels instructions) computes the same outputs (bit for bit for pure matmuls, where
// nothing but the addresses differ) and that the packed program matches the IR interpreter;
// the packed kernel's C ships its packing function.
func TestPackedAndUnpackedGiveTheSameResult(t *testing.T) {
	b := newTestBackend(t, nil)
	rng := rand.New(rand.NewPCG(7, 8))
	opt := schedule.DefaultSpaceOptions(2)
	opt.SIMDLanes = 8
	bitwise := map[string]bool{"deepseek-r1-moe": true, "llama4-scout-mlp": false}
	for _, w := range workloads.BuiltinSmall(16) {
		exact, ok := bitwise[w.Name]
		if !ok {
			continue
		}
		f := w.Tasks[0].Func()
		var sketches []schedule.Sketch
		for _, sk := range microSketches(t, f, opt) {
			if strings.Contains(sk.Name, "packed") {
				sketches = append(sketches, sk)
			}
		}
		if len(sketches) == 0 {
			t.Fatalf("%s: no sketch packs a weight", w.Name)
		}
		checked := 0
		for attempt := 0; attempt < 20 && checked < 3; attempt++ {
			sk := sketches[rng.IntN(len(sketches))]
			tr, err := schedule.SampleCandidate(f, sk.Trace, rng)
			if err != nil {
				t.Fatal(err)
			}
			packed, err := schedule.Build(f, tr, opt)
			if err != nil {
				continue // e.g. too many accumulators for this draw
			}
			plain := tr.Copy()
			plain.Insts = slices.DeleteFunc(plain.Insts, func(in schedule.Inst) bool { return in.Kind == schedule.KindPackPanels })
			unpacked, err := schedule.Build(f, plain, opt)
			if err != nil {
				t.Fatalf("%s without packing: %v", w.Name, err)
			}
			if len(packed.Packings) == 0 || len(unpacked.Packings) != 0 {
				t.Fatalf("%s: %d packings with, %d without", w.Name, len(packed.Packings), len(unpacked.Packings))
			}
			src, err := LowerC(packed, LowerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(src, PackFunctionName(packed, packed.Packings[0])+"(const float* restrict src") {
				t.Errorf("no packing function in the C:\n%s", src)
			}
			if exact {
				got := runOutputs(t, b, packed, schedule.Float32)
				want := runOutputs(t, b, unpacked, schedule.Float32)
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("%s: packed and unpacked outputs differ\n%s", w.Name, tr)
					}
				}
			}
			checkProgram(t, b, packed, f)
			checked++
		}
		if checked < 3 {
			t.Errorf("%s: checked %d packed candidates, want 3", w.Name, checked)
		}
	}
}
