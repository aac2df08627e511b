package schedule

import (
	"slices"
	"strings"
	"testing"
)

func TestPackPanelsRefusesWhatItCannotPack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		param    string
		constant bool
		factor   int
		want     string
	}{
		{"an input that is not constant", "B", false, 4, "not a constant input"},
		{"a factor that does not divide", "B", true, 5, "want a divisor"},
		{"an unknown parameter", "Z", true, 4, "no parameter"},
		{"the output", "C", true, 4, "writes C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := matmulFunc(8, 16, 12, false)
			for _, p := range f.Params {
				p.Constant = tc.constant
			}
			s := New(f, nil)
			err := s.PackPanels(tc.param, Lit(tc.factor))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestPackPanelsRewritesLoadsAndReplays(t *testing.T) {
	f := matmulFunc(8, 16, 12, false)
	var b *Buffer
	for _, p := range f.Params {
		if p.Name == "B" {
			p.Constant = true
			b = p
		}
	}
	s := New(f, nil)
	if err := s.PackPanels("B", Lit(4)); err != nil {
		t.Fatal(err)
	}
	g := s.Func()
	if len(g.Packings) != 1 || g.Packings[0].Factor != 4 {
		t.Fatalf("packings %v", g.Packings)
	}
	p := g.Packings[0]
	if want := []int{b.Shape[1] / 4, b.Shape[0], 4}; !slices.Equal(p.Packed.Shape, want) {
		t.Fatalf("packed shape %v, want %v", p.Packed.Shape, want)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	text := Print(g)
	if !strings.Contains(text, "B[i0, i1] = B_packed[i1 // 4, i0, i1 % 4]") {
		t.Fatalf("the printed program does not document the packed layout:\n%s", text)
	}
	r, _, err := Replay(f, s.Trace(), nil)
	if err != nil {
		t.Fatalf("replay %s: %v", s.Trace(), err)
	}
	if Print(r.Func()) != text {
		t.Fatalf("replay differs:\n%s\nwant\n%s", Print(r.Func()), text)
	}
	// The packed values are the original ones moved: Original[r, n] = Packed[n/F, r, n%F].
	src := make([]float64, b.Elems())
	for i := range src {
		src[i] = float64(i)
	}
	dst := p.PackValues(src)
	rows, cols := b.Shape[0], b.Shape[1]
	for r := 0; r < rows; r++ {
		for n := 0; n < cols; n++ {
			if got := dst[((n/4)*rows+r)*4+n%4]; got != src[r*cols+n] {
				t.Fatalf("packed [%d, %d] = %v, want %v", r, n, got, src[r*cols+n])
			}
		}
	}
}

func TestSimplifyDivModUsesLoopExtents(t *testing.T) {
	i, j := NewVar("i"), NewVar("j")
	ext := map[*Var]int{j: 64}
	e := Bin(Add, Bin(Mul, i, Int(128)), j) // i*128 + j, j < 64
	for _, tc := range []struct {
		in   Expr
		want string
	}{
		{Bin(FloorDiv, e, Int(64)), "i * 2"},
		{Bin(FloorMod, e, Int(64)), "j"},
		{Bin(FloorDiv, e, Int(32)), "(i * 128 + j) // 32"}, // j may reach 63 ≥ 32: unchanged
	} {
		if got := PrintExpr(simplifyDivMod(tc.in, ext)); got != tc.want {
			t.Errorf("%s: got %s, want %s", PrintExpr(tc.in), got, tc.want)
		}
	}
}
