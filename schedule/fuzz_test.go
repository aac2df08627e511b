package schedule_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"colt/schedule"
	st "colt/schedule/scheduletest"
)

// fuzzPrograms are small programs covering every kind of stage the workloads have.
func fuzzPrograms() []*schedule.Func {
	return []*schedule.Func{
		st.Matmul(8, 12, 6, true),
		st.PadConv1D(),
		st.Softmax(4, 6),
		st.Conv2D(1, 2, 3, 5, 5),
		st.MatmulBiasRelu(6, 8, 4),
	}
}

// FuzzSchedules applies random primitive chains, random mutation chains and randomly corrupted
// traces to small programs. Nothing may panic, and no entry point may answer with the input
// guard's error (a panic it caught), a failed primitive must leave the program as it was, and
// every program that passes the verifier must compute what the unscheduled one does.
func FuzzSchedules(f *testing.F) {
	for i := 0; i < 24; i++ {
		f.Add(uint64(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, pick uint8) {
		progs := fuzzPrograms()
		prog := progs[int(pick)%len(progs)]
		want := st.Run(prog, 1)
		rng := rand.New(rand.NewPCG(seed, 99))
		noPanic := func(err error, what string) {
			t.Helper()
			if errors.Is(err, schedule.ErrInternalForTest) {
				t.Fatalf("%s reached a panic: %v", what, err)
			}
		}
		check := func(p *schedule.Func, what string) {
			t.Helper()
			if schedule.Verify(p) != nil {
				return
			}
			if err := st.Equal(st.Run(p, 1), want, 1e-9); err != nil {
				t.Fatalf("%s: a verified program computes something else: %v\n%s", what, err, schedule.Print(p))
			}
		}

		// Random primitive chains.
		s := schedule.New(prog, rng)
		for step := 0; step < 10; step++ {
			before := schedule.Print(s.Func())
			if err := randomPrimitive(s, rng); err != nil {
				if after := schedule.Print(s.Func()); after != before {
					t.Fatalf("a failed primitive (%v) changed the program:\n%s\nwas\n%s", err, after, before)
				}
				continue
			}
			if err := schedule.Verify(s.Func()); err != nil {
				t.Fatalf("a primitive produced a program that does not verify: %v\n%s\ntrace:\n%s", err, schedule.Print(s.Func()), s.Trace())
			}
			check(s.Func(), "primitive chain")
		}
		if r, _, err := schedule.Replay(prog, s.Trace(), nil); err != nil {
			t.Fatalf("the recorded trace does not replay: %v\n%s", err, s.Trace())
		} else if schedule.Print(r.Func()) != schedule.Print(s.Func()) {
			t.Fatalf("the recorded trace replays to another program")
		}

		// Random mutation chains from the design space.
		opt := schedule.DefaultSpaceOptions(2)
		sketches, err := schedule.DesignSpace(prog, opt)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := schedule.SampleCandidate(prog, sketches[rng.IntN(len(sketches))].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 6; step++ {
			if next, _, err := schedule.Mutate(prog, tr, opt, rng); err == nil {
				tr = next
			} else {
				noPanic(err, "a mutation")
			}
			if p, err := schedule.Build(prog, tr, opt); err == nil {
				check(p, "mutation chain")
			} else {
				noPanic(err, "building a mutated trace")
			}
		}

		// Corrupted traces: change one decision or input at random.
		data, _ := json.Marshal(tr)
		for step := 0; step < 4; step++ {
			bad, _ := schedule.ParseTrace(data)
			corrupt(bad, rng)
			if p, err := schedule.Build(prog, bad, opt); err == nil {
				check(p, "corrupted trace")
			} else {
				noPanic(err, "building a corrupted trace")
			}
		}
	})
}

// corrupt changes one decision, literal or input of a trace at random.
func corrupt(t *schedule.Trace, rng *rand.Rand) {
	if len(t.Insts) == 0 {
		return
	}
	in := &t.Insts[rng.IntN(len(t.Insts))]
	switch {
	case len(in.Decision) > 0 && rng.IntN(2) == 0:
		in.Decision[rng.IntN(len(in.Decision))] = rng.IntN(70) - 3
	case len(in.Inputs) > 0:
		names := []string{"b0", "l1", "l5", "v3", "r2", "0", "3", "-1", "64"}
		in.Inputs[rng.IntN(len(in.Inputs))] = names[rng.IntN(len(names))]
	default:
		in.Name = []string{"root", "C", "T", "global", "local", "threadIdx.x", ""}[rng.IntN(7)]
	}
}

// randomPrimitive applies one primitive with random arguments drawn from the program's
// current blocks and loops; many such calls are illegal and must fail cleanly.
func randomPrimitive(s *schedule.Schedule, rng *rand.Rand) error {
	blocks := s.Func().Blocks()
	if len(blocks) == 0 {
		return nil
	}
	b, err := s.GetBlock(blocks[rng.IntN(len(blocks))].Name)
	if err != nil {
		return err
	}
	loops, err := s.GetLoops(b)
	if err != nil {
		return err
	}
	other, err := s.GetBlock(blocks[rng.IntN(len(blocks))].Name)
	if err != nil {
		return err
	}
	otherLoops, _ := s.GetLoops(other)
	anyLoop := func() schedule.LoopRV {
		all := append(append([]schedule.LoopRV(nil), loops...), otherLoops...)
		if len(all) == 0 {
			return schedule.LoopRV{}
		}
		return all[rng.IntN(len(all))]
	}
	switch rng.IntN(16) {
	case 0, 1:
		l := anyLoop()
		lp, err := s.LoopOf(l)
		if err != nil || lp == nil {
			return nil
		}
		tiles, err := s.SamplePerfectTile(l, 2+rng.IntN(2), 4)
		if err != nil {
			return err
		}
		_, err = s.Split(l, tiles)
		return err
	case 2:
		if len(loops) < 2 {
			return nil
		}
		i := rng.IntN(len(loops) - 1)
		_, err := s.Fuse(loops[i], loops[i+1])
		return err
	case 3:
		perm := rng.Perm(len(loops))
		order := make([]schedule.LoopRV, 0, len(loops))
		for _, i := range perm[:rng.IntN(len(perm)+1)] {
			order = append(order, loops[i])
		}
		if len(order) == 0 {
			return nil
		}
		return s.Reorder(order...)
	case 4:
		return s.Parallel(anyLoop())
	case 5:
		return s.Vectorize(anyLoop())
	case 6:
		return s.Unroll(anyLoop())
	case 7:
		_, err := s.CacheRead(b, rng.IntN(3), []schedule.Scope{schedule.Global, schedule.Local}[rng.IntN(2)])
		return err
	case 8:
		_, err := s.CacheWrite(b, rng.IntN(2), schedule.Global)
		return err
	case 9:
		return s.ComputeAt(b, anyLoop())
	case 10:
		return s.ReverseComputeAt(b, anyLoop())
	case 11:
		return s.ComputeInline(b)
	case 12:
		return s.ReverseComputeInline(b)
	case 13:
		_, err := s.DecomposeReduction(b, anyLoop())
		return err
	case 14:
		l, err := s.SampleComputeLocation(b)
		if err != nil {
			return err
		}
		return s.ComputeAt(b, l)
	default:
		return s.Annotate(anyLoop(), schedule.AnnAutoUnrollStep, schedule.Lit(16))
	}
}

func TestComputeLocationMutatorMovesABlock(t *testing.T) {
	prog := st.Conv2D(1, 2, 3, 6, 6)
	want := st.Run(prog, 1)
	opt := schedule.DefaultSpaceOptions(2)
	sketches, err := schedule.DesignSpace(prog, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	m, ok := schedule.MutatorByName(schedule.MutComputeLocation)
	if !ok {
		t.Fatal("no ComputeLocation mutator")
	}
	moved := 0
	sketches = slices.DeleteFunc(sketches, func(s schedule.Sketch) bool { return s.Name == schedule.PlainSketch })
	for i := 0; i < 12; i++ {
		tr, err := schedule.SampleCandidate(prog, sketches[i%len(sketches)].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		next, err := m.Apply(prog, tr, opt, rng)
		if err != nil {
			t.Fatalf("ComputeLocation found nothing to move in a program with a padding stage: %v", err)
		}
		for j, in := range next.Insts {
			if in.Kind == schedule.KindSampleComputeLocation && in.Decision[0] != tr.Insts[j].Decision[0] {
				moved++
			}
		}
		p, err := schedule.Build(prog, next, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Equal(st.Run(p, 1), want, 1e-9); err != nil {
			t.Fatal(err)
		}
	}
	if moved != 12 {
		t.Fatalf("the padding stage moved in %d of 12 mutations, want every one", moved)
	}
}
