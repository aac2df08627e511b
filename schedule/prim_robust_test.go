package schedule

import (
	"fmt"
	"testing"
)

// TestBlockPrimitivesNeverPanic breaks programs in many ways and applies every block primitive
// with every block and loop: each must return (an error or not) without panicking.
func TestBlockPrimitivesNeverPanic(t *testing.T) {
	firstLoad := func(b *Block) *Load {
		var out *Load
		if st, ok := b.Body.(*Store); ok {
			WalkExpr(st.Value, func(e Expr) bool {
				if l, ok := e.(*Load); ok && out == nil {
					out = l
				}
				return out == nil
			})
		}
		return out
	}
	corruptions := map[string]func(f *Func, b *Block){
		"empty body":      func(f *Func, b *Block) { b.Body = &Seq{} },
		"nil body":        func(f *Func, b *Block) { b.Body = nil },
		"missing binding": func(f *Func, b *Block) { b.Bindings = b.Bindings[:len(b.Bindings)-1] },
		"nil binding":     func(f *Func, b *Block) { b.Bindings[0] = nil },
		"float binding":   func(f *Func, b *Block) { b.Bindings[0] = Float(Float32, 1) },
		"nil iterator":    func(f *Func, b *Block) { b.IterVars[0].Var = nil },
		"zero extent":     func(f *Func, b *Block) { b.IterVars[0].Extent = 0 },
		"seq init": func(f *Func, b *Block) {
			if b.Init != nil {
				b.Init = &Seq{Stmts: []Stmt{b.Init}}
			}
		},
		"short load": func(f *Func, b *Block) {
			if l := firstLoad(b); l != nil {
				l.Indices = l.Indices[:len(l.Indices)-1]
			}
		},
		"nil load index": func(f *Func, b *Block) {
			if l := firstLoad(b); l != nil {
				l.Indices[0] = nil
			}
		},
		"nil load buffer": func(f *Func, b *Block) {
			if l := firstLoad(b); l != nil {
				l.Buffer = nil
			}
		},
		"nil store index": func(f *Func, b *Block) {
			if st, ok := b.Body.(*Store); ok {
				st.Indices[0] = nil
			}
		},
		"nil store value": func(f *Func, b *Block) {
			if st, ok := b.Body.(*Store); ok {
				st.Value = nil
			}
		},
		"nil store buffer": func(f *Func, b *Block) {
			if st, ok := b.Body.(*Store); ok {
				st.Buffer = nil
			}
		},
		"no regions": func(f *Func, b *Block) { b.Reads, b.Writes = nil, nil },
		"nil region buffer": func(f *Func, b *Block) {
			b.Writes = append(b.Writes, Region{})
			b.Reads = append([]Region{{}}, b.Reads...)
		},
		"predicate": func(f *Func, b *Block) { b.Predicate = Bin(LT, b.Bindings[0], Int(3)) },
		"nil loop var": func(f *Func, b *Block) {
			WalkStmt(f.Root.Body, func(s Stmt) bool {
				if l, ok := s.(*Loop); ok && l.Body == b {
					l.Var = nil
				}
				return true
			})
		},
		"nil loop body": func(f *Func, b *Block) {
			WalkStmt(f.Root.Body, func(s Stmt) bool {
				if l, ok := s.(*Loop); ok {
					if _, isLoop := l.Body.(*Loop); !isLoop && l.Body != b {
						l.Body = nil
					}
				}
				return true
			})
		},
		"param allocated": func(f *Func, b *Block) { f.Root.Allocs = append(f.Root.Allocs, f.Params[0]) },
		"empty shape": func(f *Func, b *Block) {
			if st, ok := b.Body.(*Store); ok && st.Buffer != nil {
				st.Buffer.Shape = nil
			}
		},
	}
	fixtures := map[string]func() *Func{
		"relu":    func() *Func { return matmulFunc(4, 4, 2, true) },
		"conv":    func() *Func { return conv2dFunc(1, 1, 1, 2, 2) },
		"softmax": func() *Func { return softmaxFunc(2, 3) },
		"bias":    func() *Func { return matmulBiasReluFunc(2, 2, 2) },
	}
	for fname, mk := range fixtures {
		nBlocks := len(mk().Blocks())
		for cname, corrupt := range corruptions {
			for bi := 0; bi < nBlocks; bi++ {
				s := New(mk(), nil)
				corrupt(s.fn, s.fn.Blocks()[bi])
				applyAllBlockPrimitives(t, fmt.Sprintf("%s/%s/block %d", fname, cname, bi), s)
			}
		}
	}
}

// applyAllBlockPrimitives applies every block primitive to copies of s, with every block and
// loop handle (and bad handles), failing the test on a panic.
func applyAllBlockPrimitives(t *testing.T, what string, s *Schedule) {
	t.Helper()
	var blocks []*Block
	var loops []*Loop
	WalkStmt(s.fn.Root, func(st Stmt) bool {
		switch st := st.(type) {
		case *Block:
			blocks = append(blocks, st)
		case *Loop:
			loops = append(loops, st)
		}
		return true
	})
	loops = append(loops, nil) // the root position
	type prim struct {
		name string
		run  func(c *Schedule, b BlockRV, l LoopRV) error
	}
	prims := []prim{
		{"get_producers", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.GetProducers(b); return err }},
		{"get_consumers", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.GetConsumers(b); return err }},
		{"cache_read", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.CacheRead(b, 0, Local); return err }},
		{"cache_read 1", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.CacheRead(b, 1, Shared); return err }},
		{"cache_write", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.CacheWrite(b, 0, Global); return err }},
		{"cache_write 1", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.CacheWrite(b, 1, Global); return err }},
		{"compute_at", func(c *Schedule, b BlockRV, l LoopRV) error { return c.ComputeAt(b, l) }},
		{"reverse_compute_at", func(c *Schedule, b BlockRV, l LoopRV) error { return c.ReverseComputeAt(b, l) }},
		{"compute_inline", func(c *Schedule, b BlockRV, l LoopRV) error { return c.ComputeInline(b) }},
		{"reverse_compute_inline", func(c *Schedule, b BlockRV, l LoopRV) error { return c.ReverseComputeInline(b) }},
		{"decompose_reduction", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.DecomposeReduction(b, l); return err }},
		{"compute_locations", func(c *Schedule, b BlockRV, l LoopRV) error { _, err := c.ComputeLocations(b); return err }},
	}
	for _, p := range prims {
		for bi := -1; bi < len(blocks); bi++ {
			for li := -1; li < len(loops); li++ {
				c := s.Copy()
				var all []Stmt
				WalkStmt(c.fn.Root, func(st Stmt) bool {
					switch st.(type) {
					case *Block, *Loop:
						all = append(all, st)
					}
					return true
				})
				b := BlockRV{id: 999}
				if bi >= 0 {
					b = c.newBlockRV(nthBlock(c, bi))
				}
				l := LoopRV{id: -5}
				if li >= 0 {
					l = c.newLoopRV(nthLoop(c, li, len(loops)-1))
				}
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%s: %s with block %d, loop %d panicked: %v", what, p.name, bi, li, r)
						}
					}()
					_ = p.run(c, b, l)
				}()
			}
		}
	}
}

func nthBlock(s *Schedule, i int) *Block {
	var out *Block
	n := 0
	WalkStmt(s.fn.Root, func(st Stmt) bool {
		if b, ok := st.(*Block); ok {
			if n == i {
				out = b
			}
			n++
		}
		return true
	})
	return out
}

// nthLoop returns the i-th loop in program order, or nil (the root position) for i == n.
func nthLoop(s *Schedule, i, n int) *Loop {
	if i >= n {
		return nil
	}
	var out *Loop
	k := 0
	WalkStmt(s.fn.Root, func(st Stmt) bool {
		if l, ok := st.(*Loop); ok {
			if k == i {
				out = l
			}
			k++
		}
		return true
	})
	return out
}
