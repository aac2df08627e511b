package schedule

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyAcceptsFixtures(t *testing.T) {
	for name, f := range map[string]*Func{
		"matmul":      matmulFunc(7, 13, 5, false),
		"matmul_relu": matmulFunc(7, 13, 5, true),
		"pad_conv":    padConvFunc(),
		"scheduled":   scheduledFunc(),
	} {
		if err := Verify(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestVerifyFindsProblems breaks a valid program in one way per case and expects the verifier
// to name that problem.
func TestVerifyFindsProblems(t *testing.T) {
	firstBlock := func(f *Func) *Block { return f.Blocks()[0] }
	cases := []struct {
		name  string
		build func() *Func
		want  string
	}{
		{"index out of bounds", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			st := firstBlock(f).Body.(*Store)
			add := st.Value.(*Binary)
			l := add.B.(*Binary).A.(*Load)
			l.Indices[1] = Bin(Add, l.Indices[1], Int(1))
			return f
		}, "index v_k + 1 of A dimension 1 ranging over [1, 8], want within [0, 8)"},
		{"unguarded padding", func() *Func {
			f := padConvFunc()
			st := firstBlock(f).Body.(*Store)
			sel := st.Value.(*Binary).B.(*Binary).A.(*Select)
			sel.Cond = Bin(LT, sel.Cond.(*Binary).B.(*Binary).A, Int(13))
			return f
		}, "dimension 0 ranging over [-1, 12]"},
		{"wrong index count", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			st := firstBlock(f).Body.(*Store)
			st.Indices = st.Indices[:1]
			return f
		}, "found 1 indices in a store to C, want 2 (one per dimension)"},
		{"variable out of scope", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			st := firstBlock(f).Body.(*Store)
			st.Indices[0] = NewVar("ghost")
			return f
		}, "found variable ghost used outside its loop or block"},
		{"binding out of range", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			b := firstBlock(f)
			b.Bindings[0] = Bin(Add, b.Bindings[0], Int(1))
			return f
		}, "found binding of v_i ranging over [1, 8], want within [0, 8)"},
		{"reduction written at a reduction index", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			b := firstBlock(f)
			b.Body.(*Store).Indices[1] = b.IterVars[2].Var
			return f
		}, "found store index of C depending on reduction iterator v_k"},
		{"type mismatch", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			st := firstBlock(f).Body.(*Store)
			st.Value = Bin(Add, st.Value, Float(Float64, 1))
			return f
		}, "found operands of + of types float32 and float64, want equal types"},
		{"undeclared read", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			b := firstBlock(f)
			b.Reads = b.Reads[:1]
			return f
		}, "found a load from B not listed in T.reads"},
		{"read before write", func() *Func {
			f := matmulFunc(8, 8, 8, true)
			s := f.Root.Body.(*Seq)
			s.Stmts[0], s.Stmts[1] = s.Stmts[1], s.Stmts[0]
			return f
		}, "found a read of T before any block writes it"},
		{"nested parallel loops", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			outer := f.Root.Body.(*Seq).Stmts[0].(*Loop)
			outer.Kind = Parallel
			outer.Body.(*Loop).Kind = Parallel
			return f
		}, "found a parallel loop inside parallel loop i"},
		{"parallel reduction", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			f.Root.Body.(*Seq).Stmts[0].(*Loop).Body.(*Loop).Body.(*Loop).Kind = Parallel
			return f
		}, "found reduction iterator v_k bound to parallel loop k"},
		{"duplicate block names", func() *Func {
			f := matmulFunc(8, 8, 8, true)
			f.Blocks()[1].Name = "C"
			return f
		}, `found two blocks named "C", want unique block names`},
		{"unknown buffer", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			f.Params = f.Params[:2]
			return f
		}, "found a store to buffer C, which is not a parameter or an enclosing allocation"},
		{"zero extent", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			f.Root.Body.(*Seq).Stmts[0].(*Loop).Extent = 0
			return f
		}, "found loop variable i of extent 0, want an extent ≥ 1"},
		{"variable defined twice", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			outer := f.Root.Body.(*Seq).Stmts[0].(*Loop)
			outer.Body.(*Loop).Var = outer.Var
			return f
		}, "found loop variable i defined twice"},
		{"thread axis missing", func() *Func {
			f := matmulFunc(8, 8, 8, false)
			f.Root.Body.(*Seq).Stmts[0].(*Loop).Kind = ThreadBound
			return f
		}, "found a thread-bound loop without a thread axis"},
		{"no root", func() *Func { return &Func{Name: "empty"} }, "found no root block"},
		{"nil statement", func() *Func {
			return &Func{Name: "holes", Root: &Block{Body: &Seq{Stmts: []Stmt{nil}}}}
		}, "found an empty statement"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.build())
			if err == nil {
				t.Fatalf("Verify accepted the program, want a problem containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Verify = %v\nwant a problem containing %q", err, c.want)
			}
		})
	}
}

func TestVerifyReportsEveryProblem(t *testing.T) {
	f := matmulFunc(8, 8, 8, false)
	b := f.Blocks()[0]
	b.Bindings[0] = Bin(Add, b.Bindings[0], Int(3))
	b.Reads = nil
	f.Root.Body.(*Seq).Stmts[0].(*Loop).Body.(*Loop).Kind = ThreadBound
	var ve *VerifyError
	if !errors.As(Verify(f), &ve) {
		t.Fatal("want a *VerifyError")
	}
	// One bad binding, one thread loop without axis, two undeclared loads (A and B).
	if len(ve.Problems) != 4 {
		t.Errorf("found %d problems, want 4:\n%v", len(ve.Problems), ve)
	}
}
