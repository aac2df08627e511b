package providers

import (
	"strings"
	"testing"
)

func TestModelConfigValidate(t *testing.T) {
	okOpenAI := ModelConfig{Name: "gpt-5-mini", Kind: KindOpenAI, ParamsB: 20, BaseURL: "https://api.openai.com/v1", APIKeyEnv: "OPENAI_API_KEY"}
	for _, tc := range []struct {
		name string
		edit func(*ModelConfig)
		want []string // substrings of the error; nil = valid
	}{
		{"valid openai", func(*ModelConfig) {}, nil},
		{"valid local openai without key", func(c *ModelConfig) { c.APIKeyEnv = ""; c.BaseURL = "http://localhost:8000/v1" }, nil},
		{"valid sim", func(c *ModelConfig) { *c = ModelConfig{Name: "sim-8b", Kind: KindSim, ParamsB: 8} }, nil},
		{"retries -1", func(c *ModelConfig) { c.Retries = -1 }, nil},
		{"unknown kind", func(c *ModelConfig) { c.Kind = "anthropic" }, []string{`kind is "anthropic", want "openai" or "sim"`}},
		{"missing kind", func(c *ModelConfig) { c.Kind = "" }, []string{`kind is ""`}},
		{"missing name", func(c *ModelConfig) { c.Name = "" }, []string{`model "(unnamed)"`, "name is empty"}},
		{"name with spaces around", func(c *ModelConfig) { c.Name = " gpt " }, []string{"surrounding spaces"}},
		{"negative params", func(c *ModelConfig) { c.ParamsB = -1 }, []string{"params_b is -1, want"}},
		{"zero params", func(c *ModelConfig) { c.ParamsB = 0 }, []string{"params_b is 0, want"}},
		{"openai without base URL", func(c *ModelConfig) { c.BaseURL = "" }, []string{"base_url is empty"}},
		{"base URL without scheme", func(c *ModelConfig) { c.BaseURL = "localhost:8000/v1" }, []string{`base_url is "localhost:8000/v1", want an http:// or https:// URL`}},
		{"key instead of variable name", func(c *ModelConfig) { c.APIKeyEnv = "sk-abcdefghijklmnop" }, []string{"never the key itself"}},
		{"bad variable name", func(c *ModelConfig) { c.APIKeyEnv = "$OPENAI_API_KEY" }, []string{"want the name of an environment variable"}},
		{"negative price", func(c *ModelConfig) { c.PriceOutPerM = -2 }, []string{"price_out_per_mtok is -2, want ≥ 0"}},
		{"negative timeout", func(c *ModelConfig) { c.TimeoutS = -1 }, []string{"timeout_s is -1"}},
		{"retries below -1", func(c *ModelConfig) { c.Retries = -3 }, []string{"retries is -3"}},
		{"temperature too high", func(c *ModelConfig) { c.Temperature = 3 }, []string{"temperature is 3, want 0 to 2"}},
		{"negative max tokens", func(c *ModelConfig) { c.MaxTokens = -5 }, []string{"max_tokens is -5"}},
		{"every problem at once", func(c *ModelConfig) { c.Kind = "x"; c.ParamsB = -1; c.MaxTokens = -1 },
			[]string{"kind is", "params_b is", "max_tokens is"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := okOpenAI
			tc.edit(&c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "abcdefghijklmnop") {
				t.Errorf("error %q shows the key", err)
			}
			if _, nerr := New(c, fakeEnv); nerr == nil {
				t.Error("New accepted an invalid configuration")
			}
		})
	}
}

func TestValidateModels(t *testing.T) {
	if err := ValidateModels(DefaultModels()); err != nil {
		t.Errorf("default models: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfgs []ModelConfig
		want string
	}{
		{"empty set", nil, "the set is empty"},
		{"duplicate names ignoring case", []ModelConfig{
			{Name: "sim-8b", Kind: KindSim, ParamsB: 8},
			{Name: "SIM-8B", Kind: KindSim, ParamsB: 80},
		}, `model "SIM-8B": the name is also used by "sim-8b"`},
		{"one invalid model", []ModelConfig{
			{Name: "sim-8b", Kind: KindSim, ParamsB: 8},
			{Name: "big", Kind: KindSim},
		}, `model "big": params_b is 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateModels(tc.cfgs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateModels = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := ModelConfig{Name: "m", Kind: KindOpenAI}.WithDefaults()
	if c.Model != "m" || c.TimeoutS != DefaultTimeoutS || c.Retries != DefaultRetries ||
		c.RetryBackoffS != DefaultRetryBackoffS || c.MaxTokens != DefaultMaxTokens {
		t.Errorf("WithDefaults = %+v", c)
	}
	if got := (ModelConfig{Retries: -1}).retries(); got != 0 {
		t.Errorf("retries() with Retries = -1 is %d, want 0", got)
	}
	if got := (ModelConfig{Retries: 4}).retries(); got != 4 {
		t.Errorf("retries() with Retries = 4 is %d, want 4", got)
	}
}
