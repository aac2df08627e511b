package schedule

import (
	"strings"
	"testing"
)

// loopNamed returns a handle to the loop with the given variable name around the named block.
func loopNamed(s *Schedule, block, loop string) LoopRV {
	for _, l := range must(s.GetLoops(must(s.GetBlock(block)))) {
		if lp, _ := s.LoopOf(l); lp.Var.Name == loop {
			return l
		}
	}
	panic("no loop " + loop + " around block " + block)
}

func blockNamed(s *Schedule, name string) BlockRV { return must(s.GetBlock(name)) }

// splitLoop splits the named loop of a block.
func splitLoop(s *Schedule, block, loop string, factors ...int) []LoopRV {
	fs := make([]IntRV, len(factors))
	for i, f := range factors {
		fs[i] = Lit(f)
	}
	return must(s.Split(loopNamed(s, block, loop), fs))
}

// TestBlockPrimitiveErrors checks each legality condition of the block primitives: the error
// says what is wrong, and the program is left exactly as it was.
func TestBlockPrimitiveErrors(t *testing.T) {
	matmul := func() *Func { return matmulFunc(16, 16, 8, false) }
	relu := func() *Func { return matmulFunc(16, 16, 8, true) }
	softmax := func() *Func { return softmaxFunc(4, 6) }
	conv := func() *Func { return conv2dFunc(1, 2, 2, 4, 4) }
	bias := func() *Func { return matmulBiasReluFunc(8, 8, 4) }
	chain := func() *Func { return chainFunc(false) }
	rewritten := func() *Func { return chainFunc(true) }
	tests := []struct {
		name  string
		f     func() *Func
		setup func(s *Schedule) // applied before the program is captured
		run   func(s *Schedule) error
		want  string
	}{
		// get_producers, get_consumers
		{"producers of a bad handle", matmul, nil, func(s *Schedule) error {
			_, err := s.GetProducers(BlockRV{id: 42})
			return err
		}, "get_producers: b42 is not a block of this schedule"},
		{"consumers of a loop handle", matmul, nil, func(s *Schedule) error {
			l := loopNamed(s, "C", "i")
			_, err := s.GetConsumers(BlockRV{id: l.id})
			return err
		}, "is not a block of this schedule"},

		// cache_read
		{"cache_read bad scope", matmul, nil, func(s *Schedule) error {
			_, err := s.CacheRead(blockNamed(s, "C"), 1, "texture")
			return err
		}, `cache_read: found scope "texture", want global, local or shared`},
		{"cache_read index out of range", matmul, nil, func(s *Schedule) error {
			_, err := s.CacheRead(blockNamed(s, "C"), 3, Global)
			return err
		}, `found read index 3, want 0 to 2`},
		{"cache_read of a block without reads", chain, func(s *Schedule) { must(0, s.ComputeInline(blockNamed(s, "Q"))) }, func(s *Schedule) error {
			_, err := s.CacheRead(blockNamed(s, "root"), 0, Global)
			return err
		}, "found the root block"},
		{"cache_read of a buffer the block writes", matmul, nil, func(s *Schedule) error {
			_, err := s.CacheRead(blockNamed(s, "C"), 0, Global)
			return err
		}, `block "C" writes buffer C, want a buffer it only reads`},
		{"cache_read of a buffer produced in the same nest", relu, func(s *Schedule) {
			must(0, s.ComputeAt(blockNamed(s, "C"), loopNamed(s, "D", "i")))
		}, func(s *Schedule) error {
			_, err := s.CacheRead(blockNamed(s, "D"), 0, Global)
			return err
		}, `buffer T is written by block "C" inside or after the loop nest of block "D", want every producer before that nest`},

		// cache_write
		{"cache_write index out of range", matmul, nil, func(s *Schedule) error {
			_, err := s.CacheWrite(blockNamed(s, "C"), 1, Global)
			return err
		}, "found write index 1, want 0 to 0"},
		{"cache_write of a buffer with two writers", matmul, func(s *Schedule) {
			must(s.DecomposeReduction(blockNamed(s, "C"), loopNamed(s, "C", "k")))
		}, func(s *Schedule) error {
			_, err := s.CacheWrite(blockNamed(s, "C"), 0, Global)
			return err
		}, `buffer C is also written by block "C_init", want block "C" its only writer`},
		{"cache_write with a consumer in the nest", relu, func(s *Schedule) {
			must(0, s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "i")))
		}, func(s *Schedule) error {
			_, err := s.CacheWrite(blockNamed(s, "C"), 0, Local)
			return err
		}, `block "D" reads T inside the loop nest of block "C", want its consumers after that nest`},

		// compute_at
		{"compute_at of an output block", relu, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "i"))
		}, `compute_at: block "D" writes the function output D, want a block writing an intermediate`},
		{"compute_at with another writer", relu, func(s *Schedule) {
			must(s.DecomposeReduction(blockNamed(s, "C"), loopNamed(s, "C", "i")))
		}, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "C"), loopNamed(s, "D", "i"))
		}, `buffer T is also written by block "C_init", want block "C" its only writer`},
		{"compute_at with a consumer outside the loop", softmax, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "E"), loopNamed(s, "S", "r"))
		}, `block "Y" reads E outside loop r, want every consumer of E under the loop`},
		{"compute_at of a block already moved", conv, func(s *Schedule) {
			must(0, s.ComputeAt(blockNamed(s, "Xp"), loopNamed(s, "Y", "x")))
		}, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "Xp"), loopNamed(s, "Y", "y"))
		}, `block "Xp" is already under loop y, want a loop of another nest`},
		{"compute_at of a block sharing its nest", conv, func(s *Schedule) {
			must(0, s.ComputeAt(blockNamed(s, "Xp"), loopNamed(s, "Y", "x")))
			must(s.CacheWrite(blockNamed(s, "Y"), 0, Global))
		}, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "Xp"), loopNamed(s, "Y_global", "ax0"))
		}, `the loop nest of block "Xp" holds other statements, want a nest holding block "Xp" alone`},
		{"compute_at at a loop of its own nest", softmax, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "M"), loopNamed(s, "M", "r"))
		}, `block "M" is already under loop r`},
		{"compute_at with no consumer under the loop", softmax, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "M"), loopNamed(s, "Y", "r"))
		}, `block "E" reads M outside loop r`},
		{"compute_at with an input rewritten in between", rewritten, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "P"), loopNamed(s, "R", "i"))
		}, `block "Q" writes U, which block "P" reads, between the block and loop i; want no writer of its inputs in between`},
		{"compute_at of a block storing at a non-plain index", bias, func(s *Schedule) {
			// U stores relu(T + bias) into D_global, transposed: then at 7 - v_j.
			must(0, s.ReverseComputeInline(blockNamed(s, "D")))
			must(s.CacheWrite(blockNamed(s, "U"), 0, Global))
			st := must(s.BlockOf(blockNamed(s, "U"))).Body.(*Store)
			st.Indices[0] = Bin(Sub, Int(7), st.Indices[0])
		}, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "U"), loopNamed(s, "D_global", "ax0"))
		}, `block "U" stores to D_global at [7 - v_j, v_i], want distinct plain iterators`},
		{"compute_at of a producer after its consumer loop", chain, nil, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "R"), loopNamed(s, "P", "i"))
		}, `block "R" writes the function output Out`},

		{"compute_at under a parallel loop it does not depend on", conv, func(s *Schedule) {
			must(0, s.Parallel(loopNamed(s, "Y", "k")))
		}, func(s *Schedule) error {
			return s.ComputeAt(blockNamed(s, "Xp"), loopNamed(s, "Y", "y"))
		}, `block "Xp" would compute the same region in every iteration of the parallel loop k, want a region that depends on it`},

		// reverse_compute_at
		{"reverse_compute_at splitting a reduction", softmax, nil, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "S"), loopNamed(s, "E", "c"))
		}, `reverse_compute_at: reduction iterator v_c of block "S" would cover 1 of its`},
		{"reverse_compute_at with no producer under the loop", softmax, nil, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "Y"), loopNamed(s, "M", "r"))
		}, `block "Y" reads nothing written under loop r, want a consumer of a block under the loop`},
		{"reverse_compute_at with a producer outside the loop", relu, func(s *Schedule) {
			must(s.DecomposeReduction(blockNamed(s, "C"), loopNamed(s, "C", "k")))
		}, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "k"))
		}, `buffer T is also written by block "C_init" outside loop k, want all its producers under the loop`},
		{"reverse_compute_at reading at a non-plain index", relu, func(s *Schedule) {
			blk := must(s.BlockOf(blockNamed(s, "D")))
			ld := blk.Body.(*Store).Value.(*Call).Args[0].(*Load)
			ld.Indices[1] = Bin(Sub, Int(15), ld.Indices[1])
		}, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "i"))
		}, `block "D" reads T at [v_i, 15 - v_j], want distinct plain iterators`},
		{"reverse_compute_at of a consumer before the loop", chain, nil, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "P"), loopNamed(s, "R", "i"))
		}, `block "P" reads nothing written under loop i`},
		{"reverse_compute_at of a block already moved", relu, func(s *Schedule) {
			must(0, s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "j")))
		}, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "i"))
		}, `block "D" is already under loop i`},

		{"reverse_compute_at under a parallel loop it does not depend on", relu, func(s *Schedule) {
			// C's rows and columns come from a fused loop split in two: the region it writes per
			// iteration of the outer part cannot be expressed, so D would recompute everything.
			ls := must(s.GetLoops(blockNamed(s, "C")))
			ij := must(s.Fuse(ls[0], ls[1]))
			parts := must(s.Split(ij, []IntRV{Lit(32), Lit(8)}))
			must(0, s.Parallel(parts[0]))
		}, func(s *Schedule) error {
			return s.ReverseComputeAt(blockNamed(s, "D"), loopNamed(s, "C", "i_j_fused_0"))
		}, `block "D" would compute the same region in every iteration of the parallel loop i_j_fused_0, want a region that depends on it`},

		// compute_inline
		{"compute_inline of a reduction", relu, nil, func(s *Schedule) error { return s.ComputeInline(blockNamed(s, "C")) },
			`compute_inline: block "C" is a reduction, want an element-wise block (spatial iterators only, no init)`},
		{"compute_inline of an output", relu, nil, func(s *Schedule) error { return s.ComputeInline(blockNamed(s, "D")) },
			`block "D" writes the function output D, want a block writing an intermediate`},
		{"compute_inline with an input rewritten before the consumer", rewritten, nil, func(s *Schedule) error {
			return s.ComputeInline(blockNamed(s, "P"))
		}, `block "Q" writes U, which block "P" reads, between the block and its consumers`},
		{"compute_inline storing at a non-plain index", bias, func(s *Schedule) {
			blk := must(s.BlockOf(blockNamed(s, "U")))
			st := blk.Body.(*Store)
			st.Indices[1] = Bin(FloorMod, Bin(Add, st.Indices[1], Int(1)), Int(8))
		}, func(s *Schedule) error { return s.ComputeInline(blockNamed(s, "U")) },
			`block "U" stores to U at [v_i, (v_j + 1) % 8], want distinct plain iterators covering all 2 of its iterators`},
		{"compute_inline of the root", matmul, nil, func(s *Schedule) error { return s.ComputeInline(blockNamed(s, "root")) },
			"found the root block"},

		// reverse_compute_inline
		{"reverse_compute_inline into a reduction", relu, nil, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "D"))
		}, `reverse_compute_inline: producer "C" is a reduction`},
		{"reverse_compute_inline reading two intermediates", softmax, nil, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "Y"))
		}, `block "Y" reads 2 intermediate buffers, want exactly one`},
		{"reverse_compute_inline of a shared intermediate", chain, nil, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "R"))
		}, `block "R" reads 2 intermediate buffers`},
		{"reverse_compute_inline with another consumer", fanoutFunc, nil, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "R1"))
		}, `buffer T is also read by block "R2", want block "R1" its only consumer`},
		{"reverse_compute_inline of a reduction", relu, nil, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "C"))
		}, `block "C" is a reduction`},
		{"reverse_compute_inline of a buffer read twice", bias, func(s *Schedule) {
			blk := must(s.BlockOf(blockNamed(s, "D")))
			st := blk.Body.(*Store)
			st.Value = Bin(Add, st.Value, &Load{Buffer: must(s.BlockOf(blockNamed(s, "U"))).Body.(*Store).Buffer, Indices: []Expr{st.Indices[0], st.Indices[1]}})
		}, func(s *Schedule) error {
			return s.ReverseComputeInline(blockNamed(s, "D"))
		}, `block "D" reads U at two different indices, want one`},

		// decompose_reduction
		{"decompose_reduction of a block without init", relu, nil, func(s *Schedule) error {
			_, err := s.DecomposeReduction(blockNamed(s, "D"), loopNamed(s, "D", "i"))
			return err
		}, `decompose_reduction: block "D" has no init, want a reduction block with an init`},
		{"decompose_reduction at a loop of another nest", relu, nil, func(s *Schedule) error {
			_, err := s.DecomposeReduction(blockNamed(s, "C"), loopNamed(s, "D", "i"))
			return err
		}, `loop i does not enclose block "C", want a loop of its nest`},
		{"decompose_reduction inside a reduction loop", matmul, func(s *Schedule) {
			ls := must(s.GetLoops(blockNamed(s, "C")))
			must(0, s.Reorder(ls[2], ls[0]))
		}, func(s *Schedule) error {
			_, err := s.DecomposeReduction(blockNamed(s, "C"), loopNamed(s, "C", "j"))
			return err
		}, `loop k outside loop j drives reduction iterator v_k, want every reduction loop at or inside loop j`},
		{"decompose_reduction around a repeated reduction", softmax, func(s *Schedule) {
			must(0, s.ComputeAt(blockNamed(s, "S"), loopNamed(s, "Y", "c")))
		}, func(s *Schedule) error {
			_, err := s.DecomposeReduction(blockNamed(s, "S"), loopNamed(s, "S", "c"))
			return err
		}, `loop c drives no iterator of block "S", so the whole reduction would run again after one init; want loop c inside it`},
		{"decompose_reduction at the root position", matmul, nil, func(s *Schedule) error {
			b := blockNamed(s, "C")
			_, err := s.DecomposeReduction(b, s.newLoopRV(nil))
			return err
		}, "is the root position, not a loop"},
		{"decompose_reduction with a removed block", conv, func(s *Schedule) {
			b := blockNamed(s, "Xp")
			must(0, s.ComputeInline(b))
		}, func(s *Schedule) error {
			_, err := s.DecomposeReduction(BlockRV{id: 0}, loopNamed(s, "Y", "n"))
			return err
		}, `block "Xp" (b0) is no longer in the program`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.f(), nil)
			if tt.setup != nil {
				tt.setup(s)
			}
			before := Print(s.Func())
			insts := len(s.Trace().Insts)
			err := tt.run(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if after := Print(s.Func()); after != before {
				t.Fatalf("a failed primitive changed the program:\n%s\nwas\n%s", after, before)
			}
			if len(s.Trace().Insts) > insts+len(tracedLookups(s.Trace().Insts[insts:])) {
				t.Fatalf("a failed primitive was recorded: %s", s.Trace())
			}
		})
	}
}

// tracedLookups returns the get_block/get_loops instructions among insts (the test's own
// handle lookups, recorded like any primitive).
func tracedLookups(insts []Inst) []Inst {
	var out []Inst
	for _, in := range insts {
		if in.Kind == KindGetBlock || in.Kind == KindGetLoops {
			out = append(out, in)
		}
	}
	return out
}
