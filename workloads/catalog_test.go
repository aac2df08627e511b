package workloads

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"colt/schedule"
)

// userConfig is how users write workloads in colt.toml.
const userConfig = `
[workloads.my-conv]
description = "3x3 conv, stride 2, padding 1, awkward sizes"
dtype = "float32"
sizes = { N = 1, C = 3, K = 5, H = 17, W = 13, OH = "(H + 2 - 3) / 2 + 1", OW = "(W + 2 - 3) / 2 + 1" }
inputs = ["X[N, C, H, W]", "Wt[K, C, 3, 3]"]
tensors = ["Xp[N, C, H + 2, W + 2]", "Y[N, K, OH, OW]"]
stages = [
  "Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1])",
  "Y[n, k, y, x] += Xp[n, c, y*2 + r, x*2 + s] * Wt[k, c, r, s]",
]
outputs = ["Y"]

[workloads.a-model]
description = "a small model"

[[workloads.a-model.tasks]]
name = "conv"
workload = "my-conv"
weight = 3

[[workloads.a-model.tasks]]
workload = "llama3-8b:rmsnorm"
weight = 2

[workloads.gemv]
sizes = { N = 1000, K = 37 }
inputs = ["A[N, K]", "x[K]"]
stages = ["y[n] += A[n, k] * x[k]"]
`

func loadUserConfig(t *testing.T, text string) map[string]Spec {
	t.Helper()
	var cfg struct {
		Workloads map[string]Spec `toml:"workloads"`
	}
	if _, err := toml.Decode(text, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Workloads
}

func TestCatalogFromTOML(t *testing.T) {
	cat, err := NewCatalog(loadUserConfig(t, userConfig), "colt.toml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range cat.All() {
		names = append(names, w.Name)
	}
	want := "llama3-8b-attn deepseek-r1-moe flux-attn flux-conv llama4-scout-mlp llama3-8b a-model gemv my-conv"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("All() = %s\nwant built-ins first, then user workloads by name: %s", got, want)
	}

	conv, err := cat.Get("my-conv")
	if err != nil {
		t.Fatal(err)
	}
	if conv.Source != "colt.toml" || conv.Description != "3x3 conv, stride 2, padding 1, awkward sizes" {
		t.Errorf("my-conv: source %q, description %q", conv.Source, conv.Description)
	}
	model, err := cat.Get("a-model")
	if err != nil {
		t.Fatal(err)
	}
	norm, _ := cat.Get("llama3-8b:rmsnorm")
	if len(model.Tasks) != 2 || model.Tasks[0].Name != "conv" || model.Tasks[1].Name != "rmsnorm" {
		t.Fatalf("a-model tasks %v, want conv and rmsnorm (named after the referenced task)", model.Tasks)
	}
	if want := 3*conv.FLOPs() + 2*norm.FLOPs(); model.FLOPs() != want {
		t.Errorf("a-model FLOPs %d, want 3·conv + 2·rmsnorm = %d", model.FLOPs(), want)
	}
	task, err := cat.Get("a-model:conv")
	if err != nil {
		t.Fatal(err)
	}
	f := task.Tasks[0].Func()
	if f.Name != "a_model_conv" || !task.IsSingle() || task.Tasks[0].Weight != 1 {
		t.Errorf("a-model:conv: func %q, single %v, weight %d; want a_model_conv, a single task of weight 1", f.Name, task.IsSingle(), task.Tasks[0].Weight)
	}
	if err := schedule.Verify(f); err != nil {
		t.Error(err)
	}
}

func TestCatalogGetModelTask(t *testing.T) {
	cat, err := NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.Get("llama3-8b:attention")
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "llama3-8b:attention" || !w.IsSingle() || w.Source != BuiltinSource || !strings.Contains(w.Description, "attention") {
		t.Errorf("got %s (single %v, source %q, description %q)", w.Name, w.IsSingle(), w.Source, w.Description)
	}
	if _, err := cat.Get("llama3-8b:atention"); err == nil || !strings.Contains(err.Error(), `did you mean "attention"?`) {
		t.Errorf("unknown task: error %v, want a suggestion", err)
	}
}

func TestCatalogUnknownNameSuggests(t *testing.T) {
	cat, err := NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"llama3-8b-atn":      `unknown workload "llama3-8b-atn" (did you mean "llama3-8b-attn"?); known workloads: llama3-8b-attn, deepseek-r1-moe,`,
		"flux_conv":          `did you mean "flux-conv"?`,
		"llama3-8b:rmsnrom":  `did you mean "rmsnorm"?`,
		"lama3-8b:rmsnorm":   `unknown workload "lama3-8b" (did you mean "llama3-8b"?)`,
		"totally-different!": `unknown workload "totally-different!"; known workloads:`,
	} {
		_, err := cat.Get(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Get(%q): error %v\nwant it to contain %q", name, err, want)
		}
	}
}

func TestNewCatalogRejects(t *testing.T) {
	good := mm("C[m, n] += A[m, k] * B[k, n]")
	for _, tc := range []struct {
		what string
		user map[string]Spec
		want []string
	}{
		{"a built-in name", map[string]Spec{"flux-conv": good},
			[]string{`workload "flux-conv": the name is taken by a built-in workload`}},
		{"every bad workload", map[string]Spec{"x": mm("C[m] = Q[m]"), "y": mm("C[m n] = A[m]")},
			[]string{`workload "x": stage 1`, `workload "y": stage 1`}},
		{"a model of a bad workload", map[string]Spec{"bad": mm("C[m] = Q[m]"), "m": {Tasks: []TaskRef{{Workload: "bad", Weight: 1}}}},
			[]string{`workload "bad": stage 1`, `workload "m": task 1 (bad): workload "bad" has errors of its own`}},
		{"a cycle of models", map[string]Spec{
			"m1": {Tasks: []TaskRef{{Workload: "m2:t", Weight: 1}}},
			"m2": {Tasks: []TaskRef{{Name: "t", Workload: "m1:t", Weight: 1}}}},
			[]string{"refers back to itself"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			_, err := NewCatalog(tc.user, "colt.toml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, `workload "`) {
					t.Errorf("error line %q does not name its workload", line)
				}
			}
		})
	}
}

func TestCatalogModelOfUserModelTask(t *testing.T) {
	user := map[string]Spec{
		"mm": mm("C[m, n] += A[m, k] * B[k, n]"),
		"m1": {Tasks: []TaskRef{{Name: "first", Workload: "mm", Weight: 2}}},
		"m0": {Tasks: []TaskRef{{Workload: "m1:first", Weight: 5}, {Workload: "llama3-8b-attn", Weight: 1}}},
	}
	cat, err := NewCatalog(user, "colt.toml")
	if err != nil {
		t.Fatal(err)
	}
	m0, err := cat.Get("m0")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(5*2*16*17*8 + 2*16*4096*4096); m0.FLOPs() != want {
		t.Errorf("m0 FLOPs %d, want %d", m0.FLOPs(), want)
	}
	if got := m0.Tasks[1].Func().Name; got != "m0_llama3_8b_attn" {
		t.Errorf("func name %q, want m0_llama3_8b_attn", got)
	}
}
