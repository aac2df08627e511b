package providers

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// golden compares got with testdata/NAME, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./providers -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// paperRequest is the situation of the COLT paper's appendix-B example prompt.
func paperRequest() Request {
	return Request{
		Context: Context{
			Current: NodeInfo{
				Present: true,
				Program: "for fused in parallel(2):\n  for j_1 in range(64):\n    for k_0, k_1 in grid(512, 8):\n      for j_vec in vectorized(64):\n        C_global[...] += A[...] * B[...]\n",
				History: []string{
					"sch.sample_perfect_tile(loop=j, decision=[1, 64, 1, 64])",
					"sch.vectorize(...)",
					`sch.cache_write(..., storage_scope="global")`,
				},
				Score: 0.07391,
				Model: "gpt-5.2",
			},
			Parent: NodeInfo{
				Present: true,
				Program: "for j_0 in range(64):\n  for k in range(4096):\n    C[...] += A[...] * B[...]",
				History: []string{"sch.sample_perfect_tile(loop=j, decision=[4, 16, 1, 64])"},
				Score:   0.136,
				Model:   "gpt-5.2",
			},
			Grandparent: NodeInfo{Present: true, Program: "for i, j, k in grid(16, 4096, 4096):\n  C[i, j] += A[i, k] * B[k, j]", Score: 0.0012},
			Depth:       3,
			SamplesUsed: 10,
			Budget:      300,
			ModelStats: []ModelStat{
				{Name: "gpt-5-mini", ParamsB: 20, Calls: 12, HitRate: 4.0 / 11, Errors: 0},
				{Name: "gpt-5.2", ParamsB: 300, Calls: 11, HitRate: 0.5, Errors: 0, CourseAlterations: 1},
				{Name: "qwen2.5-1.5b", ParamsB: 1.5, Calls: 3, HitRate: 0, Errors: 2},
			},
		},
		Transformations: []string{"ComputeLocation", "Parallel", "Unroll", "TileSize"},
		Models:          []string{"gpt-5-mini", "gpt-5.2", "qwen2.5-1.5b"},
	}
}

func TestBuildPromptGolden(t *testing.T) {
	system, user := BuildPrompt(paperRequest())
	golden(t, "prompt.txt", "=== system ===\n"+system+"\n=== user ===\n"+user)

	for _, want := range []string{
		"Historical Performance Info (Leaf, Parent, Grandparent)",
		"Current Program:",
		"Immediate Parent Schedule:",
		"Grandparent Schedule:",
		"Predicted score: 0.07391",
		"Predicted score: 0.136",
		"Available Transformations",
		"\"ComputeLocation\",\n  \"Parallel\"",
		"Search Context",
		"Leaf depth: 3",
		"Trials progress: 10 / 300",
		"Global Per-Model Stats",
		"Model gpt-5-mini: params=20.0B, number_of_calls=12, hit_rate=0.364, errors=0\n",
		"Model gpt-5.2: params=300.0B, number_of_calls=11, hit_rate=0.5, errors=0, course_alteration=1\n",
		"Model qwen2.5-1.5b: params=1.5B, number_of_calls=3, hit_rate=0, errors=2\n",
		"Local Model Context",
		"Model used to expand the current node: gpt-5.2\n",
		"Model used to expand the parent node: gpt-5.2\n",
		"Model used to expand the grandparent node: N/A\n",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("user prompt lacks %q", want)
		}
	}
	for _, want := range []string{
		"You are an AI scheduling assistant",
		"+1 for invalid transformation, +1 for invalid next_model name",
		"Use the smallest model that could give best results. Prefer models with fewer errors.",
		"\"next_model\": \"...\"\n}",
	} {
		if !strings.Contains(system, want) {
			t.Errorf("system prompt lacks %q", want)
		}
	}
}

func TestBuildPromptAbsentAncestors(t *testing.T) {
	req := paperRequest()
	req.Context.Parent = NodeInfo{}
	req.Context.Grandparent = NodeInfo{}
	req.Context.Current.History = nil
	_, user := BuildPrompt(req)
	for _, want := range []string{
		"Immediate Parent Schedule:\n\nN/A\n",
		"Grandparent Schedule:\n\nN/A\n",
		"(none: the unscheduled program)",
		"Model used to expand the parent node: N/A\n",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("user prompt lacks %q", want)
		}
	}
	_, again := BuildPrompt(req)
	if again != user {
		t.Error("BuildPrompt is not deterministic")
	}
}

func TestFormatScore(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.07391, "0.07391"},
		{0.136, "0.136"},
		{0.0739123, "0.07391"},
		{1234.56, "1235"},
		{0, "0"},
		{-0.5, "-0.5"},
		{1e-30, "0"},
	} {
		if got := formatScore(tc.in); got != tc.want {
			t.Errorf("formatScore(%g) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
