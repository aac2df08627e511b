package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"colt/providers"
	"colt/scoring"
)

// endpoint is an in-process OpenAI-compatible chat-completions server whose behaviour per
// request is a function of the request's index; it counts the requests in flight.
type endpoint struct {
	// answer returns the content of the n-th request's answer (0-based); hang makes it wait
	// until the client gives up.
	answer func(n int, model string) (content string, hang bool)
	// gather, when above 1, holds every request until that many are in flight at once (or
	// gatherLimit has passed, after which it stops waiting), so a test sees the concurrency
	// the client really offers without depending on timing.
	gather      int
	gatherLimit time.Duration

	mu          sync.Mutex
	n           int
	inFlight    int
	maxInFlight int
	byModel     map[string]int
	hanging     chan struct{} // receives a value whenever a request starts hanging
	gathered    chan struct{}
	prompts     []string // every request's messages, joined, in arrival order
}

func newEndpoint(answer func(n int, model string) (string, bool)) *endpoint {
	return &endpoint{answer: answer, byModel: map[string]int{}, hanging: make(chan struct{}, 1024),
		gathered: make(chan struct{}), gatherLimit: 20 * time.Second}
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	n := e.n
	e.n++
	e.inFlight++
	e.maxInFlight = max(e.maxInFlight, e.inFlight)
	e.byModel[req.Model]++
	var prompt strings.Builder
	for _, m := range req.Messages {
		prompt.WriteString(m.Content + "\n")
	}
	e.prompts = append(e.prompts, prompt.String())
	if e.gather > 1 && e.inFlight >= e.gather {
		select {
		case <-e.gathered:
		default:
			close(e.gathered)
		}
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.inFlight--
		e.mu.Unlock()
	}()
	if e.gather > 1 {
		select {
		case <-e.gathered:
		case <-time.After(e.gatherLimit):
		case <-r.Context().Done():
			return
		}
	}
	content, hang := e.answer(n, req.Model)
	if hang {
		e.hanging <- struct{}{}
		<-r.Context().Done()
		return
	}
	writeCompletion(w, req.Model, content)
}

// endpointConfig is a configuration whose models are served by srv: name → parameters (B).
func endpointConfig(srv *httptest.Server, models map[string]float64) Config {
	cfg := DefaultConfig()
	cfg.Models = nil
	for _, name := range []string{"big", "mid", "small"} {
		if p, ok := models[name]; ok {
			cfg.Models = append(cfg.Models, providers.ModelConfig{Name: name, Kind: providers.KindOpenAI, ParamsB: p,
				BaseURL: srv.URL + "/v1", TimeoutS: 600, Retries: -1})
		}
	}
	cfg.Colt.CallTimeoutS = 600
	return cfg
}

// coltOver makes the colt strategy of cfg with the cost model in its analytic phase.
func coltOver(t *testing.T, cfg Config) *Colt {
	t.Helper()
	model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
	c, err := NewColtStrategy("colt", cfg, NewCostModelScorer(model, "w"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestModelCallsRunConcurrently: with colt.parallel_calls = 4, the endpoint sees four requests
// in flight at once, and never more.
func TestModelCallsRunConcurrently(t *testing.T) {
	const parallel = 4
	ep := newEndpoint(func(int, string) (string, bool) {
		return `{"transformations": ["TileSize"], "next_model": "small"}`, false
	})
	ep.gather = parallel
	srv := httptest.NewServer(ep)
	defer srv.Close()
	cfg := endpointConfig(srv, map[string]float64{"big": 300, "small": 8})
	cfg.Colt.ParallelCalls = parallel
	cfg.Colt.ExpansionsPerSample = 4 // one round of 4 calls per sample
	w := ttWorkload(t)
	rep, _, recs := ttTune(t, w, ttRun{workDir: t.TempDir(), strategy: coltOver(t, cfg), budget: 3, seed: 2, sketches: noSketches})
	if rep.Samples != 3 || len(recs) != 3 {
		t.Fatalf("%d samples, %d records; want 3", rep.Samples, len(recs))
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.maxInFlight != parallel {
		t.Errorf("the endpoint saw at most %d requests in flight, want %d (colt.parallel_calls)", ep.maxInFlight, parallel)
	}
	calls := 0
	for _, m := range rep.Models {
		calls += m.Calls
	}
	if calls != ep.n || calls < 3*parallel {
		t.Errorf("%d calls counted, the endpoint served %d; want at least %d", calls, ep.n, 3*parallel)
	}
}

// TestStoppingDuringAHangingCall: the endpoint answers the first calls, then hangs forever.
// Stopping the run (the operator's stop, or an interrupt) returns at once; the records file
// holds only complete records, one per sample; the abandoned calls count as cancelled, not as
// the model's errors.
func TestStoppingDuringAHangingCall(t *testing.T) {
	for _, how := range []string{"stop command", "interrupt"} {
		t.Run(how, func(t *testing.T) {
			ep := newEndpoint(func(n int, _ string) (string, bool) {
				return `{"transformations": ["TileSize"], "next_model": "small"}`, n >= 6
			})
			srv := httptest.NewServer(ep)
			defer srv.Close()
			cfg := endpointConfig(srv, map[string]float64{"big": 300, "small": 8})
			cfg.Colt.ParallelCalls = 2
			cfg.Colt.ExpansionsPerSample = 1
			strat := coltOver(t, cfg)
			w := ttWorkload(t)
			dir := t.TempDir()
			store, err := OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmds := make(chan Command, 1)
			started := make(chan struct{})
			tuner, err := NewTuner(TuneOptions{Workload: w, Backend: ttBackend(t, filepath.Join(dir, "cache")), Store: store,
				WorkDir: dir, Strategy: strat, Budget: 50, Seed: 3, Search: ttSearch(), Commands: cmds,
				OnEvent: func(e Event) {
					if e.Kind == EventStart {
						close(started)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				rep *Report
				err error
			}
			done := make(chan result, 1)
			go func() {
				rep, err := tuner.Run(ctx)
				done <- result{rep, err}
			}()
			for _, wait := range []chan struct{}{ep.hanging, started} {
				select {
				case <-wait:
				case r := <-done:
					t.Fatalf("the run ended before a call hung: %+v, %v", r.rep, r.err)
				}
			}
			if how == "stop command" {
				cmds <- Command{Kind: CmdStop}
			} else {
				cancel()
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the run did not return while a model call hung")
			}
			store.Close()
			want := map[string]StopReason{"stop command": StopStopped, "interrupt": StopInterrupted}[how]
			if r.rep == nil || r.rep.StopReason != want {
				t.Fatalf("report %+v, error %v; want stop reason %s", r.rep, r.err, want)
			}
			if how == "interrupt" && (r.err == nil || !strings.Contains(r.err.Error(), "interrupted")) {
				t.Errorf("an interrupt returned %v, want ErrInterrupted", r.err)
			}
			if how == "stop command" && r.err != nil {
				t.Errorf("a stop returned %v, want no error", r.err)
			}
			recs, err := ReadRecords(dir)
			if err != nil && r.rep.Samples > 0 {
				t.Fatal(err)
			}
			if len(recs) != r.rep.Samples {
				t.Errorf("%d records, %d samples in the report", len(recs), r.rep.Samples)
			}
			for i, rec := range recs {
				if rec.CandidateHash == "" || rec.Status == "" || rec.Sample != i+1 || len(rec.Trace) == 0 {
					t.Errorf("record %d is incomplete: %+v", i+1, rec)
				}
			}
			cancelled := 0
			for _, m := range r.rep.Models {
				cancelled += m.Cancelled
				if m.Failures != 0 || m.Errors != 0 {
					t.Errorf("%s: %d failed calls, %d errors; an abandoned call is not the model's error", m.Name, m.Failures, m.Errors)
				}
			}
			ep.mu.Lock()
			hung := ep.n - 6
			ep.mu.Unlock()
			// A call abandoned before its request reached the endpoint is cancelled too.
			if cancelled == 0 || cancelled < hung {
				t.Errorf("%d calls reported cancelled, %d hung at the endpoint", cancelled, hung)
			}
		})
	}
}

// TestNoModelStarvesWhenNextModelIsInvalid: every answer names a model that does not exist; the
// size-aware preference still gives every configured model calls (the largest-model floor is
// off, so it does not hide a starving model).
func TestNoModelStarvesWhenNextModelIsInvalid(t *testing.T) {
	ep := newEndpoint(func(int, string) (string, bool) {
		return `{"transformations": ["TileSize"], "next_model": "gpt-17"}`, false
	})
	srv := httptest.NewServer(ep)
	defer srv.Close()
	cfg := endpointConfig(srv, map[string]float64{"big": 300, "mid": 32, "small": 8})
	cfg.Colt.LargestShare = 0
	w := ttWorkload(t)
	rep, _, _ := ttTune(t, w, ttRun{workDir: t.TempDir(), strategy: coltOver(t, cfg), budget: 6, seed: 4, sketches: noSketches})
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, m := range rep.Models {
		if m.Calls == 0 || ep.byModel[m.Name] == 0 {
			t.Errorf("%s got %d calls (%d at the endpoint) of %d; every model must be called", m.Name, m.Calls, ep.byModel[m.Name], ep.n)
		}
		if m.Errors < m.Calls {
			t.Errorf("%s: %d errors in %d calls, want one per invalid next model", m.Name, m.Errors, m.Calls)
		}
	}
}

// TestPromptShowsTrialsProgress: the prompt tells the model how many samples of the budget the
// search has seen measured.
func TestPromptShowsTrialsProgress(t *testing.T) {
	ep := newEndpoint(func(int, string) (string, bool) {
		return `{"transformations": ["TileSize"], "next_model": "small"}`, false
	})
	srv := httptest.NewServer(ep)
	defer srv.Close()
	cfg := endpointConfig(srv, map[string]float64{"big": 300, "small": 8})
	cfg.Colt.ParallelCalls = 2
	c := coltOver(t, cfg)
	p := ttProblem(t, 1)
	p.Budget = 40
	ctx := context.Background()
	if err := c.Init(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	for _, observed := range []int{0, 3, 7} {
		got, err := c.Propose(ctx, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("propose: %v, %d candidates", err, len(got))
		}
		ep.mu.Lock()
		last := ep.prompts[len(ep.prompts)-1]
		ep.mu.Unlock()
		if want := fmt.Sprintf("Trials progress: %d / 40", observed); progressLine(last) != want {
			t.Errorf("after %d samples the prompt says %q, want %q", observed, progressLine(last), want)
		}
		var results []Measured
		for range map[int]int{0: 3, 3: 4, 7: 0}[observed] {
			results = append(results, Measured{Candidate: got[0], Status: StatusOK, LatencyS: 1e-3})
		}
		c.Observe(results)
	}
}
