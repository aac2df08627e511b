package core

import (
	"context"
	"math/rand/v2"
	"testing"

	"colt/backend"
	"colt/schedule"
	"colt/scoring"
)

// TestStrategiesProposeGPUCandidates: every strategy of the table, on a GPU target's design
// space, proposes candidates that build as GPU programs (verified against the GPU's limits),
// with the sim models using the GPU vocabulary.
func TestStrategiesProposeGPUCandidates(t *testing.T) {
	gpu, err := backend.GPUForArch("sm_90")
	if err != nil {
		t.Fatal(err)
	}
	target := backend.GPUTarget(gpu)
	space := SpaceOptionsFor(target)
	if space.GPU == nil {
		t.Fatal("no GPU space for a cuda target")
	}
	w := ttWorkload(t)
	f := w.Tasks[0].Func()
	sketches, err := schedule.DesignSpace(f, space)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range StrategyNames() {
		t.Run(name, func(t *testing.T) {
			model := scoring.New(scoring.DefaultOptions(HardwareFor(target)))
			strat, err := NewStrategy(name, DefaultConfig(), NewCostModelScorer(model, w.Name), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			p := NewProblem(w.Name, f, w.Tasks[0].FLOPs, sketches, space, rand.New(rand.NewPCG(4, 4)), nil)
			ctx := context.Background()
			if err := strat.Init(ctx, p, nil); err != nil {
				t.Fatal(err)
			}
			cands, err := strat.Propose(ctx, 6)
			if err != nil {
				t.Fatal(err)
			}
			valid := 0
			for _, c := range cands {
				if !c.Valid() {
					continue
				}
				valid++
				g, err := schedule.Build(f, c.Trace, space)
				if err != nil {
					t.Errorf("candidate %s does not build: %v", c.Hash, err)
					continue
				}
				if err := schedule.VerifyGPU(g, *space.GPU); err != nil {
					t.Errorf("candidate %s: %v", c.Hash, err)
				}
			}
			if valid == 0 {
				t.Errorf("%d candidates, none valid", len(cands))
			}
		})
	}
}
