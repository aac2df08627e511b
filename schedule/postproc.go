package schedule

import (
	"errors"
	"fmt"
)

// Postprocess turns a replayed sketch into a concrete program, as TVM's CPU postprocessors
// do: reduction blocks get their init split into a block of its own before the outermost
// reduction loop, and the root's parallel, vectorize and unroll annotations become real
// parallel, vectorized and auto-unrolled loops. Unlike TVM, only a block's innermost loop is
// vectorized (never a fusion of several), which keeps the C vector loops contiguous.
//
// s is typically replayed from an untrusted trace. On an error the schedule may be partly
// rewritten and must be dropped.
func Postprocess(s *Schedule, opt SpaceOptions) (err error) {
	defer guardInput("Postprocess", &err)
	if s == nil || s.fn == nil || s.fn.Root == nil {
		return errors.New("no schedule or program to postprocess")
	}
	if opt.GPU != nil {
		return postprocessGPU(s, opt.withDefaults())
	}
	if err := rewriteReductionBlocks(s); err != nil {
		return err
	}
	if err := rewriteParallelVectorizeUnroll(s, opt.withDefaults()); err != nil {
		return err
	}
	s.fn.Root.Body = normalizeSeqs(s.fn.Root.Body)
	return nil
}

// rewriteReductionBlocks decomposes every reduction block at its outermost reduction loop.
func rewriteReductionBlocks(s *Schedule) error {
	for _, blk := range s.fn.Blocks() {
		if blk.Init == nil {
			continue
		}
		var at *Loop
		for _, lp := range loopsAbove(s.pathTo(blk)) {
			for i, iv := range blk.IterVars {
				if iv.Kind == Reduce && i < len(blk.Bindings) && usesVar(blk.Bindings[i], lp.Var) {
					at = lp
					break
				}
			}
			if at != nil {
				break
			}
		}
		if at == nil {
			continue
		}
		if _, err := s.DecomposeReduction(s.newBlockRV(blk), s.newLoopRV(at)); err != nil {
			return fmt.Errorf("split the init of block %q: %w", blk.Name, err)
		}
	}
	return nil
}

// rewriteParallelVectorizeUnroll reads the root block's annotations, removes them, and
// applies them to every loop nest under the root: the outer spatial loops are fused while
// their product stays within the parallel extent (at least one loop) and parallelized; the
// innermost loop around each block is vectorized when it is spatial and no longer than the
// vector extent; the outermost loop of each nest gets the auto-unroll step.
func rewriteParallelVectorizeUnroll(s *Schedule, opt SpaceOptions) error {
	root := s.fn.Root
	maxParallel, hasParallel := root.Annotations.Int(AnnParallel)
	maxVector, hasVector := root.Annotations.Int(AnnVectorize)
	unroll, hasUnroll := root.Annotations.Int(AnnUnroll)
	for _, k := range []string{AnnParallel, AnnVectorize, AnnUnroll} {
		delete(root.Annotations, k)
	}
	if len(root.Annotations) == 0 {
		root.Annotations = nil
	}
	var nests []Stmt
	if seq, ok := root.Body.(*Seq); ok {
		nests = append(nests, seq.Stmts...)
	} else {
		nests = []Stmt{root.Body}
	}
	for _, nest := range nests {
		top, ok := nest.(*Loop)
		if !ok {
			continue
		}
		if hasParallel && maxParallel > 0 {
			fused, err := parallelizeNest(s, top, maxParallel)
			if err != nil {
				return err
			}
			top = fused
		}
		if hasUnroll && unroll > 0 {
			if top.Annotations == nil {
				top.Annotations = Annotations{}
			}
			top.Annotations[AnnAutoUnrollStep] = fmt.Sprint(unroll)
		}
	}
	if hasVector && maxVector > 1 {
		for _, blk := range s.fn.Blocks() {
			path := s.pathTo(blk)
			if len(path) < 2 {
				continue
			}
			lp, ok := path[len(path)-2].(*Loop)
			if !ok || lp.Kind != Serial || lp.Extent < 2 || int64(lp.Extent) > maxVector || checkConcurrentLoop(lp) != nil {
				continue
			}
			lp.Kind = Vectorized
		}
	}
	return nil
}

// parallelizeNest parallelizes a nest's outer loops (parallelizeOuter) and returns its new
// outermost loop. A serial outer loop of one iteration around several statements (a stage
// computed at it, then the rest of the nest) has nothing to run in parallel: the nests
// inside it are parallelized instead.
func parallelizeNest(s *Schedule, top *Loop, maxParallel int64) (*Loop, error) {
	seq, ok := top.Body.(*Seq)
	if top.Extent != 1 || top.Kind != Serial || !ok {
		return parallelizeOuter(s, top, maxParallel)
	}
	for _, st := range seq.Stmts {
		if inner, ok := st.(*Loop); ok {
			if _, err := parallelizeNest(s, inner, maxParallel); err != nil {
				return nil, err
			}
		}
	}
	return top, nil
}

// parallelizeOuter fuses and parallelizes the outer spatial loops of a nest and returns the
// nest's new outermost loop.
func parallelizeOuter(s *Schedule, top *Loop, maxParallel int64) (*Loop, error) {
	var chain []*Loop
	prod := int64(1)
	for cur := top; cur != nil; {
		if cur.Kind != Serial || checkConcurrentLoop(cur) != nil {
			break
		}
		if len(chain) > 0 && prod*int64(cur.Extent) > maxParallel {
			break
		}
		prod *= int64(cur.Extent)
		chain = append(chain, cur)
		next, ok := cur.Body.(*Loop)
		if !ok {
			break
		}
		cur = next
	}
	if len(chain) == 0 {
		return top, nil
	}
	if err := s.checkNoParallelAround(chain[0]); err != nil {
		return top, nil
	}
	rvs := make([]LoopRV, len(chain))
	for i, lp := range chain {
		rvs[i] = s.newLoopRV(lp)
	}
	target := rvs[0]
	if len(rvs) > 1 {
		fused, err := s.Fuse(rvs...)
		if err != nil {
			return nil, fmt.Errorf("fuse the outer loops for parallelism: %w", err)
		}
		target = fused
	}
	if err := s.Parallel(target); err != nil {
		return nil, fmt.Errorf("parallelize: %w", err)
	}
	lp, _ := s.loopOf(target)
	return lp, nil
}
