package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"colt/providers"
	"colt/scoring"
)

// fakeLLM is an in-process OpenAI-compatible chat-completions endpoint that answers each
// request with the next scripted behaviour and records, per model, what it did.
type fakeLLM struct {
	mu     sync.Mutex
	script []string
	next   int
	seen   map[string][]string // model → behaviours served
	// prompts are the messages of every request, joined, in order.
	prompts []string
}

// The scripted behaviours and the errors each costs the model, by the paper's definition (+1
// per invalid transformation, +1 per invalid next model) plus one per failed call.
var fakeErrors = map[string]int{
	"good":           0,
	"malformed":      1, // no JSON object at all: a failed call
	"unknown-transf": 2, // two unknown transformation names (one valid)
	"unknown-model":  1,
	"429":            1, // retries are off: a failed call
	"500":            1,
	"hang":           1, // the client times out
}

func (f *fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	kind := f.script[f.next%len(f.script)]
	f.next++
	f.seen[req.Model] = append(f.seen[req.Model], kind)
	var prompt strings.Builder
	for _, m := range req.Messages {
		prompt.WriteString(m.Content + "\n")
	}
	f.prompts = append(f.prompts, prompt.String())
	f.mu.Unlock()
	answer := ""
	switch kind {
	case "good":
		answer = "```json\n{\"transformations\": [\"TileSize\", \"Unroll\"], \"next_model\": \"small\"}\n```"
	case "malformed":
		answer = "I would tile the loops more aggressively."
	case "unknown-transf":
		answer = `{"transformations": ["TileSize", "Vectorise", "FuseEverything"], "next_model": "big"}`
	case "unknown-model":
		answer = `{"transformations": ["Parallel"], "next_model": "gpt-17"}`
	case "429":
		http.Error(w, `{"error": {"message": "rate limited"}}`, http.StatusTooManyRequests)
		return
	case "500":
		http.Error(w, `{"error": {"message": "boom"}}`, http.StatusInternalServerError)
		return
	case "hang":
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
		}
		return
	}
	writeCompletion(w, req.Model, answer)
}

// writeCompletion writes a chat completion whose one choice says content, as an
// OpenAI-compatible endpoint answers.
func writeCompletion(w http.ResponseWriter, model, content string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "x", "object": "chat.completion", "model": model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
	})
}

func TestColtWithAFlakyOpenAIEndpoint(t *testing.T) {
	fake := &fakeLLM{script: []string{"good", "malformed", "unknown-transf", "unknown-model", "429", "500", "hang", "good"},
		seen: map[string][]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Models = nil
	for _, m := range []struct {
		name   string
		params float64
	}{{"big", 300}, {"small", 8}} {
		cfg.Models = append(cfg.Models, providers.ModelConfig{Name: m.name, Kind: providers.KindOpenAI, ParamsB: m.params,
			BaseURL: srv.URL + "/v1", APIKeyEnv: "FAKE_KEY", TimeoutS: 1, Retries: -1, PriceInPerM: 1, PriceOutPerM: 10})
	}
	getenv := func(name string) string {
		if name == "FAKE_KEY" {
			return "test-key"
		}
		return ""
	}
	model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
	strat, err := NewColtStrategy("colt", cfg, NewCostModelScorer(model, "w"), getenv)
	if err != nil {
		t.Fatal(err)
	}
	w := ttWorkload(t)
	rep, events, recs := ttTune(t, w, ttRun{workDir: t.TempDir(), strategy: strat, budget: 10, seed: 2, sketches: noSketches})
	if rep.Samples != 10 || len(recs) != 10 {
		t.Fatalf("the run measured %d samples (%d records), want all 10 despite the failing endpoint", rep.Samples, len(recs))
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	total := 0
	for _, m := range rep.Models {
		served := fake.seen[m.Name]
		want := 0
		for _, kind := range served {
			want += fakeErrors[kind]
		}
		if m.Calls != len(served) {
			t.Errorf("%s: %d calls, the endpoint served %d requests", m.Name, m.Calls, len(served))
		}
		if m.Errors != want {
			t.Errorf("%s: %d errors, want %d for %v", m.Name, m.Errors, want, served)
		}
		total += m.Calls
		if m.Simulated || m.Kind != providers.KindOpenAI {
			t.Errorf("%s is reported as %s (simulated %v)", m.Name, m.Kind, m.Simulated)
		}
	}
	if total < len(fake.script) {
		t.Fatalf("only %d calls reached the endpoint; want the whole script of %d behaviours exercised", total, len(fake.script))
	}
	// Failed calls are reported to the operator, not only counted.
	reported := false
	for _, e := range events {
		if e.Kind == EventNote && strings.Contains(e.Message, "failed call") && strings.Contains(e.Message, "Last error") {
			reported = true
		}
	}
	if !reported {
		t.Error("no note reported the endpoint's failed calls")
	}
	// The prompt tells the model how far the search is: samples measured of the budget, never
	// going back (the search runs ahead of the measurements, so it can stay at 0 in a short run;
	// TestPromptShowsTrialsProgress checks the count itself).
	used := -1
	for _, p := range fake.prompts {
		var n, budget int
		if _, err := fmt.Sscanf(progressLine(p), "Trials progress: %d / %d", &n, &budget); err != nil || budget != 10 || n < used || n >= 10 {
			t.Fatalf("trials progress %q after %d samples; want samples so far of the budget 10", progressLine(p), used)
		}
		used = n
	}
	var big providers.ModelConfig
	for _, m := range cfg.Models {
		if m.Name == "big" {
			big = m
		}
	}
	for _, m := range rep.Models {
		if m.Name == big.Name && float64(m.Calls) < 0.2*float64(total)-1 {
			t.Errorf("the largest model made %d of %d calls, want at least 20%%", m.Calls, total)
		}
	}
}

// coltOnTestWorkload is a colt search over the test workload with the default sim models and
// the cost model in its analytic phase, initialised and ready to propose.
func coltOnTestWorkload(t *testing.T) *Colt {
	t.Helper()
	model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
	return coltWithScorer(t, NewCostModelScorer(model, "w"), 4)
}

func callsByModel(c *Colt) map[string]int {
	out := map[string]int{}
	for _, s := range c.ModelStats() {
		out[s.Name] = s.Calls
	}
	return out
}

func TestPinAndEscalate(t *testing.T) {
	c := coltOnTestWorkload(t)
	c.Propose(context.Background(), 4)
	if err := c.Pin("sim-llama-3.1-8b"); err != nil {
		t.Fatal(err)
	}
	before := callsByModel(c)
	c.Propose(context.Background(), 6)
	after := callsByModel(c)
	for name, n := range after {
		if name != "sim-llama-3.1-8b" && n != before[name] {
			t.Errorf("while sim-llama-3.1-8b was pinned, %s made %d more calls", name, n-before[name])
		}
	}
	if after["sim-llama-3.1-8b"] <= before["sim-llama-3.1-8b"] {
		t.Error("the pinned model made no calls")
	}
	if err := c.Pin("gpt-99"); err == nil {
		t.Error("pinning an unknown model succeeded")
	}
	// An escalation overrides the pin for exactly one expansion.
	if err := c.Escalate(); err != nil {
		t.Fatal(err)
	}
	before = callsByModel(c)
	c.round(context.Background(), 1)
	after = callsByModel(c)
	if after["sim-gpt-5.2"] != before["sim-gpt-5.2"]+1 {
		t.Errorf("the escalated expansion was not made by the largest model: %v → %v", before, after)
	}
	c.Unpin()
	c.Propose(context.Background(), 4)
	if got := callsByModel(c); got["sim-gpt-5.2"]+got["sim-gpt-5-mini"]+got["sim-r1-distill-qwen-32b"] == after["sim-gpt-5.2"]+after["sim-gpt-5-mini"]+after["sim-r1-distill-qwen-32b"] {
		t.Error("after unpinning, only the formerly pinned model was called")
	}
}

// progressLine is the prompt's trials-progress line.
func progressLine(prompt string) string {
	for _, line := range strings.Split(prompt, "\n") {
		if strings.HasPrefix(line, "Trials progress") {
			return line
		}
	}
	return "(none)"
}

// TestOperatorSteersTheColtSearch drives a colt run through the command channel: a pin makes
// every expansion selected later the pinned model's, an escalation gives the largest model the
// next one (recorded as such) and unpinning returns the choice to the search. Calls are counted
// when they are issued, so the statistics at each control event tell who was called between
// two commands, however the calls and the measurements interleave. The unpin waits until a
// snapshot shows the escalation carried out.
func TestOperatorSteersTheColtSearch(t *testing.T) {
	w := ttWorkload(t)
	model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
	strat, err := NewColtStrategy("colt", DefaultConfig(), NewCostModelScorer(model, "w"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	const pinned, largest = "sim-llama-3.1-8b", "sim-gpt-5.2"
	var controls []string
	var at []map[string]ModelStat // the statistics when each command had been applied
	escalated, unpinned := false, false
	var stillPinned map[string]ModelStat
	rep, _ := ttSteered(t, w, strat, 24, 5, nil, func(e Event, cmds chan<- Command) {
		switch {
		case e.Kind == EventControl:
			controls = append(controls, e.State+": "+e.Message)
			stats := map[string]ModelStat{}
			for _, s := range strat.ModelStats() {
				stats[s.Name] = s
			}
			at = append(at, stats)
			escalated = escalated || strings.Contains(e.Message, "escalation pending")
		case e.Kind == EventSample && e.Sample.Sample == 2:
			cmds <- Command{Kind: CmdPin, Model: pinned}
		case e.Kind == EventSample && e.Sample.Sample == 4:
			cmds <- Command{Kind: CmdEscalate}
		case escalated && !unpinned && e.Snapshot != nil && !e.Snapshot.Escalating:
			// The statistics still pinned: once the unpin is applied, the search may call
			// other models before its control event is sent.
			unpinned = true
			stillPinned = map[string]ModelStat{}
			for _, s := range strat.ModelStats() {
				stillPinned[s.Name] = s
			}
			cmds <- Command{Kind: CmdUnpin}
		}
	})
	if rep.Samples != 24 {
		t.Fatalf("%d samples, want 24", rep.Samples)
	}
	want := []string{"pinned " + pinned + ": pinned " + pinned + ": every expansion selected from now on uses it",
		"escalation pending: escalation pending: the next expansion selected uses the largest model", "running: unpinned"}
	if strings.Join(controls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("control events:\n%s\nwant:\n%s", strings.Join(controls, "\n"), strings.Join(want, "\n"))
	}
	pin, unpin := at[0], stillPinned
	for name, after := range unpin {
		before := pin[name]
		regular := (after.Calls - after.Altered) - (before.Calls - before.Altered)
		switch name {
		case pinned:
			if regular == 0 {
				t.Errorf("the pinned model made no calls while pinned")
			}
		case largest:
			// One escalation; course alterations decided before the pin may still run.
			if regular != 1 || after.Escalations != 1 {
				t.Errorf("the largest model made %d regular calls and %d escalations while %s was pinned, want 1 and 1", regular, after.Escalations, pinned)
			}
		default:
			if after.Calls != before.Calls {
				t.Errorf("while %s was pinned, %s made %d calls", pinned, name, after.Calls-before.Calls)
			}
		}
	}
	for _, m := range rep.Models {
		if want := map[bool]int{true: 1, false: 0}[m.Name == largest]; m.Escalations != want {
			t.Errorf("%s: %d escalations recorded, want %d", m.Name, m.Escalations, want)
		}
	}
}
