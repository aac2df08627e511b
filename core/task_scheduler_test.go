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
