package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// The sim models' policy constants.
const (
	// simRefParamsB is the size at which a sim model reaches its best quality.
	simRefParamsB = 300
	// simMinCandidates and simMaxCandidates bound how many sequences a sim model considers.
	simMinCandidates, simMaxCandidates = 2, 12
	// simMaxNoise and simMinNoise are the score noise, in standard deviations of the candidates'
	// scores, of the smallest and the largest sim models.
	simMaxNoise, simMinNoise = 2.0, 0.2
	// simInvalidSmall and simInvalidLarge are the chances of an invalid next-model name for the
	// smallest and the largest sim models.
	simInvalidSmall, simInvalidLarge = 0.06, 0.012
	// simEscalate is the chance of naming a model larger than the policy's choice.
	simEscalate = 0.2
	// simPoorCalls, simPoorHitRate: a model with at least this many calls and a hit rate below
	// this share of the best model's, or with errors in more than half its calls, counts as
	// doing poorly. Relative, because how often a child improves on its parent depends on the
	// workload and the stage of the search, not only on the model.
	simPoorCalls   = 4
	simPoorHitRate = 0.5
)

// simProvider is an offline stand-in for an LLM whose proposal quality follows its declared
// size. It never touches the network and draws randomness only from Request.Rand, so a search
// with a given seed is reproducible.
//
// Proposal: it draws K candidate sequences, each of 1 to H transformations picked uniformly
// from the vocabulary, where K grows with log(params) from 2 (≤ 1B) to 12 (≥ 300B) and the
// horizon H from 2 to 4. It scores each with Request.Evaluate (the cost model), adds Gaussian
// noise of σ = noise × (standard deviation of the candidates' scores), noise shrinking from 2
// (≤ 1B) to 0.2 (≥ 300B), and proposes the candidate with the best noisy score (the first drawn
// when none applies or Evaluate is nil).
//
// Next model: with a small chance (6% at ≤ 1B, 1.2% at ≥ 300B) an invalid name, so error
// accounting is exercised; otherwise the smallest allowed model that is not doing poorly (at
// least 4 calls and a hit rate under half the best model's, or errors in more than half its
// calls; the largest when all are), and with a 20% chance instead a uniformly drawn larger one.
//
// Usage: token counts are estimates (prompt and answer length / 4), the cost is 0.
type simProvider struct {
	cfg ModelConfig
}

// Config returns the model's configuration.
func (s *simProvider) Config() ModelConfig { return s.cfg }

// Simulated is true: this is a simulated model.
func (s *simProvider) Simulated() bool { return true }

// size is the model's place between the smallest (0, ≤ 1B) and the largest (1, ≥ 300B) sim
// quality.
func (s *simProvider) size() float64 {
	if s.cfg.ParamsB <= 1 {
		return 0
	}
	return math.Min(math.Log(s.cfg.ParamsB)/math.Log(simRefParamsB), 1)
}

// candidates is K, the number of sequences the model considers.
func (s *simProvider) candidates() int {
	return simMinCandidates + int(math.Round(s.size()*(simMaxCandidates-simMinCandidates)))
}

// horizon is H, the longest sequence the model proposes.
func (s *simProvider) horizon() int { return 2 + int(math.Round(2*s.size())) }

// noise is the score noise in standard deviations of the candidates' scores.
func (s *simProvider) noise() float64 { return simMaxNoise + (simMinNoise-simMaxNoise)*s.size() }

// Propose draws, scores and picks a sequence and a next model as the type's comment says.
func (s *simProvider) Propose(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	if req.Rand == nil {
		return Response{}, fmt.Errorf("model %q: a sim model needs Request.Rand, the search's seeded source", s.cfg.Name)
	}
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("model %q: %w", s.cfg.Name, err)
	}
	seq := s.sequence(req)
	next := s.nextModel(req)
	raw, err := json.Marshal(struct {
		Transformations []string `json:"transformations"`
		NextModel       string   `json:"next_model"`
	}{seq, next})
	if err != nil {
		return Response{}, fmt.Errorf("model %q: %w", s.cfg.Name, err)
	}
	// The answer goes through the parser, so its accounting is the real models' accounting.
	resp, err := ParseResponse(string(raw), req.Transformations, req.Models)
	if err != nil {
		return resp, fmt.Errorf("model %q: %w", s.cfg.Name, err)
	}
	system, user := BuildPrompt(req)
	resp.PromptTokens = (len(system) + len(user) + 3) / 4
	resp.CompletionTokens = (len(raw) + 3) / 4
	resp.Latency = time.Since(start)
	return resp, nil
}

// sequence draws K candidates and returns the one with the best noisy score.
func (s *simProvider) sequence(req Request) []string {
	vocab := req.Transformations
	if len(vocab) == 0 {
		return []string{}
	}
	r := req.Rand
	k, h := s.candidates(), s.horizon()
	seqs := make([][]string, k)
	for i := range seqs {
		seq := make([]string, 1+r.IntN(h))
		for j := range seq {
			seq[j] = vocab[r.IntN(len(vocab))]
		}
		seqs[i] = seq
	}
	if req.Evaluate == nil {
		return seqs[0]
	}
	scores := make([]float64, k)
	ok := make([]bool, k)
	var sum, sumSq float64
	n := 0
	for i, seq := range seqs {
		sc, good := req.Evaluate(append([]string(nil), seq...))
		if good && !math.IsNaN(sc) && !math.IsInf(sc, 0) {
			scores[i], ok[i] = sc, true
			sum += sc
			sumSq += sc * sc
			n++
		}
	}
	if n == 0 {
		return seqs[0]
	}
	mean := sum / float64(n)
	sigma := s.noise() * math.Sqrt(math.Max(sumSq/float64(n)-mean*mean, 0))
	best, bestScore := 0, math.Inf(-1)
	for i := range seqs {
		if !ok[i] {
			continue
		}
		if v := scores[i] + sigma*r.NormFloat64(); v > bestScore {
			best, bestScore = i, v
		}
	}
	return seqs[best]
}

// nextModel chooses the next model's name as the type's comment says.
func (s *simProvider) nextModel(req Request) string {
	if len(req.Models) == 0 {
		return ""
	}
	r := req.Rand
	sz := s.size()
	if r.Float64() < simInvalidSmall+(simInvalidLarge-simInvalidSmall)*sz {
		return invalidModelName(req.Models, r)
	}
	stats := make(map[string]ModelStat, len(req.Context.ModelStats))
	for _, m := range req.Context.ModelStats {
		stats[m.Name] = m
	}
	type cand struct {
		name   string
		params float64
		poor   bool
	}
	bestHit := 0.0
	for _, m := range stats {
		if m.Calls >= simPoorCalls {
			bestHit = max(bestHit, m.HitRate)
		}
	}
	cands := make([]cand, 0, len(req.Models))
	for _, name := range req.Models {
		c := cand{name: name, params: math.Inf(1)}
		if m, ok := stats[name]; ok {
			if m.ParamsB > 0 {
				c.params = m.ParamsB
			}
			c.poor = m.Calls >= simPoorCalls && (m.HitRate < simPoorHitRate*bestHit || 2*m.Errors > m.Calls)
		}
		cands = append(cands, c)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].params != cands[j].params {
			return cands[i].params < cands[j].params
		}
		return cands[i].name < cands[j].name
	})
	pick := len(cands) - 1
	for i, c := range cands {
		if !c.poor {
			pick = i
			break
		}
	}
	if larger := len(cands) - 1 - pick; larger > 0 && r.Float64() < simEscalate {
		pick += 1 + r.IntN(larger)
	}
	return cands[pick].name
}

// invalidModelName makes a plausible but invalid model name, as an LLM that misremembers a
// model's id would write it.
func invalidModelName(models []string, r *rand.Rand) string {
	name := models[r.IntN(len(models))] + "-latest"
	for {
		clash := false
		for _, m := range models {
			if strings.EqualFold(m, name) {
				clash = true
				break
			}
		}
		if !clash {
			return name
		}
		name += "-x"
	}
}
