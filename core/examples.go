package core

import "colt/backend"

// ExampleSet is the work dir's tuning records rebuilt into cost-model examples for this
// machine's target: what colt costmodel eval and export-dataset work on.
type ExampleSet struct {
	// Target is the detected target the examples belong to.
	Target backend.Target
	// Examples are the usable records of Target; empty when none could be used.
	Examples []Example
	// Records counts every record read, of any target.
	Records int
	// Skipped counts the records of Target that could not be rebuilt (see Examples).
	Skipped int
	// RecordsByTarget counts the records read per target key, to explain an empty set.
	RecordsByTarget map[string]int
}

// LoadExamples reads every record of the configuration's work dir and rebuilds those of this
// machine's target (detected by opening the backend) into cost-model examples, in the design
// space tune uses here. An invalid catalog or a backend that cannot start is an InputError;
// records that cannot be read are the error ReadRecords returns, which names the file. A set
// without examples is not an error: the caller says why from RecordsByTarget.
func LoadExamples(cfg Config) (*ExampleSet, error) {
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, inputError(err)
	}
	records, err := ReadRecords(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	be, err := OpenBackend(cfg)
	if err != nil {
		return nil, inputError(err)
	}
	target := be.Target()
	set := &ExampleSet{Target: target, Records: len(records), RecordsByTarget: map[string]int{}}
	for _, r := range records {
		set.RecordsByTarget[r.Target]++
	}
	set.Examples, set.Skipped = Examples(records, target.String(), cat, SpaceOptionsFor(target))
	return set, nil
}
