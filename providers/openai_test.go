package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

const (
	fakeKey     = "sk-test-0123456789"
	fakeKeyEnv  = "COLT_TEST_KEY"
	fakeModelID = "test-model-7b"
	fakePrompt  = 1000 // prompt tokens the fake server reports
	fakeAnswer  = 50   // completion tokens the fake server reports
)

// step is one scripted answer of the fake server.
type step struct {
	status  int    // HTTP status; 0 = 200 with content as the assistant's message
	content string // the assistant's message
	body    string // a raw body instead of the OpenAI shapes
	hang    bool   // answer nothing until the client gives up
}

// fakeServer is an in-process OpenAI-compatible chat-completions endpoint that answers with a
// script, one step per request (the last step repeats), and records what it received.
type fakeServer struct {
	*httptest.Server
	t     *testing.T
	key   string // the key it accepts; "" = it wants no Authorization header
	model string

	mu       sync.Mutex
	steps    []step
	attempts int
	requests []openai.ChatCompletionRequest
}

// newFakeServer starts a fake endpoint; it stops when the test ends.
func newFakeServer(t *testing.T, key, model string, steps ...step) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, key: key, model: model, steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// count returns how many requests reached the server.
func (s *fakeServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// last returns the last request the server decoded.
func (s *fakeServer) last() openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return openai.ChatCompletionRequest{}
	}
	return s.requests[len(s.requests)-1]
}

// apiError writes an error in OpenAI's shape.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": nil},
	})
}

func (s *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.attempts++
	n := s.attempts
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
		return
	}
	auth := r.Header.Get("Authorization")
	if (s.key == "" && auth != "") || (s.key != "" && auth != "Bearer "+s.key) {
		apiError(w, http.StatusUnauthorized, "Incorrect API key provided.")
		return
	}
	var req openai.ChatCompletionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if req.Model != s.model {
		apiError(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" ||
		!strings.Contains(req.Messages[1].Content, "Available Transformations") {
		apiError(w, http.StatusBadRequest, "want a system and a user message with the prompt")
		return
	}
	s.mu.Lock()
	st := s.steps[min(n, len(s.steps))-1]
	s.mu.Unlock()
	switch {
	case st.hang:
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case st.body != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(max(st.status, http.StatusOK))
		_, _ = w.Write([]byte(st.body))
		return
	case st.status != 0 && st.status != http.StatusOK:
		apiError(w, st.status, fmt.Sprintf("scripted status %d", st.status))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "created": 1, "model": req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": st.content},
			"finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": fakePrompt, "completion_tokens": fakeAnswer, "total_tokens": fakePrompt + fakeAnswer},
	})
}

// fakeConfig configures a model of the fake server.
func fakeConfig(url string) ModelConfig {
	return ModelConfig{
		Name: "tester", Kind: KindOpenAI, ParamsB: 7, BaseURL: url + "/v1", Model: fakeModelID,
		APIKeyEnv: fakeKeyEnv, PriceInPerM: 2, PriceOutPerM: 8,
		TimeoutS: 5, Retries: 2, RetryBackoffS: 0.001, Temperature: 0.2, MaxTokens: 256,
	}
}

// fakeEnv is the environment the tests give New.
func fakeEnv(name string) string {
	if name == fakeKeyEnv {
		return fakeKey
	}
	return ""
}

func TestOpenAIPropose(t *testing.T) {
	good := `{"transformations": ["TileSize", "Parallel"], "next_model": "gpt-5-mini"}`
	wantCost := fakePrompt*2.0/1e6 + fakeAnswer*8.0/1e6
	for _, tc := range []struct {
		name     string
		steps    []step
		edit     func(*ModelConfig)
		want     []string
		next     string
		invalidT int
		invalidM bool
		attempts int
		errHas   string // "" = no error
		tokens   bool   // usage is reported even when err != nil
	}{
		{name: "good answer", steps: []step{{content: good}},
			want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini", attempts: 1, tokens: true},
		{name: "malformed JSON", steps: []step{{content: `{"transformations": ["TileSize", `}},
			attempts: 1, errHas: "no JSON object", tokens: true},
		{name: "prose around a fenced object", steps: []step{{content: "Tile first.\n```json\n" + good + "\n```\nThat should do."}},
			want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini", attempts: 1, tokens: true},
		{name: "trailing commas", steps: []step{{content: `{"transformations": ["Unroll",], "next_model": "gpt-5.2",}`}},
			want: []string{"Unroll"}, next: "gpt-5.2", attempts: 1, tokens: true},
		{name: "unknown transformation names", steps: []step{{content: `{"transformations": ["Vectorize", "TileSize", "Reorder"], "next_model": "gpt-5-mini"}`}},
			want: []string{"TileSize"}, next: "gpt-5-mini", invalidT: 2, attempts: 1, tokens: true},
		{name: "unknown model name", steps: []step{{content: `{"transformations": ["Unroll"], "next_model": "llama-405b"}`}},
			want: []string{"Unroll"}, invalidM: true, attempts: 1, tokens: true},
		{name: "paper's brace-less example", steps: []step{{content: "```\n\"transformations\": [ \"TileSize\", \"TileSize\", \"ComputeLocation\", \"Parallel\", \"Unroll\"\n], \"next_model\": \"gpt-5-mini\",\n```"}},
			want: []string{"TileSize", "TileSize", "ComputeLocation", "Parallel", "Unroll"}, next: "gpt-5-mini", attempts: 1, tokens: true},
		{name: "429 then success", steps: []step{{status: 429}, {content: good}},
			want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini", attempts: 2, tokens: true},
		{name: "500 on every attempt", steps: []step{{status: 500}},
			attempts: 3, errHas: "server error (500) (3 attempts)"},
		{name: "502 without a JSON body", steps: []step{{status: 502, body: "<html>bad gateway</html>"}},
			attempts: 3, errHas: "server error (502)"},
		{name: "429 on every attempt", steps: []step{{status: 429}},
			edit: func(c *ModelConfig) { c.Retries = 1 }, attempts: 2, errHas: "rate limited (429) (2 attempts)"},
		{name: "hang longer than the timeout", steps: []step{{hang: true}},
			edit: func(c *ModelConfig) { c.TimeoutS = 0.05; c.Retries = 1 }, attempts: 2, errHas: "no answer within timeout_s = 0.05"},
		{name: "hang then success", steps: []step{{hang: true}, {content: good}},
			edit: func(c *ModelConfig) { c.TimeoutS = 0.2 }, want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini", attempts: 2, tokens: true},
		{name: "401 is not retried", steps: []step{{content: good}},
			edit: func(c *ModelConfig) { c.APIKeyEnv = "COLT_WRONG_KEY" }, attempts: 1, errHas: "the endpoint refused the key in $COLT_WRONG_KEY (401)"},
		{name: "unknown model id is not retried", steps: []step{{content: good}},
			edit: func(c *ModelConfig) { c.Model = "no-such-model" }, attempts: 1, errHas: `no model "no-such-model"`},
		{name: "400 is not retried", steps: []step{{status: 400}},
			attempts: 1, errHas: "rejected the request (400)"},
		{name: "retries = -1 never retries", steps: []step{{status: 503}},
			edit: func(c *ModelConfig) { c.Retries = -1 }, attempts: 1, errHas: "server error (503)"},
		{name: "200 with a body that is not JSON", steps: []step{{body: "not json"}},
			attempts: 1, errHas: "request to"},
		{name: "no choices", steps: []step{{body: `{"id": "x", "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 50}}`}},
			attempts: 1, errHas: "no choices", tokens: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, fakeKey, fakeModelID, tc.steps...)
			cfg := fakeConfig(srv.URL)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			env := func(name string) string {
				if name == "COLT_WRONG_KEY" {
					return "sk-wrong"
				}
				return fakeEnv(name)
			}
			p, err := New(cfg, env)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if p.Simulated() {
				t.Error("Simulated() = true for an openai model")
			}
			start := time.Now()
			got, err := p.Propose(context.Background(), paperRequest())
			elapsed := time.Since(start)
			if srv.count() != tc.attempts {
				t.Errorf("server saw %d attempts, want %d", srv.count(), tc.attempts)
			}
			if elapsed > 5*time.Second {
				t.Errorf("Propose took %v; it must give up after timeout × attempts plus backoff", elapsed)
			}
			if tc.errHas != "" {
				if err == nil {
					t.Fatalf("Propose = %+v, want an error with %q", got, tc.errHas)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("error %q lacks %q", err, tc.errHas)
				}
				if strings.Contains(err.Error(), fakeKey) {
					t.Errorf("error %q shows the key", err)
				}
			} else if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			if tc.tokens {
				if got.PromptTokens != fakePrompt || got.CompletionTokens != fakeAnswer {
					t.Errorf("tokens = %d/%d, want %d/%d from the usage", got.PromptTokens, got.CompletionTokens, fakePrompt, fakeAnswer)
				}
				if math.Abs(got.CostUSD-wantCost) > 1e-12 {
					t.Errorf("CostUSD = %g, want %g", got.CostUSD, wantCost)
				}
			}
			if got.Latency <= 0 {
				t.Errorf("Latency = %v, want > 0", got.Latency)
			}
			if err != nil {
				return
			}
			if !slices.Equal(got.Transformations, tc.want) {
				t.Errorf("Transformations = %q, want %q", got.Transformations, tc.want)
			}
			if got.NextModel != tc.next || got.InvalidNextModel != tc.invalidM {
				t.Errorf("NextModel = %q (invalid %v), want %q (invalid %v)", got.NextModel, got.InvalidNextModel, tc.next, tc.invalidM)
			}
			if got.InvalidTransformations != tc.invalidT {
				t.Errorf("InvalidTransformations = %d, want %d", got.InvalidTransformations, tc.invalidT)
			}
			wantErrs := tc.invalidT
			if tc.invalidM {
				wantErrs++
			}
			if got.Errors() != wantErrs {
				t.Errorf("Errors() = %d, want %d (+1 per invalid transformation, +1 invalid next model)", got.Errors(), wantErrs)
			}
			last := srv.last()
			if last.Temperature != 0.2 || last.MaxTokens != 256 || last.MaxCompletionTokens != 0 {
				t.Errorf("request temperature %g, max_tokens %d, max_completion_tokens %d; want 0.2, 256, 0",
					last.Temperature, last.MaxTokens, last.MaxCompletionTokens)
			}
			if system, _ := BuildPrompt(paperRequest()); last.Messages[0].Content != system {
				t.Error("the system message is not the system prompt")
			}
		})
	}
}

func TestOpenAINoKey(t *testing.T) {
	srv := newFakeServer(t, "", fakeModelID, step{content: `{"transformations": ["Unroll"], "next_model": "gpt-5.2"}`})
	cfg := fakeConfig(srv.URL)
	cfg.APIKeyEnv = ""
	cfg.BaseURL += "/" // a trailing slash is fine
	p, err := New(cfg, func(string) string { t.Error("getenv called for a model without api_key_env"); return "" })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got, err := p.Propose(context.Background(), paperRequest())
	if err != nil {
		t.Fatalf("Propose: %v", err)
	}
	if got.NextModel != "gpt-5.2" || srv.count() != 1 {
		t.Errorf("NextModel %q after %d attempts, want gpt-5.2 after 1", got.NextModel, srv.count())
	}
}

func TestOpenAIMissingKey(t *testing.T) {
	cfg := fakeConfig("http://127.0.0.1:1")
	_, err := New(cfg, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), fakeKeyEnv) {
		t.Fatalf("New without the key = %v, want an error naming %s", err, fakeKeyEnv)
	}
}

func TestOpenAIReasoningModelTokens(t *testing.T) {
	// go-openai knows gpt-5 models take max_completion_tokens.
	srv := newFakeServer(t, fakeKey, "gpt-5-mini", step{content: `{"transformations": ["Unroll"], "next_model": "gpt-5.2"}`})
	cfg := fakeConfig(srv.URL)
	cfg.Model, cfg.Temperature = "gpt-5-mini", 0
	p, err := New(cfg, fakeEnv)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := p.Propose(context.Background(), paperRequest()); err != nil {
		t.Fatalf("Propose: %v", err)
	}
	if last := srv.last(); last.MaxTokens != 0 || last.MaxCompletionTokens != 256 {
		t.Errorf("max_tokens %d, max_completion_tokens %d; want 0, 256", last.MaxTokens, last.MaxCompletionTokens)
	}
	cfg.Temperature = 0.2
	if _, err := New(cfg, fakeEnv); err == nil || !strings.Contains(err.Error(), "temperature") {
		t.Errorf("New(gpt-5-mini, temperature 0.2) = %v, want an error about the temperature", err)
	}
}

func TestOpenAIMaxCompletionTokensFallback(t *testing.T) {
	// An endpoint that refuses max_tokens for a model go-openai does not know.
	srv := newFakeServer(t, fakeKey, fakeModelID,
		step{status: 400, body: `{"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error"}}`},
		step{content: `{"transformations": ["Unroll"], "next_model": "gpt-5.2"}`})
	p, err := New(fakeConfig(srv.URL), fakeEnv)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got, err := p.Propose(context.Background(), paperRequest())
	if err != nil {
		t.Fatalf("Propose: %v", err)
	}
	if got.NextModel != "gpt-5.2" || srv.count() != 2 {
		t.Errorf("NextModel %q after %d attempts, want gpt-5.2 after 2", got.NextModel, srv.count())
	}
	if last := srv.last(); last.MaxTokens != 0 || last.MaxCompletionTokens != 256 {
		t.Errorf("retry sent max_tokens %d, max_completion_tokens %d; want 0, 256", last.MaxTokens, last.MaxCompletionTokens)
	}
}

func TestOpenAIContextCancel(t *testing.T) {
	srv := newFakeServer(t, fakeKey, fakeModelID, step{hang: true})
	p, err := New(fakeConfig(srv.URL), fakeEnv)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = p.Propose(ctx, paperRequest())
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Propose with an ending context = %v, want the context's error", err)
	}
	if srv.count() != 1 {
		t.Errorf("server saw %d attempts, want 1 (a cancelled search is not retried)", srv.count())
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	cfg := fakeConfig(url)
	p, err := New(cfg, fakeEnv)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = p.Propose(context.Background(), paperRequest())
	if err == nil || !strings.Contains(err.Error(), "nothing listens") {
		t.Errorf("Propose to a closed port = %v, want an error saying nothing listens", err)
	}
}

func TestBackoffDelays(t *testing.T) {
	p := &openAIProvider{backoff: 500 * time.Millisecond}
	for a, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 2 * time.Second, 20: maxBackoff} {
		if got := p.delay(a); got != want {
			t.Errorf("delay(%d) = %v, want %v", a, got, want)
		}
	}
}
