package schedule_test

import (
	"strings"
	"testing"

	"colt/schedule"
	st "colt/schedule/scheduletest"
)

// TestRFactorKeepsTheResult factors each reduction of a softmax and of a matmul at the inner
// part of its split reduction loop: the program verifies and computes what it computed before,
// the partials' buffer has the factored loop's extent as its last dimension, and the trace
// replays to the same program.
func TestRFactorKeepsTheResult(t *testing.T) {
	cases := []struct {
		name, block string
		f           func() *schedule.Func
		factor      int
	}{
		{"softmax max", "M", func() *schedule.Func { return st.Softmax(4, 6) }, 3},
		{"softmax sum", "S", func() *schedule.Func { return st.Softmax(4, 6) }, 2},
		{"matmul", "C", func() *schedule.Func { return st.Matmul(8, 8, 8, false) }, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f()
			want := st.Run(f, seed)
			s := schedule.New(f, nil)
			b := must(s.GetBlock(c.block))
			loops := must(s.GetLoops(b))
			r := loops[len(loops)-1]
			blk := must(s.BlockOf(b))
			ext := blk.IterVars[len(blk.IterVars)-1].Extent
			parts := must(s.Split(r, []schedule.IntRV{schedule.Lit(ext / c.factor), schedule.Lit(c.factor)}))
			rf := must(s.RFactor(b, parts[1], schedule.Shared))
			same(t, s, want, "rfactor")
			rfBlk := must(s.BlockOf(rf))
			buf := rfBlk.Writes[0].Buffer
			if buf.Scope != schedule.Shared || buf.Shape[len(buf.Shape)-1] != c.factor {
				t.Errorf("partials buffer %s%v in %s, want a shared buffer whose last dimension is %d", buf.Name, buf.Shape, buf.Scope, c.factor)
			}
			replayed, _, err := schedule.Replay(f, s.Trace(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if schedule.Print(replayed.Func()) != schedule.Print(s.Func()) {
				t.Error("the trace replays to another program")
			}
		})
	}
}

// TestRFactorRejects: what rfactor cannot factor is an error naming the problem.
func TestRFactorRejects(t *testing.T) {
	f := st.Softmax(4, 6)
	s := schedule.New(f, nil)
	e := must(s.GetBlock("E"))
	el := must(s.GetLoops(e))
	if _, err := s.RFactor(e, el[1], schedule.Shared); err == nil || !strings.Contains(err.Error(), "reduction with an init") {
		t.Errorf("element-wise block: %v, want an error asking for a reduction", err)
	}
	m := must(s.GetBlock("M"))
	ml := must(s.GetLoops(m))
	if _, err := s.RFactor(m, ml[0], schedule.Shared); err == nil || !strings.Contains(err.Error(), "spatial iterators") {
		t.Errorf("spatial loop: %v, want an error naming the spatial loop", err)
	}
	if _, err := s.RFactor(m, ml[1], "texture"); err == nil || !strings.Contains(err.Error(), "scope") {
		t.Errorf("bad scope: %v", err)
	}
}
