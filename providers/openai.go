package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxBackoff caps the delay between two attempts.
const maxBackoff = 30 * time.Second

// openAIProvider asks an OpenAI-compatible chat-completions endpoint.
type openAIProvider struct {
	cfg    ModelConfig
	client *openai.Client
	// completionTokens is set when the model takes max_completion_tokens instead of max_tokens
	// (OpenAI's reasoning models): known from the model id, or learnt from a 400 answer.
	completionTokens atomic.Bool
	// backoff is the delay before the first retry; each further retry doubles it.
	backoff time.Duration
}

// newOpenAI makes the provider of an openai model; cfg has its defaults.
func newOpenAI(cfg ModelConfig, getenv func(string) string) (*openAIProvider, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	key := ""
	if cfg.APIKeyEnv != "" {
		key = strings.TrimSpace(getenv(cfg.APIKeyEnv))
		if key == "" {
			return nil, fmt.Errorf("model %q: the environment variable %s is not set, want the API key for %s in it (export %s=...; or set api_key_env = \"\" for a server that needs no key)",
				cfg.Name, cfg.APIKeyEnv, cfg.BaseURL, cfg.APIKeyEnv)
		}
	}
	oc := openai.DefaultConfig(key)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = &http.Client{} // each attempt's limit comes from its context
	p := &openAIProvider{
		cfg:     cfg,
		client:  openai.NewClientWithConfig(oc),
		backoff: time.Duration(cfg.RetryBackoffS * float64(time.Second)),
	}
	// go-openai refuses, before sending, parameters that OpenAI's reasoning models reject.
	v := openai.NewReasoningValidator()
	if err := v.Validate(p.request("", "")); errors.Is(err, openai.ErrReasoningModelMaxTokensDeprecated) {
		p.completionTokens.Store(true)
	}
	if err := v.Validate(p.request("", "")); err != nil {
		return nil, fmt.Errorf("model %q: model id %q does not accept this configuration: %w (reasoning models take temperature = 0, the default, or 1)", cfg.Name, cfg.Model, err)
	}
	return p, nil
}

// Config returns the model's configuration.
func (p *openAIProvider) Config() ModelConfig { return p.cfg }

// Simulated is false: this is a real model.
func (p *openAIProvider) Simulated() bool { return false }

// request builds the chat-completion request of one expansion.
func (p *openAIProvider) request(system, user string) openai.ChatCompletionRequest {
	r := openai.ChatCompletionRequest{
		Model: p.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		Temperature: float32(p.cfg.Temperature),
	}
	if p.completionTokens.Load() {
		r.MaxCompletionTokens = p.cfg.MaxTokens
	} else {
		r.MaxTokens = p.cfg.MaxTokens
	}
	return r
}

// Propose sends the expansion's prompt and parses the answer. Each attempt is limited to
// timeout_s; HTTP 429, 5xx, timeouts and dropped connections are retried up to retries times
// after delays of retry_backoff_s, doubling; other failures (a refused key, a 4xx, an
// unreachable host) are not. So a call returns within timeout × (retries+1) plus the delays,
// sooner when ctx ends.
func (p *openAIProvider) Propose(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	system, user := BuildPrompt(req)
	attempts := p.cfg.retries() + 1
	var last error
	switched := false
	for a := 0; a < attempts; a++ {
		if a > 0 {
			if err := sleepCtx(ctx, p.delay(a)); err != nil {
				return Response{Latency: time.Since(start)}, fmt.Errorf("model %q: %w", p.cfg.Name, err)
			}
		}
		out, err := p.attempt(ctx, p.request(system, user))
		if err == nil {
			return p.answer(out, req, time.Since(start))
		}
		last = err
		if ctx.Err() != nil {
			return Response{Latency: time.Since(start)}, fmt.Errorf("model %q: %w", p.cfg.Name, ctx.Err())
		}
		if !switched && !p.completionTokens.Load() && wantsCompletionTokens(err) {
			// The endpoint takes max_completion_tokens: switch once, not counted as a retry.
			p.completionTokens.Store(true)
			switched = true
			a--
			continue
		}
		if !retryable(err) {
			return Response{Latency: time.Since(start)}, p.describe(err, a+1)
		}
	}
	return Response{Latency: time.Since(start)}, p.describe(last, attempts)
}

// attempt makes one request under the per-attempt time limit.
func (p *openAIProvider) attempt(ctx context.Context, r openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	actx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.TimeoutS*float64(time.Second)))
	defer cancel()
	out, err := p.client.CreateChatCompletion(actx, r)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		return out, &timeoutError{limit: p.cfg.TimeoutS, err: err}
	}
	return out, err
}

// answer turns a successful completion into the Response.
func (p *openAIProvider) answer(out openai.ChatCompletionResponse, req Request, latency time.Duration) (Response, error) {
	usage := Response{
		PromptTokens:     out.Usage.PromptTokens,
		CompletionTokens: out.Usage.CompletionTokens,
		Latency:          latency,
		CostUSD: float64(out.Usage.PromptTokens)*p.cfg.PriceInPerM/1e6 +
			float64(out.Usage.CompletionTokens)*p.cfg.PriceOutPerM/1e6,
	}
	if len(out.Choices) == 0 {
		return usage, fmt.Errorf("model %q: the endpoint answered with no choices", p.cfg.Name)
	}
	choice := out.Choices[0]
	text := choice.Message.Content
	if strings.TrimSpace(text) == "" && choice.FinishReason == openai.FinishReasonLength {
		return usage, fmt.Errorf("model %q: the answer was cut off at max_tokens = %d before any text, want a larger max_tokens (reasoning models spend tokens on hidden reasoning)", p.cfg.Name, p.cfg.MaxTokens)
	}
	resp, err := ParseResponse(text, req.Transformations, req.Models)
	resp.PromptTokens, resp.CompletionTokens = usage.PromptTokens, usage.CompletionTokens
	resp.Latency, resp.CostUSD = usage.Latency, usage.CostUSD
	if err != nil {
		return resp, fmt.Errorf("model %q: %w", p.cfg.Name, err)
	}
	return resp, nil
}

// delay is the wait before attempt a (a ≥ 1): backoff, 2×backoff, 4×backoff, …, at most
// maxBackoff.
func (p *openAIProvider) delay(a int) time.Duration {
	d := p.backoff
	for i := 1; i < a && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// timeoutError is an attempt that ran past its time limit.
type timeoutError struct {
	limit float64
	err   error
}

// Error says the attempt timed out.
func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within timeout_s = %g", e.limit)
}

// Unwrap returns the client's error.
func (e *timeoutError) Unwrap() error { return e.err }

// statusOf returns the HTTP status and the endpoint's message of a failed request (0 when the
// request got no HTTP answer).
func statusOf(err error) (int, string) {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode, strings.TrimRight(strings.TrimSpace(apiErr.Message), ".")
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		msg := strings.TrimSpace(string(reqErr.Body))
		if msg == "" && reqErr.Err != nil {
			msg = reqErr.Err.Error()
		}
		return reqErr.HTTPStatusCode, excerpt(msg, 200)
	}
	return 0, ""
}

// retryable reports whether a failed attempt is worth repeating: HTTP 429 and 5xx, timeouts
// and connections dropped mid-request.
func retryable(err error) bool {
	if code, _ := statusOf(err); code != 0 {
		return code == http.StatusTooManyRequests || code >= 500
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// wantsCompletionTokens reports whether the endpoint refused max_tokens and asks for
// max_completion_tokens.
func wantsCompletionTokens(err error) bool {
	code, msg := statusOf(err)
	return code == http.StatusBadRequest && strings.Contains(msg, "max_completion_tokens")
}

// describe turns the last failure after n attempts into a message that says what to do.
func (p *openAIProvider) describe(err error, n int) error {
	name := p.cfg.Name
	tries := ""
	if n > 1 {
		tries = fmt.Sprintf(" (%d attempts)", n)
	}
	code, msg := statusOf(err)
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if p.cfg.APIKeyEnv == "" {
			return fmt.Errorf("model %q: the endpoint %s refused a request without a key (%d): %s; set api_key_env to the variable holding the key", name, p.cfg.BaseURL, code, msg)
		}
		return fmt.Errorf("model %q: the endpoint refused the key in $%s (%d): %s; check the key and that it may use model %q", name, p.cfg.APIKeyEnv, code, msg, p.cfg.Model)
	case code == http.StatusNotFound:
		return fmt.Errorf("model %q: %s has no model %q or no chat-completions route (404): %s; check model and base_url", name, p.cfg.BaseURL, p.cfg.Model, msg)
	case code == http.StatusTooManyRequests:
		return fmt.Errorf("model %q: rate limited (429)%s: %s", name, tries, msg)
	case code >= 500:
		return fmt.Errorf("model %q: server error (%d)%s: %s", name, code, tries, msg)
	case code != 0:
		return fmt.Errorf("model %q: the endpoint rejected the request (%d): %s", name, code, msg)
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return fmt.Errorf("model %q: %s s at %s%s", name, te.Error(), p.cfg.BaseURL, tries)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("model %q: nothing listens at %s: %w; start the server or fix base_url", name, p.cfg.BaseURL, err)
	}
	return fmt.Errorf("model %q: request to %s failed%s: %w", name, p.cfg.BaseURL, tries, err)
}
