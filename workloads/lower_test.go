package workloads

import (
	"math"
	"strings"
	"testing"

	"colt/schedule"
)

// stageBlock returns the loop variables (outermost first) and the block of stage i.
func stageBlock(t *testing.T, f *schedule.Func, i int) ([]*schedule.Loop, *schedule.Block) {
	t.Helper()
	seq, ok := f.Root.Body.(*schedule.Seq)
	if !ok || i >= len(seq.Stmts) {
		t.Fatalf("root body %T does not hold stage %d", f.Root.Body, i)
	}
	var loops []*schedule.Loop
	s := seq.Stmts[i]
	for {
		switch x := s.(type) {
		case *schedule.Loop:
			loops = append(loops, x)
			s = x.Body
		case *schedule.Block:
			return loops, x
		default:
			t.Fatalf("stage %d: unexpected %T in loop nest", i, s)
		}
	}
}

func TestStageLoweringStructure(t *testing.T) {
	w := mustParse(t, "my-conv", myConv())
	f := w.Tasks[0].Func()
	if f.Name != "my_conv" {
		t.Errorf("func name %q, want my_conv", f.Name)
	}
	if len(f.Root.Allocs) != 1 || f.Root.Allocs[0].Name != "Xp" || f.Root.Allocs[0].Scope != schedule.Global {
		t.Errorf("root allocs %v, want the global intermediate Xp", f.Root.Allocs)
	}
	loops, b := stageBlock(t, f, 1)
	var names, kinds []string
	var extents []int
	for i, l := range loops {
		names = append(names, l.Var.Name)
		extents = append(extents, l.Extent)
		kinds = append(kinds, b.IterVars[i].Kind.Letter()+":"+b.IterVars[i].Var.Name)
		if l.Kind != schedule.Serial || b.Bindings[i] != schedule.Expr(l.Var) || b.IterVars[i].Extent != l.Extent {
			t.Errorf("loop %s: kind %v, binding %v, iter extent %d; want serial loops bound one-to-one", l.Var.Name, l.Kind, b.Bindings[i], b.IterVars[i].Extent)
		}
	}
	if got := strings.Join(names, ","); got != "n,k,y,x,c,r,s" {
		t.Errorf("loops %s, want left-hand variables then reduction variables in order of appearance: n,k,y,x,c,r,s", got)
	}
	if got := strings.Join(kinds, ","); got != "S:v_n,S:v_k,S:v_y,S:v_x,R:v_c,R:v_r,R:v_s" {
		t.Errorf("iterators %s", got)
	}
	if want := []int{1, 5, 9, 7, 3, 3, 3}; !equalInts(extents, want) {
		t.Errorf("extents %v, want %v", extents, want)
	}
	if b.Name != "Y" || len(b.Reads) != 2 || b.Reads[0].Buffer.Name != "Xp" || b.Reads[1].Buffer.Name != "Wt" {
		t.Errorf("block %s reads %v; want block Y reading Xp then Wt", b.Name, b.Reads)
	}
	if got := schedule.PrintExpr(b.Reads[0].Ranges[2].Min); got != "v_y * 2 + v_r" {
		t.Errorf("read index %q, want v_y * 2 + v_r", got)
	}
	init, ok := b.Init.(*schedule.Store)
	if !ok || !isFloat(init.Value, 0) {
		t.Errorf("init %v, want a store of 0", b.Init)
	}
	body := b.Body.(*schedule.Store)
	if add, ok := body.Value.(*schedule.Binary); !ok || add.Op != schedule.Add {
		t.Errorf("body value %s, want Y[...] + rhs", schedule.PrintExpr(body.Value))
	}
}

// pad lowers to a select guarded by exactly the bounds an index can cross.
func TestPadGuardsOnlyIndicesThatCanLeaveBounds(t *testing.T) {
	for _, tc := range []struct {
		stage string
		want  string // printed value; "" means the exact select below
	}{
		{"Y[i, j] = pad(X[i, j])", "X[v_i, v_j]"},
		{"Y[i, j] = pad(X[i, j - 1])", "T.if_then_else(0 <= v_j - 1, X[v_i, v_j - 1], T.float32(0.0))"},
		{"Y[i, j] = pad(X[i, j + 1], -inf)", `T.if_then_else(v_j + 1 < 5, X[v_i, v_j + 1], T.float32("-inf"))`},
		{"Y[i, j] = pad(X[i - 1, 4 - j], 2)", "T.if_then_else(0 <= v_i - 1, X[v_i - 1, 4 - v_j], T.float32(2.0))"},
	} {
		w := mustParse(t, "pad", Spec{
			Sizes:   map[string]any{"M": 3, "N": 5},
			Inputs:  []string{"X[M, N]"},
			Tensors: []string{"Y[M, N]"},
			Stages:  []string{tc.stage},
		})
		_, b := stageBlock(t, w.Tasks[0].Func(), 0)
		if got := schedule.PrintExpr(b.Body.(*schedule.Store).Value); got != tc.want {
			t.Errorf("%s: value %s, want %s", tc.stage, got, tc.want)
		}
	}
}

func TestReductionInitValues(t *testing.T) {
	for op, want := range map[string]float64{"+=": 0, "max=": math.Inf(-1), "min=": math.Inf(1)} {
		w := mustParse(t, "red", Spec{
			Sizes:  map[string]any{"M": 4, "N": 6},
			Inputs: []string{"X[M, N]"},
			Stages: []string{"Y[m] " + op + " X[m, n]"},
		})
		_, b := stageBlock(t, w.Tasks[0].Func(), 0)
		if init, ok := b.Init.(*schedule.Store); !ok || !isFloat(init.Value, want) {
			t.Errorf("%s: init %v, want a store of %v", op, b.Init, want)
		}
		if w.FLOPs() != 4*6 {
			t.Errorf("%s: FLOPs %d, want one update per element: %d", op, w.FLOPs(), 4*6)
		}
	}
}

func TestConstantsFoldAndIntegersAreCast(t *testing.T) {
	w := mustParse(t, "fold", Spec{
		Sizes:  map[string]any{"D": 128},
		Inputs: []string{"X[D]"},
		Stages: []string{"Y[i] = X[i] / sqrt(D) + i + (2 * 3 - 1)"},
	})
	_, b := stageBlock(t, w.Tasks[0].Func(), 0)
	want := "X[v_i] / T.float32(11.313708) + T.Cast(\"float32\", v_i) + T.float32(5.0)"
	if got := schedule.PrintExpr(b.Body.(*schedule.Store).Value); got != want {
		t.Errorf("value %s, want %s", got, want)
	}
	if w.FLOPs() != 128*3 {
		t.Errorf("FLOPs %d, want 3 per element (a divide and two adds): %d", w.FLOPs(), 128*3)
	}
}

func TestRepeatedReadIsListedOnce(t *testing.T) {
	w := mustParse(t, "sq", Spec{
		Sizes:  map[string]any{"N": 8},
		Inputs: []string{"X[N]"},
		Stages: []string{"Y[i] = X[i] * X[i] + pad(X[i + 1]) + X[i]"},
	})
	_, b := stageBlock(t, w.Tasks[0].Func(), 0)
	var got []string
	for _, r := range b.Reads {
		got = append(got, r.Buffer.Name+"["+schedule.PrintExpr(r.Ranges[0].Min)+"]")
	}
	if strings.Join(got, " ") != "X[v_i] X[v_i + 1]" {
		t.Errorf("reads %v, want each distinct access once: X[v_i] X[v_i + 1]", got)
	}
}

func isFloat(e schedule.Expr, v float64) bool {
	c, ok := e.(*schedule.FloatImm)
	return ok && c.Value == v
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
