package schedule

import "errors"

// errNoRandom is returned by a sampling instruction that has no decision to replay and no
// random source to draw one from.
var errNoRandom = errors.New("no decision to replay and no random source to sample one")

// SamplePerfectTile draws n factors whose product is the loop's extent, distributing the
// extent's prime factors over the tiles uniformly, with the innermost factor at most
// maxInnermost (no limit when it is 0). Replaying a decision that no longer fits (its product
// is not the extent, or its innermost factor is too large) repairs it to [extent, 1, ..., 1].
func (s *Schedule) SamplePerfectTile(l LoopRV, n, maxInnermost int) ([]IntRV, error) {
	return s.SampleLimitedTile(l, n, maxInnermost, nil)
}

// SampleLimitedTile is SamplePerfectTile with a preferred upper bound per tile (0: none; nil:
// none at all): random draws put a prime factor only in a tile it still fits, and factors that
// fit nowhere go to the outermost tile. The bounds shape sampling and mutation only; replay
// accepts any perfect tiling.
func (s *Schedule) SampleLimitedTile(l LoopRV, n, maxInnermost int, limits []int) ([]IntRV, error) {
	return s.sampleTile(l, n, maxInnermost, limits, "")
}

// AutoBindTile names the tilings of the GPU auto-bind rule (blocks × threads), which the
// ThreadBinding mutator changes and TileSize leaves alone.
const AutoBindTile = "auto_bind"

// SampleThreadTile splits a fused loop's extent into blocks × threads with at most maxThreads
// threads, for binding to blockIdx.x and threadIdx.x.
func (s *Schedule) SampleThreadTile(l LoopRV, maxThreads int) ([]IntRV, error) {
	return s.sampleTile(l, 2, 0, []int{0, maxThreads}, AutoBindTile)
}

func (s *Schedule) sampleTile(l LoopRV, n, maxInnermost int, limits []int, name string) ([]IntRV, error) {
	loop, err := s.loopOf(l)
	if err != nil {
		return nil, primError("sample_perfect_tile", "%v", err)
	}
	if n < 1 || n > 16 {
		return nil, primError("sample_perfect_tile", "found n=%d tiles, want 1 to 16", n)
	}
	var tiles []int
	if d, ok := s.decision(); ok {
		tiles = d
		if !validTiles(tiles, n, loop.Extent, maxInnermost) {
			tiles = make([]int, n)
			for i := range tiles {
				tiles[i] = 1
			}
			tiles[0] = loop.Extent
			s.replay.repaired = true
		}
	} else {
		if s.rng == nil {
			return nil, primError("sample_perfect_tile", "%v", errNoRandom)
		}
		if len(limits) == n {
			tiles = sampleLimitedTile(s.rng.IntN, loop.Extent, limits, maxInnermost)
		} else {
			tiles = samplePerfectTile(s.rng.IntN, loop.Extent, n, maxInnermost)
		}
	}
	out := make([]IntRV, n)
	for i, t := range tiles {
		out[i] = s.newIntRV(t)
	}
	var lim []int
	if len(limits) == n {
		lim = append([]int(nil), limits...)
	}
	s.record(Inst{Kind: KindSamplePerfectTile, Name: name, N: n, Max: maxInnermost, Limits: lim, Decision: append([]int(nil), tiles...)},
		s.names(l.id), intIDs(out))
	return out, nil
}

func validTiles(tiles []int, n, extent, maxInnermost int) bool {
	if len(tiles) != n {
		return false
	}
	prod := 1
	for _, t := range tiles {
		if t < 1 || t > extent {
			return false
		}
		prod *= t
	}
	return prod == extent && (maxInnermost <= 0 || tiles[n-1] <= maxInnermost)
}

// samplePerfectTile assigns each prime factor of extent to a uniformly chosen tile, retrying
// while the innermost tile exceeds maxInnermost; after a bounded number of tries the excess
// moves to the outermost tile.
func samplePerfectTile(intn func(int) int, extent, n, maxInnermost int) []int {
	primes := primeFactors(extent)
	tiles := make([]int, n)
	for try := 0; ; try++ {
		for i := range tiles {
			tiles[i] = 1
		}
		for _, p := range primes {
			tiles[intn(n)] *= p
		}
		if maxInnermost <= 0 || tiles[n-1] <= maxInnermost || n == 1 {
			return tiles
		}
		if try == 32 {
			for tiles[n-1] > maxInnermost {
				p := primeFactors(tiles[n-1])[0]
				tiles[n-1] /= p
				tiles[0] *= p
			}
			return tiles
		}
	}
}

// sampleLimitedTile assigns each prime factor of extent to a uniformly chosen tile among those
// it still fits in (limit 0: no bound; the innermost tile also within maxInnermost); a factor
// that fits nowhere goes to the outermost tile.
func sampleLimitedTile(intn func(int) int, extent int, limits []int, maxInnermost int) []int {
	n := len(limits)
	tiles := make([]int, n)
	for i := range tiles {
		tiles[i] = 1
	}
	bound := func(i int) int {
		b := limits[i]
		if i == n-1 && maxInnermost > 0 && (b <= 0 || maxInnermost < b) {
			b = maxInnermost
		}
		return b
	}
	fits := make([]int, 0, n)
	for _, p := range primeFactors(extent) {
		fits = fits[:0]
		for i := range tiles {
			if b := bound(i); b <= 0 || tiles[i]*p <= b {
				fits = append(fits, i)
			}
		}
		if len(fits) == 0 {
			tiles[0] *= p
			continue
		}
		tiles[fits[intn(len(fits))]] *= p
	}
	return tiles
}

// withinLimits reports whether every tile respects its preferred bound.
func withinLimits(tiles, limits []int) bool {
	if len(limits) != len(tiles) {
		return true
	}
	for i, t := range tiles {
		if limits[i] > 0 && t > limits[i] {
			return false
		}
	}
	return true
}

func primeFactors(x int) []int {
	var out []int
	for p := 2; p*p <= x; p++ {
		for x%p == 0 {
			out = append(out, p)
			x /= p
		}
	}
	if x > 1 {
		out = append(out, x)
	}
	return out
}

// SampleCategorical draws one of values with the given probabilities. Replaying a decision out
// of range repairs it by drawing again (or taking the first value without a random source).
func (s *Schedule) SampleCategorical(values []int, probs []float64) (IntRV, error) {
	if len(values) == 0 || len(values) != len(probs) {
		return IntRV{}, primError("sample_categorical", "found %d values and %d probabilities, want the same positive number", len(values), len(probs))
	}
	total := 0.0
	for _, p := range probs {
		if !(p >= 0) || p > 1e9 {
			return IntRV{}, primError("sample_categorical", "found probability %v, want a finite number ≥ 0", p)
		}
		total += p
	}
	if total <= 0 {
		return IntRV{}, primError("sample_categorical", "probabilities sum to %v, want more than 0", total)
	}
	idx := -1
	if d, ok := s.decision(); ok {
		if len(d) == 1 && d[0] >= 0 && d[0] < len(values) {
			idx = d[0]
		} else {
			s.replay.repaired = true
		}
	}
	if idx < 0 {
		if s.rng == nil {
			if s.replay == nil || s.replay.decision == nil {
				return IntRV{}, primError("sample_categorical", "%v", errNoRandom)
			}
			idx = 0
		} else {
			x := s.rng.Float64() * total
			idx = len(values) - 1
			for i, p := range probs {
				if x < p {
					idx = i
					break
				}
				x -= p
			}
		}
	}
	out := s.newIntRV(values[idx])
	s.record(Inst{Kind: KindSampleCategorical, Values: append([]int(nil), values...), Probs: append([]float64(nil), probs...),
		Decision: []int{idx}}, nil, []int{out.id})
	return out, nil
}

// SampleComputeLocation draws where a block may be computed: the root position (its own loop
// nest, decision -1) or one of the loops ComputeAt accepts for it (decision = index among
// them, outermost first). A replayed index past the last legal loop is repaired to the last.
func (s *Schedule) SampleComputeLocation(b BlockRV) (LoopRV, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return LoopRV{-1}, primError("sample_compute_location", "%v", err)
	}
	locs := s.computeLocations(blk)
	idx := -2
	if d, ok := s.decision(); ok {
		switch {
		case len(d) != 1 || d[0] < -1:
			s.replay.repaired = true
		case d[0] >= len(locs):
			idx = len(locs) - 1
			s.replay.repaired = true
		default:
			idx = d[0]
		}
	}
	if idx == -2 {
		if s.rng == nil {
			if s.replay == nil || s.replay.decision == nil {
				return LoopRV{-1}, primError("sample_compute_location", "%v", errNoRandom)
			}
			idx = -1
		} else {
			idx = s.rng.IntN(len(locs)+1) - 1
		}
	}
	var out LoopRV
	if idx < 0 {
		out = s.newLoopRV(nil)
	} else {
		out = s.newLoopRV(locs[idx])
	}
	s.record(Inst{Kind: KindSampleComputeLocation, Decision: []int{idx}}, s.names(b.id), []int{out.id})
	return out, nil
}

// decision returns the decision being replayed, if any.
func (s *Schedule) decision() ([]int, bool) {
	if s.replay == nil || s.replay.decision == nil {
		return nil, false
	}
	return s.replay.decision, true
}

// ComputeLocations lists the loops ComputeAt accepts for a block, outermost first, without
// changing anything; a mutator picks among them.
func (s *Schedule) ComputeLocations(b BlockRV) ([]*Loop, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return nil, err
	}
	return s.computeLocations(blk), nil
}
