package schedule

import (
	"math"
	"strings"
	"testing"
)

func TestPrintGolden(t *testing.T) {
	cases := []struct {
		file string
		f    *Func
	}{
		{"matmul.tir", matmulFunc(16, 32, 8, false)},
		{"matmul_relu.tir", matmulFunc(16, 32, 8, true)},
		{"pad_conv.tir", padConvFunc()},
		{"scheduled.tir", scheduledFunc()},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			if err := Verify(c.f); err != nil {
				t.Fatalf("fixture does not verify: %v", err)
			}
			golden(t, c.file, Print(c.f))
		})
	}
}

func TestPrintIsDeterministic(t *testing.T) {
	f := scheduledFunc()
	first := Print(f)
	for i := 0; i < 20; i++ {
		if got := Print(f); got != first {
			t.Fatalf("print %d differs from the first", i)
		}
	}
}

func TestPrintNamesVariablesByScope(t *testing.T) {
	f := matmulFunc(4, 4, 4, true)
	out := Print(f)
	// Sibling loop nests reuse their index names, as in an unscheduled program.
	if !strings.Contains(out, "for i, j in T.grid(4, 4):") || strings.Contains(out, "i_1") {
		t.Errorf("second stage should reuse the names i, j:\n%s", out)
	}
	// A nested variable with the same name as an enclosing one is renamed apart.
	outer := f.Root.Body.(*Seq).Stmts[0].(*Loop)
	outer.Body.(*Loop).Var.Name = "i"
	if out := Print(f); !strings.Contains(out, "for i, i_1, k in T.grid(4, 4, 4):") {
		t.Errorf("nested namesake not renamed apart:\n%s", out)
	}
}

func TestPrintExpr(t *testing.T) {
	x, y := NewVar("x"), NewVar("y")
	cases := []struct {
		e    Expr
		want string
	}{
		{Bin(Mul, Bin(Add, x, y), Int(2)), "(x + y) * 2"},
		{Bin(Add, x, Bin(Mul, y, Int(2))), "x + y * 2"},
		{Bin(Sub, x, Bin(Sub, y, Int(1))), "x - (y - 1)"},
		{Bin(Sub, Bin(Sub, x, y), Int(1)), "x - y - 1"},
		{Bin(FloorDiv, x, Int(4)), "x // 4"},
		{Bin(And, Bin(LE, Int(0), x), Bin(LT, x, Int(8))), "0 <= x and x < 8"},
		{Float(Float32, 0.1), "T.float32(0.1)"},
		{Float(Float64, 2), "T.float64(2.0)"},
		{Inf(Float32, -1), `T.float32("-inf")`},
		{Float(Float32, math.Inf(1)), `T.float32("inf")`},
		{Bin(Max, Float(Float32, 1), Float(Float32, 2)), "T.max(T.float32(1.0), T.float32(2.0))"},
		{&Call{Fn: Gelu, Args: []Expr{Float(Float32, 1)}}, "T.gelu(T.float32(1.0))"},
		{&Not{X: Bin(EQ, x, Int(0))}, "not x == 0"},
		{nil, "<nil>"},
	}
	for _, c := range cases {
		if got := PrintExpr(c.e); got != c.want {
			t.Errorf("PrintExpr = %q, want %q", got, c.want)
		}
	}
}

func TestPrintNeverPanicsOnBrokenPrograms(t *testing.T) {
	broken := []*Func{
		nil,
		{Name: "no_root"},
		{Name: "nil_body", Root: &Block{}},
		{Name: "nil_param", Params: []*Buffer{nil}, Root: &Block{Body: &Seq{Stmts: []Stmt{nil, &Loop{}, &Block{}, &Store{}}}}},
	}
	for _, f := range broken {
		_ = Print(f)
		_ = StructuralHash(f)
	}
}
