package schedule

import "math/rand/v2"

// DesignSpace returns the sketches of f's design space (stub: the unscheduled program).
func DesignSpace(f *Func, opt SpaceOptions) ([]Sketch, error) {
	return []Sketch{{Name: "unscheduled", Trace: &Trace{}}}, nil
}

// Postprocess applies the postprocessors (stub).
func Postprocess(s *Schedule, opt SpaceOptions) error { return nil }

// Mutator is one transformation of the vocabulary.
type Mutator struct {
	Name   string
	Weight float64
}

// Mutators lists the mutators with their weights.
func Mutators() []Mutator {
	return []Mutator{{"TileSize", 0.90}, {"Parallel", 0.02}, {"Unroll", 0.03}, {"ComputeLocation", 0.05}}
}

// Mutate changes one decision of t (stub: fails).
func Mutate(f *Func, t *Trace, opt SpaceOptions, rng *rand.Rand) (*Trace, string, error) {
	return nil, "", errNoRandom
}
