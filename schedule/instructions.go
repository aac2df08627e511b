package schedule

import "fmt"

// instInfo describes one instruction kind: its name in TVM-style Python and how Replay applies
// it (calling the primitive, which records it again in the new trace).
type instInfo struct {
	python string
	apply  func(s *Schedule, in Inst, args []rvArg) ([]int, error)
}

// instTable is the table of every instruction kind a trace may hold.
func instTable() map[string]instInfo {
	return map[string]instInfo{
		KindGetBlock: {"get_block", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 0, false); err != nil {
				return nil, err
			}
			b, err := s.GetBlock(in.Name)
			return []int{b.id}, err
		}},
		KindGetLoops: {"get_loops", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			ls, err := s.GetLoops(args[0].block())
			return loopIDs(ls), err
		}},
		KindGetProducers: {"get_producers", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			bs, err := s.GetProducers(args[0].block())
			return blockIDs(bs), err
		}},
		KindGetConsumers: {"get_consumers", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			bs, err := s.GetConsumers(args[0].block())
			return blockIDs(bs), err
		}},
		KindSplit: {"split", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, true); err != nil {
				return nil, err
			}
			factors := make([]IntRV, len(args)-1)
			for i, a := range args[1:] {
				factors[i] = a.int()
			}
			ls, err := s.Split(args[0].loop(), factors)
			return loopIDs(ls), err
		}},
		KindFuse: {"fuse", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, true); err != nil {
				return nil, err
			}
			loops := make([]LoopRV, len(args))
			for i, a := range args {
				loops[i] = a.loop()
			}
			l, err := s.Fuse(loops...)
			return []int{l.id}, err
		}},
		KindReorder: {"reorder", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, true); err != nil {
				return nil, err
			}
			loops := make([]LoopRV, len(args))
			for i, a := range args {
				loops[i] = a.loop()
			}
			return nil, s.Reorder(loops...)
		}},
		KindParallel:  {"parallel", loopKindApply((*Schedule).Parallel)},
		KindVectorize: {"vectorize", loopKindApply((*Schedule).Vectorize)},
		KindUnroll:    {"unroll", loopKindApply((*Schedule).Unroll)},
		KindBind: {"bind", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			return nil, s.Bind(args[0].loop(), in.Name)
		}},
		KindAnnotate: {"annotate", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, false); err != nil {
				return nil, err
			}
			return nil, s.Annotate(args[0].rv(), in.Name, args[1].int())
		}},
		KindPackPanels: {"pack_panels", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			return nil, s.PackPanels(in.Name, args[0].int())
		}},
		KindCacheRead: {"cache_read", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			b, err := s.CacheRead(args[0].block(), in.N, Scope(in.Name))
			return []int{b.id}, err
		}},
		KindCacheWrite: {"cache_write", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			b, err := s.CacheWrite(args[0].block(), in.N, Scope(in.Name))
			return []int{b.id}, err
		}},
		KindComputeAt: {"compute_at", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, false); err != nil {
				return nil, err
			}
			return nil, s.ComputeAt(args[0].block(), args[1].loop())
		}},
		KindReverseComputeAt: {"reverse_compute_at", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, false); err != nil {
				return nil, err
			}
			return nil, s.ReverseComputeAt(args[0].block(), args[1].loop())
		}},
		KindComputeInline: {"compute_inline", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			return nil, s.ComputeInline(args[0].block())
		}},
		KindReverseComputeInline: {"reverse_compute_inline", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			return nil, s.ReverseComputeInline(args[0].block())
		}},
		KindRFactor: {"rfactor", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, false); err != nil {
				return nil, err
			}
			b, err := s.RFactor(args[0].block(), args[1].loop(), Scope(in.Name))
			return []int{b.id}, err
		}},
		KindDecomposeReduction: {"decompose_reduction", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 2, false); err != nil {
				return nil, err
			}
			b, err := s.DecomposeReduction(args[0].block(), args[1].loop())
			return []int{b.id}, err
		}},
		KindSamplePerfectTile: {"sample_perfect_tile", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			vs, err := s.sampleTile(args[0].loop(), in.N, in.Max, in.Limits, in.Name)
			return intIDs(vs), err
		}},
		KindSampleCategorical: {"sample_categorical", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 0, false); err != nil {
				return nil, err
			}
			v, err := s.SampleCategorical(in.Values, in.Probs)
			return []int{v.id}, err
		}},
		KindSampleComputeLocation: {"sample_compute_location", func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
			if err := wantArgs(args, 1, false); err != nil {
				return nil, err
			}
			l, err := s.SampleComputeLocation(args[0].block())
			return []int{l.id}, err
		}},
	}
}

func loopKindApply(prim func(*Schedule, LoopRV) error) func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
	return func(s *Schedule, in Inst, args []rvArg) ([]int, error) {
		if err := wantArgs(args, 1, false); err != nil {
			return nil, err
		}
		return nil, prim(s, args[0].loop())
	}
}

// primError wraps a primitive's failure with the primitive's name.
func primError(prim string, format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{prim}, args...)...)
}
