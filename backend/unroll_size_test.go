package backend

import (
	"context"
	"strings"
	"testing"

	"colt/schedule"
)

func TestUnrolledStatements(t *testing.T) {
	// scheduledMatmul(8, 16, 4): i_0 (2, parallel) · j_0 (2) · k (4) · i_1 (4, unrolled) · j_1 (8,
	// vectorized) around one block (init + update): 4 copies of 2 stores per k iteration.
	sched := scheduledMatmul(matmulFunc(8, 16, 4))
	for _, tc := range []struct {
		name string
		f    *schedule.Func
		want int64
	}{
		{"unscheduled: no copies", matmulFunc(8, 16, 4), 2},
		{"an unrolled loop of 4", sched, 8},
	} {
		if got := UnrolledStatements(tc.f); got != tc.want {
			t.Errorf("%s: %d statements, want %d", tc.name, got, tc.want)
		}
	}
}

func TestOversizedKernelsAreInvalidWithoutACompile(t *testing.T) {
	b := newTestBackend(t, func(c *Config) { c.MaxUnrolledStatements = 4 })
	f := scheduledMatmul(matmulFunc(8, 16, 4)) // 8 statements once unrolled
	built := b.BuildBatch(context.Background(), []Candidate{{Func: f}})
	if built[0].failed == nil || built[0].failed.Status != StatusInvalid || !strings.Contains(built[0].failed.Message, "max_unrolled_statements (4)") {
		t.Fatalf("got %+v, want an invalid candidate naming the limit", built[0].failed)
	}
	if b.Stats().Compiles != 0 {
		t.Errorf("%d compiles, want none", b.Stats().Compiles)
	}
}
