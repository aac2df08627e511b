package providers

import (
	"context"
	"math/rand/v2"
	"time"
)

// Provider proposes joint actions (a transformation sequence and the next model) for node
// expansions. A Provider is safe for concurrent use by several goroutines.
type Provider interface {
	// Config is the model's configuration, with defaults filled in.
	Config() ModelConfig
	// Simulated is true for sim models: they are shown as "sim" everywhere a user sees them and
	// never presented as real LLMs.
	Simulated() bool
	// Propose asks the model for one expansion. An error means the call produced no usable
	// answer (the endpoint failed, or the text held no JSON object); the caller counts it as
	// one of the model's errors and falls back to a random expansion. Even with an error the
	// Response carries what is known (Raw, tokens, latency, cost) so usage is still accounted.
	Propose(ctx context.Context, req Request) (Response, error)
}

// Request is one expansion: the prompt context and what the answer may name.
type Request struct {
	// Context is everything the prompt shows.
	Context Context
	// Transformations is the allowed vocabulary of the target (mutator names, see
	// schedule.MutatorsFor).
	Transformations []string
	// Target is a one-paragraph summary of the machine the program is tuned for (for a GPU:
	// its limits and how the schedule maps to blocks, threads and memories); empty for none.
	Target string
	// Models are the allowed next-model names.
	Models []string
	// Evaluate scores a candidate transformation sequence applied to the current node with the
	// cost model (higher is better; ok=false when it does not apply). Only sim models use it;
	// real models read the prompt.
	Evaluate func(transformations []string) (score float64, ok bool)
	// Rand is the search's seeded source; sim models draw from it and from nothing else.
	// Real models do not use it.
	Rand *rand.Rand
}

// Context is the content of the COLT paper's appendix-B prompt.
type Context struct {
	// Current is the leaf being expanded; Parent and Grandparent are its ancestors and may be
	// absent (Present false).
	Current, Parent, Grandparent NodeInfo
	// Depth is the leaf's depth in the tree.
	Depth int
	// SamplesUsed and Budget are the search's trials progress.
	SamplesUsed, Budget int
	// ModelStats are the global per-model statistics, in the order the prompt lists them.
	ModelStats []ModelStat
}

// NodeInfo is what the prompt shows of one tree node.
type NodeInfo struct {
	// Present is false for an ancestor that does not exist (the prompt says N/A).
	Present bool
	// Program is the node's program text.
	Program string
	// History is the node's transformation history, one instruction per entry.
	History []string
	// Score is the node's predicted score (higher is better).
	Score float64
	// Model is the name of the model that expanded the node ("" when none did, e.g. the root).
	Model string
}

// ModelStat is one model's global statistics as the prompt shows them.
type ModelStat struct {
	// Name is the model's name.
	Name string
	// ParamsB is its parameter count in billions.
	ParamsB float64
	// Calls is how many times it has been invoked.
	Calls int
	// HitRate is the fraction of its calls where score(child) > score(parent).
	HitRate float64
	// Errors counts its invalid transformations and invalid next-model names (+1 each) and
	// failed calls.
	Errors int
	// CourseAlterations counts the course alterations it performed (shown only when non-zero).
	CourseAlterations int
}

// Response is a parsed, validated joint action.
type Response struct {
	// Transformations are valid names in canonical spelling, in the order proposed (may be
	// empty).
	Transformations []string
	// NextModel is a valid model name, or "" when the answer named none that is valid.
	NextModel string
	// InvalidTransformations counts proposed names that matched no transformation; each is one
	// error by the paper's definition.
	InvalidTransformations int
	// InvalidNextModel is true when next_model was missing or named no allowed model; it is one
	// error by the paper's definition. The provider does not substitute a model: the caller
	// chooses, after counting the error.
	InvalidNextModel bool
	// Raw is the model's text.
	Raw string
	// PromptTokens and CompletionTokens are the usage the endpoint reported (sim models:
	// estimated from text length, about four characters per token).
	PromptTokens, CompletionTokens int
	// Latency is the wall time of the call, retries included.
	Latency time.Duration
	// CostUSD is the call's price from the configured per-token prices (0 for sim models).
	CostUSD float64
}

// Errors is the number of errors the answer counts by the paper's definition: +1 per invalid
// transformation, +1 for an invalid next model.
func (r Response) Errors() int {
	n := r.InvalidTransformations
	if r.InvalidNextModel {
		n++
	}
	return n
}
