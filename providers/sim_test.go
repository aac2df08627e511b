package providers

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// simStats are global statistics for the default sim models.
func simStats(smallCalls int, smallHit float64) []ModelStat {
	return []ModelStat{
		{Name: "sim-300b", ParamsB: 300, Calls: 5, HitRate: 0.5},
		{Name: "sim-3b", ParamsB: 3, Calls: smallCalls, HitRate: smallHit},
		{Name: "sim-20b", ParamsB: 20, Calls: 5, HitRate: 0.4},
	}
}

// simRequest is an expansion for sim models with a synthetic cost model: each TileSize adds 1,
// Parallel 0.5, Unroll -0.3, ComputeLocation -1; a sequence with two ComputeLocation does not
// apply.
func simRequest(r *rand.Rand) Request {
	req := paperRequest()
	req.Context.ModelStats = simStats(5, 0.4)
	req.Models = []string{"sim-3b", "sim-20b", "sim-300b"}
	req.Transformations = []string{"TileSize", "Parallel", "Unroll", "ComputeLocation"}
	req.Rand = r
	req.Evaluate = synthScore
	return req
}

// synthScore is the synthetic cost model of simRequest.
func synthScore(seq []string) (float64, bool) {
	w := map[string]float64{"TileSize": 1, "Parallel": 0.5, "Unroll": -0.3, "ComputeLocation": -1}
	s, cl := 0.0, 0
	for _, name := range seq {
		s += w[name]
		if name == "ComputeLocation" {
			cl++
		}
	}
	return s, cl < 2
}

// newSim makes a sim provider.
func newSim(t *testing.T, name string, params float64) Provider {
	t.Helper()
	p, err := New(ModelConfig{Name: name, Kind: KindSim, ParamsB: params}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestSimDeterministic(t *testing.T) {
	p := newSim(t, "sim-20b", 20)
	run := func(seed uint64) []Response {
		r := rand.New(rand.NewPCG(seed, 7))
		var out []Response
		for range 50 {
			resp, err := p.Propose(context.Background(), simRequest(r))
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			out = append(out, resp)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	same := func(x, y []Response) bool {
		for i := range x {
			if !slices.Equal(x[i].Transformations, y[i].Transformations) || x[i].NextModel != y[i].NextModel ||
				x[i].InvalidNextModel != y[i].InvalidNextModel || x[i].Raw != y[i].Raw {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed gave different proposals")
	}
	if same(a, c) {
		t.Error("different seeds gave the same 50 proposals")
	}
}

func TestSimLargerIsBetter(t *testing.T) {
	const draws = 2000
	mean := func(name string, params float64) float64 {
		p := newSim(t, name, params)
		r := rand.New(rand.NewPCG(42, 1))
		sum := 0.0
		for range draws {
			resp, err := p.Propose(context.Background(), simRequest(r))
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			s, ok := synthScore(resp.Transformations)
			if !ok {
				s = -2 // what a failed expansion is worth here
			}
			sum += s
		}
		return sum / draws
	}
	m1, m8, m300 := mean("sim-1b", 1), mean("sim-8b", 8), mean("sim-300b", 300)
	t.Logf("mean synthetic score: 1B %.3f, 8B %.3f, 300B %.3f", m1, m8, m300)
	if !(m8 > m1+0.3 && m300 > m8+0.3) {
		t.Errorf("mean scores 1B %.3f, 8B %.3f, 300B %.3f; want each larger model better by > 0.3", m1, m8, m300)
	}
}

func TestSimNamesAndAccounting(t *testing.T) {
	const draws = 2000
	invalidRate := func(name string, params float64) float64 {
		p := newSim(t, name, params)
		if !p.Simulated() {
			t.Error("Simulated() = false for a sim model")
		}
		r := rand.New(rand.NewPCG(9, 9))
		invalid := 0
		for range draws {
			req := simRequest(r)
			resp, err := p.Propose(context.Background(), req)
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			if len(resp.Transformations) == 0 || resp.InvalidTransformations != 0 {
				t.Fatalf("proposal %q with %d invalid transformations, want 1 or more valid ones", resp.Transformations, resp.InvalidTransformations)
			}
			for _, name := range resp.Transformations {
				if !slices.Contains(req.Transformations, name) {
					t.Fatalf("transformation %q is not in the vocabulary", name)
				}
			}
			if resp.InvalidNextModel {
				invalid++
				if resp.NextModel != "" {
					t.Fatalf("invalid next model with NextModel %q", resp.NextModel)
				}
			} else if !slices.Contains(req.Models, resp.NextModel) {
				t.Fatalf("next model %q is not allowed", resp.NextModel)
			}
			if resp.PromptTokens <= 0 || resp.CompletionTokens <= 0 || resp.CostUSD != 0 {
				t.Fatalf("tokens %d/%d cost %g, want estimated tokens and no cost", resp.PromptTokens, resp.CompletionTokens, resp.CostUSD)
			}
		}
		return float64(invalid) / draws
	}
	small, large := invalidRate("sim-1b", 1), invalidRate("sim-300b", 300)
	t.Logf("invalid next-model rate: 1B %.3f, 300B %.3f", small, large)
	if !(small > 0.03 && small < 0.1 && large < small) {
		t.Errorf("invalid next-model rates 1B %.3f, 300B %.3f; want about 0.06 and less", small, large)
	}
}

func TestSimNextModelPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stats []ModelStat
		want  string // the most frequent choice
	}{
		{"small model doing fine", simStats(10, 0.4), "sim-3b"},
		{"small model new", simStats(1, 0), "sim-3b"},
		{"small model's hit rate poor", simStats(10, 0.1), "sim-20b"},
		{"every hit rate low, the small model's a little lower", []ModelStat{
			{Name: "sim-300b", ParamsB: 300, Calls: 40, HitRate: 0.25},
			{Name: "sim-3b", ParamsB: 3, Calls: 12, HitRate: 0.17},
			{Name: "sim-20b", ParamsB: 20, Calls: 9, HitRate: 0.22},
		}, "sim-3b"},
		{"every model poor", []ModelStat{
			{Name: "sim-3b", ParamsB: 3, Calls: 10, HitRate: 0.1},
			{Name: "sim-20b", ParamsB: 20, Calls: 10, HitRate: 0.3, Errors: 6},
			{Name: "sim-300b", ParamsB: 300, Calls: 10, HitRate: 0.1},
		}, "sim-300b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSim(t, "sim-20b", 20)
			r := rand.New(rand.NewPCG(3, 3))
			counts := map[string]int{}
			for range 1000 {
				req := simRequest(r)
				req.Context.ModelStats = tc.stats
				resp, err := p.Propose(context.Background(), req)
				if err != nil {
					t.Fatalf("Propose: %v", err)
				}
				counts[resp.NextModel]++
			}
			best := ""
			for name, n := range counts {
				if name != "" && (best == "" || n > counts[best]) {
					best = name
				}
			}
			if best != tc.want || counts[best] < 600 {
				t.Errorf("choices %v, want mostly %s", counts, tc.want)
			}
		})
	}
}

func TestSimEdges(t *testing.T) {
	p := newSim(t, "sim-3b", 3)
	req := simRequest(nil)
	if _, err := p.Propose(context.Background(), req); err == nil {
		t.Error("Propose without Rand succeeded, want an error")
	}
	req.Rand = rand.New(rand.NewPCG(1, 1))
	req.Evaluate = nil
	resp, err := p.Propose(context.Background(), req)
	if err != nil || len(resp.Transformations) == 0 {
		t.Errorf("Propose without Evaluate = %+v, %v; want a random sequence", resp, err)
	}
	req.Evaluate = func([]string) (float64, bool) { return 0, false }
	if resp, err := p.Propose(context.Background(), req); err != nil || len(resp.Transformations) == 0 {
		t.Errorf("Propose when nothing applies = %+v, %v; want a sequence anyway", resp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Propose(ctx, req); err == nil {
		t.Error("Propose with a cancelled context succeeded")
	}
}

func TestSimSizePolicy(t *testing.T) {
	for _, tc := range []struct {
		params     float64
		k, horizon int
	}{
		{0.5, 2, 2}, {1, 2, 2}, {8, 6, 3}, {20, 7, 3}, {70, 9, 3}, {300, 12, 4}, {1000, 12, 4},
	} {
		s := &simProvider{cfg: ModelConfig{ParamsB: tc.params}}
		if s.candidates() != tc.k || s.horizon() != tc.horizon {
			t.Errorf("%gB: K %d, horizon %d; want %d, %d", tc.params, s.candidates(), s.horizon(), tc.k, tc.horizon)
		}
	}
}
