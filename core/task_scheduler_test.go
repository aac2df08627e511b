package core

import "testing"

// TestGradientRule: the allocation rule's choices, as a specification.
func TestGradientRule(t *testing.T) {
	g := defaultGradientRule()
	steady := []float64{10, 8, 6.5, 5, 4} // still improving every round
	flat := []float64{10, 5, 5, 5, 5}     // stopped improving
	cases := []struct {
		name  string
		tasks []taskProgress
		done  []bool
		want  int
	}{
		{"warm-up: a task without a round goes first", []taskProgress{
			{Name: "a", Weight: 32, Rounds: steady, Samples: 80}, {Name: "b", Weight: 1}}, nil, 1},
		{"a heavy task that keeps improving beats a light one", []taskProgress{
			{Name: "light", Weight: 1, Rounds: steady, Samples: 80, FLOPs: 1e9},
			{Name: "heavy", Weight: 32, Rounds: steady, Samples: 80, FLOPs: 1e9}}, nil, 1},
		{"a task that stopped improving gets fewer samples", []taskProgress{
			{Name: "flat", Weight: 4, Rounds: flat, Samples: 80, FLOPs: 1e9, Group: "mm"},
			{Name: "steady", Weight: 4, Rounds: steady, Samples: 80, FLOPs: 1e9, Group: "mm"}}, nil, 1},
		{"a task far below what a similar task reached catches up", []taskProgress{
			{Name: "behind", Weight: 4, Rounds: flat, Samples: 80, FLOPs: 4e9, Group: "mm"},                     // 0.8 GFLOP/s
			{Name: "ahead", Weight: 4, Rounds: []float64{1, 1, 1, 1, 1}, Samples: 80, FLOPs: 4e9, Group: "mm"}}, // 4 GFLOP/s
			nil, 0},
		{"done tasks are skipped", []taskProgress{
			{Name: "a", Weight: 32, Rounds: steady, Samples: 80}, {Name: "b", Weight: 1, Rounds: flat, Samples: 80}},
			[]bool{true, false}, 1},
		{"nothing left", []taskProgress{{Name: "a", Weight: 1, Rounds: flat, Samples: 80}}, []bool{true}, -1},
	}
	for _, tc := range cases {
		done := tc.done
		if done == nil {
			done = make([]bool, len(tc.tasks))
		}
		if got := g.next(tc.tasks, done); got != tc.want {
			t.Errorf("%s: next = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestGradientRuleAllocation plays the rule over 40 rounds of 8 samples against simulated
// tasks whose best latency falls with their samples (from 10 toward 1), or stops falling, and
// compares the samples they got.
func TestGradientRuleAllocation(t *testing.T) {
	improving := func(n int) float64 { return 1 + 9/(1+float64(n)/40) }
	stallsAfter := func(k int) func(int) float64 { return func(n int) float64 { return improving(min(n, k)) } }
	type task struct {
		weight  int
		group   string
		latency func(samples int) float64
	}
	cases := []struct {
		name        string
		tasks       []task
		more, fewer int // tasks[more] gets more samples than tasks[fewer]
	}{
		{"the heavier of two improving tasks gets more", []task{{1, "mm", improving}, {8, "mm", improving}}, 1, 0},
		{"a task that stopped improving after its warm-up gets fewer than its twin", []task{{4, "mm", stallsAfter(8)}, {4, "mm", improving}}, 1, 0},
		{"so does one that stopped later", []task{{4, "mm", stallsAfter(40)}, {4, "mm", improving}}, 1, 0},
		{"and one of another kind of program", []task{{4, "norm", stallsAfter(16)}, {4, "mm", improving}}, 1, 0},
	}
	for _, tc := range cases {
		var tasks []taskProgress
		for _, tk := range tc.tasks {
			tasks = append(tasks, taskProgress{Weight: tk.weight, Group: tk.group, FLOPs: 1e9})
		}
		done := make([]bool, len(tasks))
		g := defaultGradientRule()
		for range 40 {
			i := g.next(tasks, done)
			tasks[i].Samples += 8
			tasks[i].Rounds = append(tasks[i].Rounds, tc.tasks[i].latency(tasks[i].Samples))
		}
		if tasks[tc.more].Samples <= tasks[tc.fewer].Samples {
			t.Errorf("%s: task %d got %d samples, task %d got %d", tc.name, tc.more, tasks[tc.more].Samples, tc.fewer, tasks[tc.fewer].Samples)
		}
	}
}
