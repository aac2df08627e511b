package backend

import (
	"colt/schedule"
	"colt/schedule/scheduletest"
)

// The float64 interpreter of the IR lives in schedule/scheduletest, independent of the C
// lowering, so that lowering bugs show up even where the C reference would share them.

// interpret runs f on the harness inputs for seed and returns its outputs in OutputParams order.
func interpret(f *schedule.Func, seed uint64) [][]float64 { return scheduletest.Run(f, seed) }
