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
// end-to-end latency Σ weight × best latency the most, per sample. The expectation mixes the
// task's recent improvement (backward window) with an optimistic bound: the latency the task
// would have at the best throughput reached by a similar task.
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
// warm-up), else the one with the largest expected reduction of the end-to-end latency per
// sample; ties go to the earlier task. done marks tasks that cannot take another round (their
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

// expectedGain is the expected reduction of Σ weight × best latency per sample spent on task
// i: weight × (α × recent improvement per sample + (1 − α) × the smaller of the average
// improvement per sample so far and what reaching a similar task's throughput would bring).
func (g gradientRule) expectedGain(tasks []taskProgress, i int) float64 {
	t := tasks[i]
	now := t.Rounds[len(t.Rounds)-1]
	samples := math.Max(float64(t.Samples), 1)
	// Recent improvement: the drop over the last Window rounds, per sample of those rounds.
	backward := 0.0
	if k := len(t.Rounds) - 1 - g.Window; k >= 0 && t.Samples > 0 {
		perRound := samples / float64(len(t.Rounds))
		backward = (t.Rounds[k] - now) / (perRound * float64(g.Window))
	}
	// Forward bound: the average drop per sample so far (how fast latency fell from the start
	// of its rounds), capped by the room left below a similar task's best throughput.
	average := now / samples
	room := now
	if best := g.bestThroughput(tasks, t.Group); best > 0 && t.FLOPs > 0 {
		room = now - float64(t.FLOPs)/(g.Beta*best)
	}
	forward := math.Min(average, math.Max(room, 0)/samples)
	return float64(t.Weight) * (g.Alpha*backward + (1-g.Alpha)*forward)
}

// bestThroughput is the best FLOP/s any task of the group reached (0 when none has a round).
func (g gradientRule) bestThroughput(tasks []taskProgress, group string) float64 {
	best := 0.0
	for _, t := range tasks {
		if t.Group == group && len(t.Rounds) > 0 && t.Rounds[len(t.Rounds)-1] > 0 {
			best = math.Max(best, float64(t.FLOPs)/t.Rounds[len(t.Rounds)-1])
		}
	}
	return best
}
