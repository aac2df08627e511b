package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// callSafely runs fn and fails the test if it panics: with the input guard in place no entry
// point may let a panic out.
func callSafely(t *testing.T, what string, fn func() error) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s panicked: %v", what, r)
			}
		}()
		err = fn()
	}()
	return err
}

// splitTrace gets block C of matmulFunc and splits its loop number loop (0 = i, 2 = k) by the
// given factors, which are literal inputs.
func splitTrace(loop int, factors ...string) *Trace {
	l := []string{"l1", "l2", "l3"}[loop]
	return &Trace{Insts: []Inst{
		{Kind: KindGetBlock, Name: "C", Outputs: []string{"b0"}},
		{Kind: KindGetLoops, Inputs: []string{"b0"}, Outputs: []string{"l1", "l2", "l3"}},
		{Kind: KindSplit, Inputs: append([]string{l}, factors...), Outputs: []string{"l4", "l5"}},
	}}
}

// nilLoopVarFunc is matmulFunc whose innermost loop has lost its variable: a corrupt program
// that the replay of a split of that loop really panics on (Split names the new loops after
// the old one's variable).
func nilLoopVarFunc() *Func {
	f := matmulFunc(8, 8, 8, false)
	WalkStmt(f.Root.Body, func(s Stmt) bool {
		if l, ok := s.(*Loop); ok {
			if _, ok := l.Body.(*Block); ok {
				l.Var = nil
			}
		}
		return true
	})
	return f
}

func TestGuardInputTurnsAPanicIntoAnError(t *testing.T) {
	run := func(fn func()) (err error) {
		defer guardInput("Build", &err)
		fn()
		return errors.New("returned normally")
	}
	err := run(func() {
		var xs []int
		_ = xs[3]
	})
	if err == nil || !errors.Is(err, errInternal) {
		t.Fatalf("a panic gave error %v, want one wrapping errInternal", err)
	}
	for _, want := range []string{"schedule.Build", "guard_test.go:", "index out of range", "rejected as invalid"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := run(func() { panic("boom") }); err == nil || !strings.Contains(err.Error(), "(boom)") {
		t.Errorf("an explicit panic gave %v, want its value in the error", err)
	}
	if err := run(func() {}); err == nil || err.Error() != "returned normally" || errors.Is(err, errInternal) {
		t.Errorf("without a panic the guard changed the error to %v", err)
	}
}

// TestGuardCatchesARealPanic replays a split of a loop without a variable: Split panics deep
// inside the package, and every entry point on the way must hand back the guard's error with
// zero results. (If that path is ever fixed at its root, pick another real one.)
func TestGuardCatchesARealPanic(t *testing.T) {
	f := nilLoopVarFunc()
	tr := splitTrace(2, "2", "4")
	opt := DefaultSpaceOptions(2)
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		call func() (any, error)
		want string
	}{
		{"Replay", func() (any, error) { s, _, err := Replay(f, tr, nil); return s, err }, "schedule.Replay at prim_loops.go"},
		{"Build", func() (any, error) { return Build(f, tr, opt) }, "schedule.Replay at prim_loops.go"},
		{"SampleCandidate", func() (any, error) { return SampleCandidate(f, tr, rng) }, "schedule.Replay at prim_loops.go"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out any
			err := callSafely(t, tc.name, func() (err error) { out, err = tc.call(); return err })
			if !errors.Is(err, errInternal) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want the guard's error from %s", err, tc.want)
			}
			switch out := out.(type) {
			case *Schedule:
				if out != nil {
					t.Fatal("a schedule came back with the error")
				}
			case *Func:
				if out != nil {
					t.Fatal("a program came back with the error")
				}
			case *Trace:
				if out != nil {
					t.Fatal("a trace came back with the error")
				}
			}
		})
	}
}

// TestEntryPointsRejectBadInput feeds every guarded entry point inputs that can come from a
// trace file or an LLM answer and could once panic: each must return an error, and zero
// results with it.
func TestEntryPointsRejectBadInput(t *testing.T) {
	f := matmulFunc(8, 8, 8, false)
	opt := DefaultSpaceOptions(2)
	rng := rand.New(rand.NewPCG(5, 6))
	good := splitTrace(0, "2", "4")
	tile, _ := MutatorByName(MutTileSize)
	inst := func(in ...Inst) *Trace { return &Trace{Insts: in} }
	getC := Inst{Kind: KindGetBlock, Name: "C", Outputs: []string{"b0"}}
	loopsC := Inst{Kind: KindGetLoops, Inputs: []string{"b0"}, Outputs: []string{"l1", "l2", "l3"}}
	replay := func(f *Func, tr *Trace) func() error {
		return func() error {
			s, res, err := Replay(f, tr, nil)
			if err != nil && (s != nil || res != (ReplayResult{})) {
				t.Errorf("Replay returned a schedule or counts with error %v", err)
			}
			return err
		}
	}
	build := func(f *Func, tr *Trace) func() error {
		return func() error {
			p, err := Build(f, tr, opt)
			if err != nil && p != nil {
				t.Errorf("Build returned a program with error %v", err)
			}
			return err
		}
	}
	apply := func(m Mutator, f *Func, tr *Trace, rng *rand.Rand) func() error {
		return func() error {
			out, err := m.Apply(f, tr, opt, rng)
			if err != nil && out != nil {
				t.Errorf("Apply returned a trace with error %v", err)
			}
			return err
		}
	}
	mutate := func(f *Func, tr *Trace, rng *rand.Rand) func() error {
		return func() error {
			out, name, err := Mutate(f, tr, opt, rng)
			if err != nil && (out != nil || name != "") {
				t.Errorf("Mutate returned a trace or name with error %v", err)
			}
			return err
		}
	}
	sample := func(f *Func, tr *Trace, rng *rand.Rand) func() error {
		return func() error {
			out, err := SampleCandidate(f, tr, rng)
			if err != nil && out != nil {
				t.Errorf("SampleCandidate returned a trace with error %v", err)
			}
			return err
		}
	}
	parse := func(data string) func() error {
		return func() error {
			out, err := ParseTrace([]byte(data))
			if err != nil && out != nil {
				t.Errorf("ParseTrace returned a trace with error %v", err)
			}
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		// Replay
		{"replay nil func", replay(nil, good), "no program"},
		{"replay func without root", replay(&Func{Name: "empty"}, good), "program empty has no root block"},
		{"replay nil trace", replay(f, nil), "no trace"},
		{"replay unknown kind", replay(f, inst(Inst{Kind: "Teleport"})), `unknown kind "Teleport"`},
		{"replay empty kind", replay(f, inst(Inst{})), `unknown kind ""`},
		{"replay undefined input", replay(f, inst(Inst{Kind: KindGetLoops, Inputs: []string{"b7"}})), "input b7 is not defined"},
		{"replay too few inputs", replay(f, inst(getC, Inst{Kind: KindComputeAt, Inputs: []string{"b0"}})), "found 1 inputs, want 2"},
		{"replay too many inputs", replay(f, inst(getC, Inst{Kind: KindGetLoops, Inputs: []string{"b0", "b0"}})), "found 2 inputs, want 1"},
		{"replay no inputs to split", replay(f, inst(Inst{Kind: KindSplit})), "found 0 inputs, want 2 or more"},
		{"replay too many outputs", replay(f, inst(getC, Inst{Kind: KindGetLoops, Inputs: []string{"b0"}, Outputs: []string{"l1", "l2", "l3", "l4"}})), "names 4 results, the primitive made 3"},
		{"replay block handle as loop", replay(f, inst(getC, Inst{Kind: KindParallel, Inputs: []string{"b0"}})), "is not a loop of this schedule"},
		{"replay literal as block", replay(f, inst(Inst{Kind: KindComputeInline, Inputs: []string{"3"}})), "is not a block"},
		{"replay undefined block name", replay(f, inst(Inst{Kind: KindGetBlock, Name: "Nope", Outputs: []string{"b0"}})), "Nope"},
		{"replay negative split factor", replay(f, splitTrace(0, "-2", "-4")), "want a positive integer"},
		{"replay zero split factor", replay(f, splitTrace(0, "0", "8")), "want a positive integer"},
		{"replay split factors past the extent", replay(f, splitTrace(0, "16", "1")), "exceed its extent 8"},
		// 8 × (2⁶¹+1) wraps around to 8 in int: Split once accepted it and made a loop of
		// 2⁶¹+1 iterations that the verifier passed.
		{"replay overflowing split factors", replay(f, splitTrace(0, "8", "2305843009213693953")), "exceed its extent 8"},
		{"replay huge split factors", replay(f, splitTrace(0, "9223372036854775807", "9223372036854775807")), "exceed its extent 8"},
		{"replay huge cache index", replay(f, inst(getC, Inst{Kind: KindCacheRead, Inputs: []string{"b0"}, N: 1 << 40, Name: "local"})), "read index"},
		{"replay negative cache index", replay(f, inst(getC, Inst{Kind: KindCacheWrite, Inputs: []string{"b0"}, N: -1, Name: "local"})), "write index"},
		{"replay bad thread axis", replay(f, inst(getC, loopsC, Inst{Kind: KindBind, Inputs: []string{"l1"}, Name: "warp.q"})), "warp.q"},
		{"replay huge tile count", replay(f, inst(getC, loopsC, Inst{Kind: KindSamplePerfectTile, Inputs: []string{"l1"}, N: 1 << 40, Decision: []int{8}})), "want 1 to 16"},
		{"replay categorical without values", replay(f, inst(Inst{Kind: KindSampleCategorical, Decision: []int{0}})), "found 0 values"},
		{"replay categorical NaN probability", replay(f, inst(Inst{Kind: KindSampleCategorical, Values: []int{1}, Probs: []float64{-1}, Decision: []int{0}})), "probability"},
		{"replay sampling without rng", replay(f, inst(getC, loopsC, Inst{Kind: KindSamplePerfectTile, Inputs: []string{"l1"}, N: 2, Outputs: []string{"v0", "v1"}})), "no random source"},

		// Build
		{"build nil func", build(nil, good), "no program"},
		{"build nil trace", build(f, nil), "no trace"},
		{"build unknown kind", build(f, inst(Inst{Kind: "sch.split"})), "unknown kind"},
		{"build overflowing split", build(f, splitTrace(2, "8", "2305843009213693953")), "exceed its extent 8"},

		// SampleCandidate
		{"sample nil func", sample(nil, good, rng), "no program"},
		{"sample nil sketch", sample(f, nil, rng), "no trace"},
		{"sample nil rng", sample(f, good, nil), "no random source"},
		{"sample unknown kind", sample(f, inst(Inst{Kind: "?"}), rng), "unknown kind"},

		// Mutator.Apply and Mutate
		{"apply zero mutator", apply(Mutator{}, f, good, rng), "has no implementation"},
		{"apply nil func", apply(tile, nil, good, rng), "no program"},
		{"apply nil trace", apply(tile, f, nil, rng), "no trace"},
		{"apply nil rng", apply(tile, f, good, nil), "no random source"},
		{"apply to an empty trace", apply(tile, f, &Trace{}, rng), "nothing to change"},
		{"mutate nil func", mutate(nil, good, rng), "no program"},
		{"mutate nil trace", mutate(f, nil, rng), "no trace"},
		{"mutate nil rng", mutate(f, good, nil), "no random source"},
		{"mutate an empty trace", mutate(f, &Trace{}, rng), "no mutator applies"},
		{"mutate an undefined input", mutate(f, inst(Inst{Kind: KindSampleComputeLocation, Inputs: []string{"b9"}}), rng), "no mutator applies"},

		// ParseTrace
		{"parse nothing", parse(""), "parse trace"},
		{"parse unknown kind", parse(`{"insts": [{"kind": "Teleport"}]}`), `unknown kind "Teleport"`},
		{"parse bad handle", parse(`{"insts": [{"kind": "GetLoops", "inputs": ["../etc"]}]}`), "neither a handle"},
		{"parse negative handle", parse(`{"insts": [{"kind": "GetLoops", "inputs": ["b-1"]}]}`), "neither a handle"},
		{"parse literal output", parse(`{"insts": [{"kind": "GetBlock", "outputs": ["-1"]}]}`), "must be a handle"},
		{"parse decision of strings", parse(`{"insts": [{"kind": "SampleCategorical", "decision": ["x"]}]}`), "parse trace"},
		{"parse decision past int", parse(`{"insts": [{"kind": "SampleCategorical", "decision": [1e30]}]}`), "parse trace"},

		// DesignSpace and Postprocess
		{"design space of nil", func() error {
			sk, err := DesignSpace(nil, opt)
			if err != nil && sk != nil {
				t.Errorf("DesignSpace returned sketches with error %v", err)
			}
			return err
		}, "no program"},
		{"design space of a corrupt program", func() error { _, err := DesignSpace(nilLoopVarFunc(), opt); return err }, "not valid"},
		{"postprocess nil schedule", func() error { return Postprocess(nil, opt) }, "no schedule"},
		{"postprocess empty schedule", func() error { return Postprocess(&Schedule{}, opt) }, "no schedule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := callSafely(t, tc.name, tc.call)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if errors.Is(err, errInternal) {
				t.Fatalf("the guard caught a panic (%v); want the input rejected by a check", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestStaleDecisionsAreRepairedOrRejected replays sampling instructions with out-of-range,
// negative, huge, short and empty decisions: replay repairs them or rejects the trace, and
// whatever builds passes the verifier.
func TestStaleDecisionsAreRepairedOrRejected(t *testing.T) {
	f := matmulFunc(8, 8, 8, true)
	sketches, err := DesignSpace(f, DefaultSpaceOptions(2))
	if err != nil {
		t.Fatal(err)
	}
	decisions := map[string][]int{
		"empty":    {},
		"negative": {-1, -8},
		"zero":     {0, 0, 0, 0},
		"huge":     {1 << 62, 1 << 62, 1<<61 + 1, 4},
		"min int":  {-1 << 63},
		"short":    {2},
		"long":     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8},
		"past end": {1 << 20},
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, sk := range sketches {
		tr, err := SampleCandidate(f, sk.Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range tr.Insts {
			if !in.IsSampling() {
				continue
			}
			for name, d := range decisions {
				bad := tr.Copy()
				bad.Insts[i].Decision = append([]int{}, d...)
				what := sk.Name + ": " + in.Kind + " decision " + name
				_ = callSafely(t, what+" (String)", func() error { _ = bad.String(); return nil })
				var p *Func
				err := callSafely(t, what, func() (err error) { p, err = Build(f, bad, DefaultSpaceOptions(2)); return err })
				if errors.Is(err, errInternal) {
					t.Fatalf("%s: the guard caught a panic: %v", what, err)
				}
				if err == nil {
					if verr := Verify(p); verr != nil {
						t.Fatalf("%s: built a program that does not verify: %v", what, verr)
					}
				}
				for _, m := range Mutators() {
					err := callSafely(t, what+" "+m.Name, func() error { _, err := m.Apply(f, bad, DefaultSpaceOptions(2), rng); return err })
					if errors.Is(err, errInternal) {
						t.Fatalf("%s: %s: the guard caught a panic: %v", what, m.Name, err)
					}
				}
			}
		}
	}
}

// TestTileSizeMutatorIgnoresHugeDecisions: a corrupt tiling of 2⁶¹+1 once sent the mutator's
// divisor search through 2⁶¹ iterations; it must now come back at once.
func TestTileSizeMutatorIgnoresHugeDecisions(t *testing.T) {
	f := matmulFunc(8, 8, 8, false)
	tr := &Trace{Insts: []Inst{
		{Kind: KindGetBlock, Name: "C", Outputs: []string{"b0"}},
		{Kind: KindGetLoops, Inputs: []string{"b0"}, Outputs: []string{"l1", "l2", "l3"}},
		{Kind: KindSamplePerfectTile, Inputs: []string{"l1"}, N: 2, Outputs: []string{"v0", "v1"}, Decision: []int{1<<61 + 1, 1 << 62}},
	}}
	m, _ := MutatorByName(MutTileSize)
	done := make(chan error, 1)
	go func() {
		_, err := m.Apply(f, tr, DefaultSpaceOptions(2), rand.New(rand.NewPCG(1, 1)))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "nothing to change") {
			t.Fatalf("got %v, want nothing to change", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("TileSize did not return within 20s on a huge decision")
	}
}

func TestDivisorsAbove1(t *testing.T) {
	for x, want := range map[int]string{1: "[]", 2: "[2]", 12: "[2 3 4 6 12]", 49: "[7 49]", 97: "[97]"} {
		if got := fmt.Sprint(divisorsAbove1(x)); got != want {
			t.Errorf("divisorsAbove1(%d) = %s, want %s", x, got, want)
		}
	}
}

// TestTraceStringNeverPanics prints traces a file or an LLM could hand over: no trace, an
// empty decision (which once indexed past the end), a decision of a categorical with several
// values, unknown kinds and missing inputs.
func TestTraceStringNeverPanics(t *testing.T) {
	var none *Trace
	if none.String() != "" || none.Copy() != nil {
		t.Fatal("a nil trace prints or copies to something")
	}
	tr := &Trace{Insts: []Inst{
		{Kind: KindSampleCategorical, Decision: []int{}},
		{Kind: KindSampleComputeLocation, Decision: []int{1, 2}},
		{Kind: KindSamplePerfectTile, Decision: []int{}},
		{Kind: "Teleport", Decision: []int{3}},
		{Kind: KindSplit},
		{Kind: KindAnnotate},
		{Kind: KindAnnotate, Inputs: []string{"b0", "v1", "v2"}},
		{},
	}}
	callSafely(t, "Trace.String", func() error { _ = tr.String(); return nil })
	if got := tr.Insts[1].String(); !strings.Contains(got, "decision=[1, 2]") {
		t.Errorf("a two-value compute-location decision printed as %q", got)
	}
	if got := tr.Insts[0].String(); !strings.Contains(got, "decision=[]") {
		t.Errorf("an empty decision printed as %q", got)
	}
}
