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
		tiles = samplePerfectTile(s.rng.IntN, loop.Extent, n, maxInnermost)
	}
	out := make([]IntRV, n)
	for i, t := range tiles {
		out[i] = s.newIntRV(t)
	}
	s.record(Inst{Kind: KindSamplePerfectTile, N: n, Max: maxInnermost, Decision: append([]int(nil), tiles...)},
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
