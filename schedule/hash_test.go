package schedule

import "testing"

func TestStructuralHashIgnoresNames(t *testing.T) {
	a, b := matmulFunc(16, 32, 8, true), matmulFunc(16, 32, 8, true)
	b.Name = "renamed"
	for _, blk := range b.Blocks() {
		blk.Name += "_x"
		for _, iv := range blk.IterVars {
			iv.Var.Name = "q" + iv.Var.Name
		}
	}
	for _, p := range b.Params {
		p.Name = "p" + p.Name
	}
	if StructuralHash(a) != StructuralHash(b) {
		t.Errorf("renaming changed the hash:\n%s\n%s", Print(a), Print(b))
	}
}

func TestStructuralHashSeesStructure(t *testing.T) {
	base := StructuralHash(matmulFunc(16, 32, 8, false))
	changed := map[string]*Func{
		"another extent": matmulFunc(16, 32, 9, false),
		"an epilogue":    matmulFunc(16, 32, 8, true),
		"a loop kind": func() *Func {
			f := matmulFunc(16, 32, 8, false)
			f.Root.Body.(*Seq).Stmts[0].(*Loop).Kind = Parallel
			return f
		}(),
		"an annotation": func() *Func {
			f := matmulFunc(16, 32, 8, false)
			f.Root.Annotations = Annotations{"meta_schedule.parallel": "32"}
			return f
		}(),
		"swapped operands": func() *Func {
			f := matmulFunc(16, 32, 8, false)
			st := f.Blocks()[0].Body.(*Store)
			add := st.Value.(*Binary)
			mul := add.B.(*Binary)
			add.B = Bin(Mul, mul.B, mul.A)
			return f
		}(),
	}
	for name, f := range changed {
		if StructuralHash(f) == base {
			t.Errorf("%s did not change the hash", name)
		}
	}
}
