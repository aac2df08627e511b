package core

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// The size-aware preference for the next model when an answer names none that is valid.
const (
	// trialCalls: a model with fewer calls is tried before any other, so none starves.
	trialCalls = 2
	// acceptableErrorRate: a model with more errors per call than this is passed over while
	// another's rate is acceptable.
	acceptableErrorRate = 0.5
	// fewCallsBonus weighs the soft preference for models with few calls against the size
	// preference φ_small (which runs from 0 for the largest model to 1 for the smallest).
	fewCallsBonus = 0.5
)

// modelFor chooses who expands a node: a forced escalation, a pinned model, the floor of the
// largest model, then the node's own model (its parent's recommendation). It counts an
// escalation it carries out and, when issue is set, the call it chooses, under the same lock, so
// the next choice (and a pin or escalation arriving meanwhile) sees it.
func (c *Colt) modelFor(n *Node, issue bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := c.chooseLocked(n)
	if issue && c.models[name] != nil {
		c.stats[name].Calls++
	}
	return name
}

func (c *Colt) chooseLocked(n *Node) string {
	switch {
	case len(c.models) == 0:
		return ""
	case c.escalate:
		// The operator's escalation overrides a pin for one expansion; it is recorded.
		c.escalate = false
		c.stats[c.largest].Escalations++
		return c.largest
	case c.pinned != "":
		return c.pinned
	}
	calls := map[string]int{}
	for name, s := range c.stats {
		calls[name] = s.Calls
	}
	if f := FloorModel(calls, c.largest, c.opt.LargestShare); f != "" {
		return f
	}
	if n != nil && c.models[n.Model] != nil {
		return n.Model
	}
	return c.names[0]
}

// preferredModel is the next model when an answer named none that is valid (the caller has
// counted the error): the paper's size-aware preference. A model with fewer than trialCalls
// calls comes first (the smallest such), so every model is tried; otherwise, among the models
// whose errors per call are acceptable, the one with the best φ_small plus a bonus that shrinks
// with its calls; when no model's error rate is acceptable, the one with the fewest errors per
// call (the smaller on a tie).
func (c *Colt) preferredModel() string {
	if len(c.names) == 0 {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	bySize := append([]string(nil), c.names...)
	sort.SliceStable(bySize, func(a, b int) bool { return c.sizes[bySize[a]] < c.sizes[bySize[b]] })
	for _, name := range bySize {
		if c.stats[name].Calls < trialCalls {
			return name
		}
	}
	best, bestScore := "", math.Inf(-1)
	leastRate, least := math.Inf(1), ""
	for _, name := range bySize {
		s := c.stats[name]
		rate := float64(s.Errors) / float64(s.Calls)
		if rate < leastRate {
			leastRate, least = rate, name
		}
		if rate > acceptableErrorRate {
			continue
		}
		if score := c.sizes.PhiSmall(name) + fewCallsBonus/math.Sqrt(float64(s.Calls)); score > bestScore {
			best, bestScore = name, score
		}
	}
	if best == "" {
		return least
	}
	return best
}

// pinnedModel is the model the operator pinned ("" when none).
func (c *Colt) pinnedModel() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinned
}

// ModelStats returns every model's statistics, in configuration order, with the calls in
// flight at this moment.
func (c *Colt) ModelStats() []ModelStat {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, altered := 0, 0
	for _, s := range c.stats {
		total += s.Calls
		altered += s.Altered
	}
	now := time.Now()
	oldest := map[string]time.Time{}
	inFlight := map[string]int{}
	for j, model := range c.inFlight {
		inFlight[model]++
		if t, ok := oldest[model]; !ok || j.started.Before(t) {
			oldest[model] = j.started
		}
	}
	out := make([]ModelStat, 0, len(c.names))
	for _, name := range c.names {
		s := *c.stats[name]
		if s.Calls > 0 {
			s.HitRate = float64(s.Hits) / float64(s.Calls)
		}
		if total > 0 {
			s.Share = float64(s.Calls) / float64(total)
		}
		// Alteration calls are made by the largest model and counted on it.
		if regular := total - altered; regular > 0 {
			s.RegularShare = float64(s.Calls-s.Altered) / float64(regular)
		}
		s.InFlight = inFlight[name]
		if t, ok := oldest[name]; ok {
			s.OldestS = now.Sub(t).Seconds()
		}
		out = append(out, s)
	}
	return out
}

// Pin makes every expansion selected from now on use model, until Unpin.
func (c *Colt) Pin(model string) error {
	if c.models[model] == nil {
		names := append([]string(nil), c.names...)
		sort.Strings(names)
		return fmt.Errorf("pin: no model %q; the search uses %v", model, names)
	}
	c.mu.Lock()
	c.pinned = model
	c.mu.Unlock()
	return nil
}

// Unpin returns model choice to the search.
func (c *Colt) Unpin() {
	c.mu.Lock()
	c.pinned = ""
	c.mu.Unlock()
}

// Escalate makes the next expansion selected use the largest model.
func (c *Colt) Escalate() error {
	if c.largest == "" {
		return fmt.Errorf("escalate: the search uses no models")
	}
	c.mu.Lock()
	c.escalate = true
	c.mu.Unlock()
	return nil
}

// SteeringState implements Steering.
func (c *Colt) SteeringState() (pinned string, escalating bool, largest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinned, c.escalate, c.largest
}

// callFailures are one model's failed calls since they were last reported.
type callFailures struct {
	n    int
	last error
}

// TakeNotes implements Noter: one line per model whose calls failed since the last call.
func (c *Colt) TakeNotes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, name := range c.names {
		if f := c.failed[name]; f != nil {
			out = append(out, fmt.Sprintf("model %s: %d failed call(s), counted as its errors; random mutations expanded those nodes instead. Last error: %v",
				name, f.n, f.last))
		}
	}
	clear(c.failed)
	return out
}
