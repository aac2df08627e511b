package core

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// schedModelConfig is a model of three tasks, two of which are the same program (c repeats
// a): the scheduler tunes two, a with weight 3 + 2.
const schedModelConfig = `
[search]
batch_size = 3
confirm_top = 0

[workloads.mm16]
description = "16x16x16 matmul"
sizes = { M = 16, N = 16, K = 16 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]

[workloads.mm8]
description = "8x16x16 matmul"
sizes = { M = 8, N = 16, K = 16 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]

[workloads.m]
description = "three matmuls, two alike"
tasks = [{ name = "a", workload = "mm16", weight = 3 }, { name = "b", workload = "mm8", weight = 1 }, { name = "c", workload = "mm16", weight = 2 }]
`

// schedSession is a session of the model m with the random strategy.
func schedSession(t *testing.T, order TaskOrder, budget int) *Session {
	t.Helper()
	cfg, err := LoadConfig(writeFile(t, schedModelConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.WorkDir = filepath.Join(t.TempDir(), "work")
	cfg.Backend.Repeat, cfg.Backend.MinRepeatMs = 1, 0
	seed := uint64(1)
	s, err := NewSession(SessionOptions{Config: cfg, Workload: "m", Strategy: "random", Budget: budget, TaskOrder: order, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventLog keeps a run's events (the tuners send them from their goroutines).
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func TestTasksWithTheSameProgramAreTunedOnce(t *testing.T) {
	s := schedSession(t, TaskOrderGradient, 12)
	want := []TaskRef{{Name: "m:a", Weight: 5, Also: []string{"m:c"}}, {Name: "m:b", Weight: 1}}
	if got := s.Tasks(); !slices.EqualFunc(got, want, func(a, b TaskRef) bool {
		return a.Name == b.Name && a.Weight == b.Weight && slices.Equal(a.Also, b.Also)
	}) {
		t.Errorf("tasks %+v, want %+v", got, want)
	}
}

// TestTaskSchedulerSharesOneBudget: the model's budget is the total; the rounds start with a
// warm-up round per task in order; the report's rounds, the events' allocation and the task
// reports agree.
func TestTaskSchedulerSharesOneBudget(t *testing.T) {
	s := schedSession(t, TaskOrderGradient, 12)
	var log eventLog
	rep, err := s.Run(context.Background(), log.add)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TaskOrder != TaskOrderGradient || rep.Budget != 12 || len(rep.Tasks) != 2 {
		t.Fatalf("report: order %s, budget %d, %d tasks", rep.TaskOrder, rep.Budget, len(rep.Tasks))
	}
	total := 0
	for _, r := range rep.Tasks {
		total += r.Samples
	}
	if total != 12 {
		t.Errorf("the tasks measured %d samples in all, want the budget, 12", total)
	}
	// roundSize(12, 2 tasks, batch 3) = 2: six rounds, the first two the warm-up in order.
	if len(rep.Rounds) != 6 || rep.Rounds[0].Task != "m:a" || rep.Rounds[1].Task != "m:b" {
		t.Fatalf("rounds %+v, want 6 starting with the warm-up of m:a then m:b", rep.Rounds)
	}
	spent := 0
	for i, r := range rep.Rounds {
		spent += r.Samples
		shares := 0
		for _, sh := range r.Shares {
			shares += sh.Samples
		}
		if r.Round != i+1 || r.Spent != spent || shares != spent || r.Samples != 2 {
			t.Errorf("round %d: %+v (spent %d so far)", i+1, r, spent)
		}
		if r.EndToEndS <= 0 || (i >= 1 && r.Covered != 2) {
			t.Errorf("round %d: end-to-end estimate %g over %d tasks", i+1, r.EndToEndS, r.Covered)
		}
	}
	last := rep.Rounds[len(rep.Rounds)-1]
	for _, sh := range last.Shares {
		for _, r := range rep.Tasks {
			if r.Workload == sh.Task && r.Samples != sh.Samples {
				t.Errorf("%s: %d samples in its report, %d in the allocation", sh.Task, r.Samples, sh.Samples)
			}
		}
	}
	if rep.Weights["m:a"] != 5 || rep.Merged["m:a"][0] != "m:c" {
		t.Errorf("weights %v, merged %v", rep.Weights, rep.Merged)
	}
	// Every later round of a task opens with an EventRound; every event carries the allocation.
	rounds := map[string]int{}
	for _, e := range log.events {
		if e.Allocation == nil {
			t.Fatalf("a %s event of %s without the allocation", e.Kind, e.Workload)
		}
		if e.Kind == EventRound {
			rounds[e.Workload]++
		}
	}
	for _, r := range rep.Rounds {
		rounds[r.Task]--
	}
	for task, n := range rounds {
		if n != -1 {
			t.Errorf("%s: %d EventRound against its rounds (want one fewer: the first opens with EventStart)", task, n)
		}
	}
}

// TestSequentialOrderSplitsTheBudget: in order, each task gets an equal share of the total.
func TestSequentialOrderSplitsTheBudget(t *testing.T) {
	s := schedSession(t, TaskOrderSequential, 7)
	rep, err := s.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range rep.Tasks {
		got = append(got, r.Samples)
	}
	if !slices.Equal(got, []int{4, 3}) || len(rep.Rounds) != 0 {
		t.Errorf("samples per task %v (rounds %d), want [4 3] and no rounds", got, len(rep.Rounds))
	}
}

// TestStopEndsTheScheduledModel: the operator's stop ends the task measuring and the model;
// no later round is granted.
func TestStopEndsTheScheduledModel(t *testing.T) {
	s := schedSession(t, TaskOrderGradient, 60)
	var once sync.Once
	rep, err := s.Run(context.Background(), func(e Event) {
		if e.Kind == EventSample {
			once.Do(func() { s.Commands() <- Command{Kind: CmdStop} })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range rep.Tasks {
		total += r.Samples
		if r.StopReason != StopStopped {
			t.Errorf("%s ended %s, want stopped", r.Workload, r.StopReason)
		}
	}
	if total >= 60 || len(rep.Tasks) == 0 {
		t.Errorf("%d tasks measured %d samples after the stop, want fewer than the budget", len(rep.Tasks), total)
	}
}

func TestProgramKind(t *testing.T) {
	q := programKind([]string{"O[b, m, n] += X[b, m, k] * Wq[k, n]"})
	o := programKind([]string{"O[b, m, n] += X[b, m, k] * Wo[k, n]"})
	norm := programKind([]string{"S[b, m] += X[b, m, k] * X[b, m, k]", "O[b, m, k] = X[b, m, k] * rsqrt(S[b, m] / 4096 + 1e-5) * G[k]"})
	if q != o || q != "T0[b, m, n] += T1[b, m, k] * T2[k, n]" {
		t.Errorf("two projections: %q and %q, want one kind", q, o)
	}
	if norm == q || !strings.Contains(norm, "rsqrt(T0[b, m] / 4096 + 1e-5) * T3[k]") {
		t.Errorf("a norm: %q", norm)
	}
}
