package core

import "math"

// taskProgress is what the task scheduler knows of one task of a model: its weight, its size
// and how its best latency went down round after round.
type taskProgress struct {
	Name   string
	Weight int
	// Group names the tasks with the same kind of program (one operator at other sizes): the
	// throughput one of them reached says what the others may reach.
	Group string
	FLOPs int64
	// Samples are the candidates measured for the task so far; Rounds the best latency after
	// each of its rounds (Rounds[0] after its warm-up round), in seconds.
	Samples int
	Rounds  []float64
}

// gradientRule is MetaSchedule's gradient-based task scheduler (from Ansor): after a warm-up
// round per task, the next round goes to the task whose tuning is expected to lower the
// end-to-end latency Σ weight × best latency the most. The expectation mixes the task's recent
// improvement (backward window) with an optimistic guess: its latency falling as fast as it did
// on average, or to the latency a similar task's throughput suggests. Rounds are of equal size,
// so gains per round compare as gains per sample.
type gradientRule struct {
	// Alpha weighs the recent improvement against the optimistic bound; Window is the number
	// of rounds the recent improvement is measured over; Beta scales the similar tasks'
	// throughput.
	Alpha, Beta float64
	Window      int
}

// defaultGradientRule has MetaSchedule's constants.
func defaultGradientRule() gradientRule { return gradientRule{Alpha: 0.2, Beta: 2, Window: 3} }

// next returns the task that gets the next round: the first task without a round yet (the
// warm-up), else the one with the largest expected reduction of the end-to-end latency;
// ties go to the earlier task. done marks tasks that cannot take another round (their
// space is exhausted); -1 means none can.
func (g gradientRule) next(tasks []taskProgress, done []bool) int {
	for i, t := range tasks {
		if len(t.Rounds) == 0 && !done[i] {
			return i
		}
	}
	best, bestGain := -1, math.Inf(-1)
	for i := range tasks {
		if done[i] {
			continue
		}
		if gain := g.expectedGain(tasks, i); gain > bestGain {
			best, bestGain = i, gain
		}
	}
	return best
}

// expectedGain is Ansor's gradient for task i, the expected reduction of Σ weight × best
// latency in its next round: weight × (α × its improvement per round over the backward window
// + (1 − α) × the optimistic next-round drop). The optimistic drop is the larger of its best
// latency / its rounds so far, and its distance to β times the latency it would have at the
// best throughput a similar task reached (only with similar tasks).
func (g gradientRule) expectedGain(tasks []taskProgress, i int) float64 {
	t := tasks[i]
	now := t.Rounds[len(t.Rounds)-1]
	backward := 0.0
	if k := len(t.Rounds) - 1 - g.Window; k >= 0 {
		backward = (t.Rounds[k] - now) / float64(g.Window)
	}
	forward := now / float64(len(t.Rounds))
	if best := g.similarThroughput(tasks, i); best > 0 && t.FLOPs > 0 {
		forward = math.Max(forward, now-g.Beta*float64(t.FLOPs)/best)
	}
	// Unlike Ansor, the optimism fades while the task does not improve: it halves for every
	// Window rounds in a row that left its best latency where it was, so a slow task that
	// stopped improving stops taking the budget from those that still do.
	forward *= math.Exp2(-float64(stalledRounds(t.Rounds)) / float64(g.Window))
	return float64(t.Weight) * (g.Alpha*backward + (1-g.Alpha)*forward)
}

// stalledRounds counts the latest rounds in a row that did not lower the best latency.
func stalledRounds(rounds []float64) int {
	n := 0
	for j := len(rounds) - 1; j > 0 && !(rounds[j] < rounds[j-1]); j-- {
		n++
	}
	return n
}

// similarThroughput is the best FLOP/s reached by the tasks of i's group, i included, when the
// group has another task with a round (0 otherwise).
func (g gradientRule) similarThroughput(tasks []taskProgress, i int) float64 {
	best, others := 0.0, 0
	for j, t := range tasks {
		if t.Group != tasks[i].Group || len(t.Rounds) == 0 || !(t.Rounds[len(t.Rounds)-1] > 0) {
			continue
		}
		if j != i {
			others++
		}
		best = math.Max(best, float64(t.FLOPs)/t.Rounds[len(t.Rounds)-1])
	}
	if others == 0 {
		return 0
	}
	return best
}
