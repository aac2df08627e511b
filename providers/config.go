package providers

import (
	"fmt"
	"math"
	"net/url"
	"strings"
)

// The model kinds.
const (
	// KindOpenAI is any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
	// llama.cpp server, hosted open-model APIs).
	KindOpenAI = "openai"
	// KindSim is an offline simulated model whose quality follows its declared size.
	KindSim = "sim"
)

// Defaults of the optional ModelConfig fields.
const (
	DefaultTimeoutS      = 60.0
	DefaultRetries       = 2
	DefaultRetryBackoffS = 0.5
	DefaultMaxTokens     = 1024
)

// ModelConfig is one model of the search's model set, as configured in colt.toml [[models]].
// Zero values of the optional fields mean their defaults (see WithDefaults).
type ModelConfig struct {
	// Name is how the search and the prompt call the model; unique in the set, compared
	// case-insensitively.
	Name string `toml:"name"`
	// Kind is "openai" or "sim".
	Kind string `toml:"kind"`
	// ParamsB is the parameter count in billions (MA-UCT and the sim models use it).
	ParamsB float64 `toml:"params_b"`
	// BaseURL is the openai endpoint base, e.g. https://api.openai.com/v1 or
	// http://localhost:8000/v1.
	BaseURL string `toml:"base_url"`
	// Model is the model id sent to the endpoint (default: Name).
	Model string `toml:"model"`
	// APIKeyEnv names the environment variable holding the key ("" = no key, for local servers).
	APIKeyEnv string `toml:"api_key_env"`
	// PriceInPerM is the price in USD per million prompt tokens.
	PriceInPerM float64 `toml:"price_in_per_mtok"`
	// PriceOutPerM is the price in USD per million completion tokens.
	PriceOutPerM float64 `toml:"price_out_per_mtok"`
	// TimeoutS is the limit of one request in seconds (0 = 60).
	TimeoutS float64 `toml:"timeout_s"`
	// Retries is how many times a request is retried on HTTP 429, 5xx and timeouts
	// (0 = the default 2; -1 = never).
	Retries int `toml:"retries"`
	// RetryBackoffS is the first retry's delay in seconds; each further retry doubles it
	// (0 = 0.5).
	RetryBackoffS float64 `toml:"retry_backoff_s"`
	// Temperature is the sampling temperature (0 = the endpoint's default; reasoning models such
	// as OpenAI's o-series and gpt-5 accept only 0 or 1).
	Temperature float64 `toml:"temperature"`
	// MaxTokens limits the completion (0 = 1024). Reasoning models count their hidden reasoning
	// in it, so give them more.
	MaxTokens int `toml:"max_tokens"`
}

// WithDefaults returns the configuration with the defaults of unset optional fields filled in.
func (c ModelConfig) WithDefaults() ModelConfig {
	if c.Model == "" {
		c.Model = c.Name
	}
	if c.TimeoutS == 0 {
		c.TimeoutS = DefaultTimeoutS
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = -1
	}
	if c.RetryBackoffS == 0 {
		c.RetryBackoffS = DefaultRetryBackoffS
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	return c
}

// retries is the number of retries after the first attempt.
func (c ModelConfig) retries() int {
	return max(c.WithDefaults().Retries, 0)
}

// Validate reports every problem of one model's configuration in one error, each as what was
// found and what is wanted.
func (c ModelConfig) Validate() error {
	bad := c.problems()
	if len(bad) == 0 {
		return nil
	}
	name := c.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("model %q: %s", name, strings.Join(bad, "; "))
}

// problems lists what is wrong with one model's configuration, one phrase per problem.
func (c ModelConfig) problems() []string {
	var bad []string
	if strings.TrimSpace(c.Name) == "" {
		bad = append(bad, "name is empty, want the name the search and the prompt use")
	} else if c.Name != strings.TrimSpace(c.Name) || strings.ContainsAny(c.Name, "\n\r\t\"") {
		bad = append(bad, fmt.Sprintf("name is %q, want no surrounding spaces, tabs, newlines or quotes", c.Name))
	}
	switch c.Kind {
	case KindOpenAI, KindSim:
	default:
		bad = append(bad, fmt.Sprintf("kind is %q, want %q or %q", c.Kind, KindOpenAI, KindSim))
	}
	if !(c.ParamsB > 0) || math.IsInf(c.ParamsB, 0) {
		bad = append(bad, fmt.Sprintf("params_b is %g, want the parameter count in billions (> 0, e.g. 8 or 0.5)", c.ParamsB))
	}
	if c.Kind == KindOpenAI {
		if c.BaseURL == "" {
			bad = append(bad, `base_url is empty, want the endpoint base (e.g. "https://api.openai.com/v1" or "http://localhost:8000/v1")`)
		} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, fmt.Sprintf("base_url is %q, want an http:// or https:// URL", c.BaseURL))
		}
		if c.APIKeyEnv != "" && !isEnvName(c.APIKeyEnv) {
			what := "want the name of an environment variable (letters, digits, _)"
			if strings.HasPrefix(c.APIKeyEnv, "sk-") {
				what = "want the NAME of the environment variable holding the key, never the key itself"
			}
			bad = append(bad, fmt.Sprintf("api_key_env is %q, %s", redactKey(c.APIKeyEnv), what))
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"price_in_per_mtok", c.PriceInPerM},
		{"price_out_per_mtok", c.PriceOutPerM},
		{"timeout_s", c.TimeoutS},
		{"retry_backoff_s", c.RetryBackoffS},
	} {
		if !(p.v >= 0) || math.IsInf(p.v, 0) {
			bad = append(bad, fmt.Sprintf("%s is %g, want ≥ 0", p.name, p.v))
		}
	}
	if c.Retries < -1 {
		bad = append(bad, fmt.Sprintf("retries is %d, want ≥ 0 (0 = %d, -1 = never retry)", c.Retries, DefaultRetries))
	}
	if !(c.Temperature >= 0 && c.Temperature <= 2) {
		bad = append(bad, fmt.Sprintf("temperature is %g, want 0 to 2 (0 = the endpoint's default)", c.Temperature))
	}
	if c.MaxTokens < 0 {
		bad = append(bad, fmt.Sprintf("max_tokens is %d, want ≥ 0 (0 = %d)", c.MaxTokens, DefaultMaxTokens))
	}
	return bad
}

// ValidateModels checks every model of a set and that the names are unique (compared
// case-insensitively, as answers name models that way). An empty set is an error.
func ValidateModels(cfgs []ModelConfig) error {
	if len(cfgs) == 0 {
		return fmt.Errorf("models: the set is empty, want at least one [[models]] entry")
	}
	var bad []string
	seen := map[string]string{}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			bad = append(bad, err.Error())
		}
		key := strings.ToLower(strings.TrimSpace(c.Name))
		if key == "" {
			continue
		}
		if prev, ok := seen[key]; ok {
			bad = append(bad, fmt.Sprintf("model %q: the name is also used by %q, want unique names (compared ignoring case)", c.Name, prev))
			continue
		}
		seen[key] = c.Name
	}
	if len(bad) > 0 {
		return fmt.Errorf("models: %s", strings.Join(bad, "; "))
	}
	return nil
}

// DefaultModels is the built-in model set used when the configuration names none: three
// simulated models of different sizes, so search runs with no keys and no network.
func DefaultModels() []ModelConfig {
	return []ModelConfig{
		{Name: "sim-3b", Kind: KindSim, ParamsB: 3},
		{Name: "sim-20b", Kind: KindSim, ParamsB: 20},
		{Name: "sim-300b", Kind: KindSim, ParamsB: 300},
	}
}

// New makes the provider of one model. getenv reads environment variables (os.Getenv in
// production); an openai model whose api_key_env variable is unset or empty is an error that
// names the variable.
func New(cfg ModelConfig, getenv func(string) string) (Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	switch cfg.Kind {
	case KindSim:
		return &simProvider{cfg: cfg}, nil
	case KindOpenAI:
		return newOpenAI(cfg, getenv)
	}
	return nil, fmt.Errorf("model %q: kind is %q, want %q or %q", cfg.Name, cfg.Kind, KindOpenAI, KindSim)
}

// isEnvName reports whether s is a plausible environment variable name.
func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'):
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// redactKey shortens what looks like a secret so error messages never print it whole.
func redactKey(s string) string {
	if len(s) > 8 && strings.HasPrefix(s, "sk-") {
		return s[:5] + "…"
	}
	return s
}
