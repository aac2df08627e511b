package core

// Scorer ranks candidates for a strategy: the evolutionary search picks parents in proportion
// to their scores and fills a batch with the best-scored unmeasured candidates. The learned cost
// model (a later release) implements it; until then InheritScorer estimates from measured
// results.
type Scorer interface {
	// Name says which estimate ranks the candidates, for logs.
	Name() string
	// Observe learns from measured candidates: the records of earlier runs at the start, then
	// every batch.
	Observe(results []Measured)
	// Predict scores candidates, higher is better: throughput relative to the best measured
	// candidate (1 = as fast as the best, 0 = failed). One score per candidate, in order. For a
	// candidate already measured it reports the measurement (the evolutionary search also ranks
	// the measured candidates that seed its population with it).
	Predict(cands []*Candidate) []float64
}

// InheritScorer is the estimate used before the cost model exists: a measured candidate scores
// its measured throughput relative to the best (0 when it failed); a never-measured candidate
// inherits its parent's score times Discount per generation; a candidate whose lineage reaches
// no measured ancestor gets the neutral score, the mean score of the successfully measured
// candidates (0.5 before any).
type InheritScorer struct {
	// Discount is the factor a child's score gets from its parent's (0 to 1).
	Discount float64

	throughput map[string]float64 // hash → 1/latency of a measured candidate (0: failed)
	lineage    map[string]lineage // hash → how an unmeasured candidate's score derives
	best       float64            // highest throughput measured
	sum        float64            // sum of ok throughputs
	ok         int
}

// lineage ties an unmeasured candidate to its nearest measured ancestor (base; "" = none)
// depth generations up.
type lineage struct {
	base  string
	depth int
}

// NewInheritScorer returns the inheriting estimate with the given discount per generation.
func NewInheritScorer(discount float64) *InheritScorer {
	return &InheritScorer{Discount: discount, throughput: map[string]float64{}, lineage: map[string]lineage{}}
}

// Name implements Scorer.
func (s *InheritScorer) Name() string { return "inherited measured throughput" }

// Observe implements Scorer.
func (s *InheritScorer) Observe(results []Measured) {
	for _, m := range results {
		if m.Candidate == nil || m.Candidate.Hash == "" {
			continue
		}
		h := m.Candidate.Hash
		if _, seen := s.throughput[h]; seen {
			continue
		}
		v := 0.0
		if m.OK() {
			v = 1 / m.LatencyS
			s.sum += v
			s.ok++
			s.best = max(s.best, v)
		}
		s.throughput[h] = v
		if _, ok := s.lineage[h]; !ok && m.Candidate.Parent != "" {
			s.lineage[h] = s.derive(m.Candidate.Parent)
		}
	}
}

// derive is the lineage of a child of parent.
func (s *InheritScorer) derive(parent string) lineage {
	if parent == "" {
		return lineage{}
	}
	if _, ok := s.throughput[parent]; ok {
		return lineage{base: parent, depth: 1}
	}
	if l, ok := s.lineage[parent]; ok {
		if l.base == "" {
			return lineage{}
		}
		return lineage{base: l.base, depth: l.depth + 1}
	}
	return lineage{}
}

// relative is a measured throughput relative to the best.
func (s *InheritScorer) relative(v float64) float64 {
	if s.best <= 0 {
		return 0
	}
	return v / s.best
}

// neutral is the score of a candidate nothing is known about.
func (s *InheritScorer) neutral() float64 {
	if s.ok == 0 {
		return 0.5
	}
	return s.relative(s.sum / float64(s.ok))
}

// Predict implements Scorer.
func (s *InheritScorer) Predict(cands []*Candidate) []float64 {
	out := make([]float64, len(cands))
	for i, c := range cands {
		if c == nil || !c.Valid() && c.Hash == "" {
			continue
		}
		if v, ok := s.throughput[c.Hash]; ok {
			out[i] = s.relative(v)
			continue
		}
		l, ok := s.lineage[c.Hash]
		if !ok {
			l = s.derive(c.Parent)
			s.lineage[c.Hash] = l
		}
		if l.base == "" {
			out[i] = s.neutral()
			continue
		}
		score := s.relative(s.throughput[l.base])
		for range l.depth {
			score *= s.Discount
		}
		out[i] = score
	}
	return out
}
