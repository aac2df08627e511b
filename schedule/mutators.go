package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Mutator is one transformation of the vocabulary the search strategies and the LLMs use:
// each changes one decision of a candidate's trace, then the trace is replayed.
type Mutator struct {
	// Name is the transformation's name as the prompt and the records show it.
	Name string
	// Weight is the probability a random mutation picks it (TVM's weights for the target).
	Weight float64
	// Summary says in one line what it changes, for the prompt and the docs.
	Summary string
	apply   func(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error)
}

// The transformation names.
const (
	MutTileSize        = "TileSize"
	MutParallel        = "Parallel"
	MutUnroll          = "Unroll"
	MutComputeLocation = "ComputeLocation"
	MutThreadBinding   = "ThreadBinding"
)

// errNotApplicable says a mutator has nothing to change in a trace.
var errNotApplicable = errors.New("nothing to change")

// Mutators lists the CPU transformation vocabulary with TVM's weights.
func Mutators() []Mutator {
	return []Mutator{
		{Name: MutTileSize, Weight: 0.90, Summary: "move a factor between two tiles of one loop's multi-level tiling", apply: mutateTileSize},
		{Name: MutParallel, Weight: 0.02, Summary: "change how many outer loops are fused and run in parallel", apply: mutateParallel},
		{Name: MutUnroll, Weight: 0.03, Summary: "pick another auto-unroll step for the loop nests", apply: mutateUnroll},
		{Name: MutComputeLocation, Weight: 0.05, Summary: "compute a producer block at another loop of its consumer", apply: mutateComputeLocation},
	}
}

// GPUMutators lists the CUDA transformation vocabulary with TVM's CUDA weights.
func GPUMutators() []Mutator {
	return []Mutator{
		{Name: MutTileSize, Weight: 0.90, Summary: "move a factor between two tiles of one loop's multi-level tiling (block, virtual thread, thread, register tiles)", apply: mutateTileSize},
		{Name: MutUnroll, Weight: 0.08, Summary: "pick another auto-unroll step (up to 1024) for the kernels", apply: mutateUnroll},
		{Name: MutThreadBinding, Weight: 0.02, Summary: "change the number of threads per block of an auto-bound (element-wise or reduction) kernel", apply: mutateThreadBinding},
	}
}

// MutatorsFor is the vocabulary of the target opt describes: GPUMutators when opt.GPU is set,
// else Mutators.
func MutatorsFor(opt SpaceOptions) []Mutator {
	if opt.GPU != nil {
		return GPUMutators()
	}
	return Mutators()
}

// MutatorByName finds a mutator of the CPU vocabulary by its exact name.
func MutatorByName(name string) (Mutator, bool) {
	return MutatorByNameFor(SpaceOptions{}, name)
}

// MutatorByNameFor finds a mutator of opt's target vocabulary by its exact name.
func MutatorByNameFor(opt SpaceOptions, name string) (Mutator, bool) {
	for _, m := range MutatorsFor(opt) {
		if m.Name == name {
			return m, true
		}
	}
	return Mutator{}, false
}

// Apply returns a copy of t with one decision changed by this mutator, checked by replaying it
// on f. It fails when the trace offers the mutator nothing to change, or the change does not
// replay; the trace is then nil.
func (m Mutator) Apply(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (_ *Trace, err error) {
	defer guardInput("Mutator.Apply ("+m.Name+")", &err)
	if m.apply == nil {
		return nil, fmt.Errorf("mutator %q has no implementation", m.Name)
	}
	if err := checkMutateInputs(f, t, rng); err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	out, err := m.apply(f, t, opt.withDefaults(), rng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	s, _, err := Replay(f, out, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: the mutated trace does not replay: %w", m.Name, err)
	}
	return s.Trace(), nil
}

// Mutate applies a mutator drawn by weight; when it has nothing to change, the others are
// tried in turn. It returns the new trace and the mutator's name; on an error, nil and "".
func Mutate(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (_ *Trace, _ string, err error) {
	defer guardInput("Mutate", &err)
	if err := checkMutateInputs(f, t, rng); err != nil {
		return nil, "", fmt.Errorf("mutate: %w", err)
	}
	ms := MutatorsFor(opt)
	total := 0.0
	for _, m := range ms {
		total += m.Weight
	}
	x := rng.Float64() * total
	first := len(ms) - 1
	for i, m := range ms {
		if x < m.Weight {
			first = i
			break
		}
		x -= m.Weight
	}
	var errs []error
	for k := range ms {
		m := ms[(first+k)%len(ms)]
		out, err := m.Apply(f, t, opt, rng)
		if err == nil {
			return out, m.Name, nil
		}
		errs = append(errs, err)
	}
	return nil, "", fmt.Errorf("no mutator applies: %w", errors.Join(errs...))
}

// checkMutateInputs rejects the missing program, trace or random source a mutation needs.
func checkMutateInputs(f *Func, t *Trace, rng *rand.Rand) error {
	if err := checkInputs(f, t); err != nil {
		return err
	}
	if rng == nil {
		return errors.New("no random source (nil *rand.Rand)")
	}
	return nil
}

// indicesOf returns the positions of instructions of a kind that satisfy keep.
func indicesOf(t *Trace, kind string, keep func(Inst) bool) []int {
	var out []int
	for i, in := range t.Insts {
		if in.Kind == kind && (keep == nil || keep(in)) {
			out = append(out, i)
		}
	}
	return out
}

// mutateTileSize moves a factor between two tiles of one sampled tiling: the product stays the
// loop's extent and the innermost tile stays within its limit.
func mutateTileSize(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error) {
	cands := indicesOf(t, KindSamplePerfectTile, func(in Inst) bool {
		if len(in.Decision) < 2 || in.Name == AutoBindTile {
			return false
		}
		movable := false
		for _, d := range in.Decision {
			if d < 1 || d > maxTile {
				return false // a corrupt decision: replay repairs it, there is nothing to move
			}
			movable = movable || d > 1
		}
		return movable
	})
	if len(cands) == 0 {
		return nil, errNotApplicable
	}
	for try := 0; try < 16; try++ {
		i := cands[rng.IntN(len(cands))]
		in := t.Insts[i]
		tiles := append([]int(nil), in.Decision...)
		var from []int
		for j, d := range tiles {
			if d > 1 {
				from = append(from, j)
			}
		}
		x := from[rng.IntN(len(from))]
		y := rng.IntN(len(tiles) - 1)
		if y >= x {
			y++
		}
		divs := divisorsAbove1(tiles[x])
		d := divs[rng.IntN(len(divs))]
		tiles[x] /= d
		tiles[y] *= d
		if in.Max > 0 && tiles[len(tiles)-1] > in.Max || !withinLimits(tiles, in.Limits) {
			continue
		}
		out := t.Copy()
		out.Insts[i].Decision = tiles
		return out, nil
	}
	return nil, errNotApplicable
}

// maxTile is the largest tile factor a mutator moves: loop extents fit in an int32.
const maxTile = 1<<31 - 1

// divisorsAbove1 lists the divisors of x greater than 1 in increasing order, in O(√x) steps so
// that a huge factor from a corrupt trace cannot stall the search.
func divisorsAbove1(x int) []int {
	var small, large []int
	for d := 1; d*d <= x; d++ {
		if x%d != 0 {
			continue
		}
		if d > 1 {
			small = append(small, d)
		}
		if e := x / d; e != d {
			large = append(large, e)
		}
	}
	for i := len(large) - 1; i >= 0; i-- {
		small = append(small, large[i])
	}
	return small
}

// mutateUnroll picks another auto-unroll step.
func mutateUnroll(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error) {
	feeds := unrollSamples(t)
	if len(feeds) == 0 {
		return nil, errNotApplicable
	}
	i := feeds[rng.IntN(len(feeds))]
	in := t.Insts[i]
	if len(in.Values) < 2 || len(in.Decision) != 1 {
		return nil, errNotApplicable
	}
	k := rng.IntN(len(in.Values) - 1)
	if k >= in.Decision[0] {
		k++
	}
	out := t.Copy()
	out.Insts[i].Decision = []int{k}
	return out, nil
}

// unrollSamples finds the categorical samples that feed the root's unroll annotation.
func unrollSamples(t *Trace) []int {
	producer := map[string]int{}
	for i, in := range t.Insts {
		if in.Kind == KindSampleCategorical && len(in.Outputs) == 1 {
			producer[in.Outputs[0]] = i
		}
	}
	var out []int
	for _, in := range t.Insts {
		if in.Kind == KindAnnotate && in.Name == AnnUnroll && len(in.Inputs) == 2 {
			if i, ok := producer[in.Inputs[1]]; ok {
				out = append(out, i)
			}
		}
	}
	return out
}

// mutateParallel changes how many outer spatial loops are fused and parallelized, by setting
// the root's parallel extent to the product of another number of outer loops.
func mutateParallel(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error) {
	anns := indicesOf(t, KindAnnotate, func(in Inst) bool { return in.Name == AnnParallel && len(in.Inputs) == 2 })
	if len(anns) == 0 {
		return nil, errNotApplicable
	}
	i := anns[len(anns)-1]
	current, err := strconv.Atoi(t.Insts[i].Inputs[1])
	if err != nil {
		return nil, errNotApplicable
	}
	s, _, err := Replay(f, t, nil)
	if err != nil {
		return nil, err
	}
	// The prefix products of the outer spatial loops of every nest are the extents at which
	// the number of parallel loops changes.
	seen := map[int]bool{}
	var choices []int
	var nests []Stmt
	if seq, ok := s.fn.Root.Body.(*Seq); ok {
		nests = seq.Stmts
	} else {
		nests = []Stmt{s.fn.Root.Body}
	}
	for _, nest := range nests {
		prod := 1
		for lp, ok := nest.(*Loop); ok; lp, ok = lp.Body.(*Loop) {
			if lp.Kind != Serial || checkConcurrentLoop(lp) != nil || prod > 1<<30/max(lp.Extent, 1) {
				break
			}
			prod *= lp.Extent
			if lp.Extent > 1 && !seen[prod] && prod != current {
				seen[prod] = true
				choices = append(choices, prod)
			}
		}
	}
	if len(choices) == 0 {
		return nil, errNotApplicable
	}
	out := t.Copy()
	out.Insts[i].Inputs[1] = strconv.Itoa(choices[rng.IntN(len(choices))])
	return out, nil
}

// mutateComputeLocation moves one block to another legal compute-at loop (or to the root).
func mutateComputeLocation(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error) {
	cands := indicesOf(t, KindSampleComputeLocation, nil)
	for len(cands) > 0 {
		k := rng.IntN(len(cands))
		i := cands[k]
		cands = append(cands[:k], cands[k+1:]...)
		in := t.Insts[i]
		if len(in.Inputs) != 1 {
			continue
		}
		s, _, env, err := replay(f, &Trace{Insts: t.Insts[:i]}, nil)
		if err != nil {
			return nil, err
		}
		id, ok := env[in.Inputs[0]]
		if !ok {
			continue
		}
		locs, err := s.ComputeLocations(BlockRV{id})
		if err != nil {
			continue
		}
		n := len(locs) + 1 // the root plus each legal loop
		if n < 2 {
			continue
		}
		cur := -1
		if len(in.Decision) == 1 {
			cur = in.Decision[0]
		}
		pick := rng.IntN(n-1) - 1
		if pick >= cur {
			pick++
		}
		out := t.Copy()
		out.Insts[i].Decision = []int{pick}
		return out, nil
	}
	return nil, errNotApplicable
}

// mutateThreadBinding moves a factor between the blocks and the threads of one auto-bound
// kernel (the tiling sampled by the GPU's auto-bind rule), keeping the threads within the
// tiling's limit.
func mutateThreadBinding(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, error) {
	cands := indicesOf(t, KindSamplePerfectTile, func(in Inst) bool {
		return in.Name == AutoBindTile && len(in.Decision) == 2 && in.Decision[0] >= 1 && in.Decision[1] >= 1 &&
			in.Decision[0] <= maxTile && in.Decision[1] <= maxTile
	})
	for len(cands) > 0 {
		k := rng.IntN(len(cands))
		i := cands[k]
		cands = append(cands[:k], cands[k+1:]...)
		in := t.Insts[i]
		extent := in.Decision[0] * in.Decision[1]
		var choices []int
		for _, d := range divisorsAbove1(extent) {
			if d != in.Decision[1] && withinLimits([]int{extent / d, d}, in.Limits) {
				choices = append(choices, d)
			}
		}
		if in.Decision[1] != 1 {
			choices = append(choices, 1)
		}
		if len(choices) == 0 {
			continue
		}
		threads := choices[rng.IntN(len(choices))]
		out := t.Copy()
		out.Insts[i].Decision = []int{extent / threads, threads}
		return out, nil
	}
	return nil, errNotApplicable
}
