package workloads

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// matmulFLOPs is the FLOPs of a (tokens × k) · (k × n) matmul.
func matmulFLOPs(tokens, k, n int) int64 { return 2 * int64(tokens) * int64(k) * int64(n) }

// TestFromHFConfig: each family's fixture config gives the expected tasks, weights and shapes
// (the matmul tasks' FLOPs say their shapes), for 8 tokens.
func TestFromHFConfig(t *testing.T) {
	const tokens = 8
	type task struct {
		weight int
		flops  int64 // 0: not checked (attention, norms, the gated MLP)
	}
	cases := []struct {
		fixture string
		tasks   map[string]task
	}{
		{"llama", map[string]task{
			"qkv": {2, matmulFLOPs(tokens, 64, (4+2*2)*16)}, "attention": {2, 0}, "out-proj": {2, matmulFLOPs(tokens, 64, 64)},
			"rmsnorm": {5, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 100)}, "gate-up": {2, 0}, "down": {2, matmulFLOPs(tokens, 176, 64)}}},
		{"mistral", map[string]task{
			"qkv": {3, matmulFLOPs(tokens, 64, (8+2*2)*8)}, "attention": {3, 0}, "out-proj": {3, matmulFLOPs(tokens, 64, 64)},
			"rmsnorm": {7, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 120)}, "gate-up": {3, 0}, "down": {3, matmulFLOPs(tokens, 112, 64)}}},
		{"qwen2", map[string]task{
			"qkv": {2, matmulFLOPs(tokens, 48, (6+2*2)*8)}, "attention": {2, 0}, "out-proj": {2, matmulFLOPs(tokens, 48, 48)},
			"rmsnorm": {5, 0}, "lm-head": {1, matmulFLOPs(tokens, 48, 150)}, "gate-up": {2, 0}, "down": {2, matmulFLOPs(tokens, 96, 48)}}},
		{"qwen3", map[string]task{ // head_dim 32 is not hidden/heads
			"qkv": {2, matmulFLOPs(tokens, 64, (4+2*2)*32)}, "attention": {2, 0}, "out-proj": {2, matmulFLOPs(tokens, 4*32, 64)},
			"rmsnorm": {5, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 150)}, "gate-up": {2, 0}, "down": {2, matmulFLOPs(tokens, 96, 64)}}},
		{"mixtral", map[string]task{ // 2 layers × 2 experts per token
			"qkv": {2, matmulFLOPs(tokens, 64, (4+2*2)*16)}, "attention": {2, 0}, "out-proj": {2, matmulFLOPs(tokens, 64, 64)},
			"rmsnorm": {5, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 100)}, "expert-gate-up": {4, 0}, "expert-down": {4, matmulFLOPs(tokens, 96, 64)}}},
		{"qwen2_moe", map[string]task{ // layer 0 dense; layers 1–2 sparse with 2 experts per token and a shared expert
			"qkv": {3, matmulFLOPs(tokens, 64, (4+2*4)*16)}, "attention": {3, 0}, "out-proj": {3, matmulFLOPs(tokens, 64, 64)},
			"rmsnorm": {7, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 100)},
			"expert-gate-up": {4, 0}, "expert-down": {4, matmulFLOPs(tokens, 32, 64)},
			"shared-gate-up": {2, 0}, "shared-down": {2, matmulFLOPs(tokens, 64, 64)},
			"dense-gate-up": {1, 0}, "dense-down": {1, matmulFLOPs(tokens, 128, 64)}}},
		{"deepseek_v3", map[string]task{ // latent attention; layer 0 dense, layers 1–2 with 2 of 8 experts and 1 shared
			"q-a": {3, matmulFLOPs(tokens, 64, 32)}, "q-norm": {3, 0}, "q-b": {3, matmulFLOPs(tokens, 32, 4*(8+4))},
			"kv-a": {3, matmulFLOPs(tokens, 64, 16+4)}, "kv-norm": {3, 0}, "kv-b": {3, matmulFLOPs(tokens, 16, 4*(8+8))},
			"attention": {3, 0}, "out-proj": {3, matmulFLOPs(tokens, 4*8, 64)}, "rmsnorm": {7, 0}, "lm-head": {1, matmulFLOPs(tokens, 64, 100)},
			"expert-gate-up": {4, 0}, "expert-down": {4, matmulFLOPs(tokens, 24, 64)},
			"shared-gate-up": {2, 0}, "shared-down": {2, matmulFLOPs(tokens, 24, 64)},
			"dense-gate-up": {1, 0}, "dense-down": {1, matmulFLOPs(tokens, 96, 64)}}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "hf", tc.fixture+".json"))
			if err != nil {
				t.Fatal(err)
			}
			w, err := FromHFConfig("m", data, tokens, tc.fixture+".json")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, task := range w.Tasks {
				got[task.Name] = true
				want, ok := tc.tasks[task.Name]
				switch {
				case !ok:
					t.Errorf("unexpected task %s", task.Name)
				case task.Weight != want.weight:
					t.Errorf("%s: weight %d, want %d", task.Name, task.Weight, want.weight)
				case want.flops != 0 && task.FLOPs != want.flops:
					t.Errorf("%s: %d FLOPs, want %d", task.Name, task.FLOPs, want.flops)
				}
			}
			for name := range tc.tasks {
				if !got[name] {
					t.Errorf("task %s is missing", name)
				}
			}
		})
	}
}

// TestFromHFConfigErrors: what the importer cannot use is one line naming it.
func TestFromHFConfigErrors(t *testing.T) {
	llama, err := os.ReadFile(filepath.Join("testdata", "hf", "llama.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(llama), old, new, 1)) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"unsupported architecture", edit(`"model_type": "llama"`, `"model_type": "gpt2"`), "architecture gpt2 is not supported; supported model_type values: deepseek_v2, deepseek_v3, llama"},
		{"no model_type", edit(`"model_type": "llama", `, ``), "(no model_type) is not supported"},
		{"missing field", edit(`"hidden_size": 64, `, ``), "field hidden_size is missing"},
		{"zero field", edit(`"num_hidden_layers": 2`, `"num_hidden_layers": 0`), "num_hidden_layers is 0"},
		{"KV heads that do not divide the heads", edit(`"num_key_value_heads": 2`, `"num_key_value_heads": 3`), "num_key_value_heads 3 does not divide num_attention_heads 4"},
		{"hidden not a multiple of heads", edit(`"num_attention_heads": 4, "num_key_value_heads": 2`, `"num_attention_heads": 5, "num_key_value_heads": 5`), "hidden_size 64 is not a multiple of num_attention_heads 5"},
		{"activation", edit(`"hidden_act": "silu"`, `"hidden_act": "gelu"`), `hidden_act "gelu" is not supported`},
		{"not JSON", []byte("{"), "is not a transformers config.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromHFConfig("m", tc.data, 8, "config.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tc.want)
			}
		})
	}
	if _, err := FromHFConfig("m", llama, 0, "config.json"); err == nil || !strings.Contains(err.Error(), "--tokens is 0") {
		t.Errorf("0 tokens: %v", err)
	}
	moe, _ := os.ReadFile(filepath.Join("testdata", "hf", "mixtral.json"))
	bad := strings.Replace(string(moe), `"num_experts_per_tok": 2`, `"num_experts_per_tok": 5`, 1)
	if _, err := FromHFConfig("m", []byte(bad), 8, "config.json"); err == nil || !strings.Contains(err.Error(), "num_experts_per_tok 5 exceeds the 4 experts") {
		t.Errorf("more experts per token than experts: %v", err)
	}
}
