package providers

import (
	"slices"
	"strings"
	"testing"
)

var (
	testVocab  = []string{"TileSize", "Parallel", "Unroll", "ComputeLocation"}
	testModels = []string{"gpt-5-mini", "gpt-5.2", "Qwen2.5-7B"}
)

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		name         string
		text         string
		want         []string
		next         string
		invalidTrans int
		invalidNext  bool
	}{
		{
			name: "plain object",
			text: `{"transformations": ["TileSize", "Parallel"], "next_model": "gpt-5-mini"}`,
			want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "code fence with language tag",
			text: "```json\n{\"transformations\": [\"Unroll\"], \"next_model\": \"gpt-5.2\"}\n```",
			want: []string{"Unroll"}, next: "gpt-5.2",
		},
		{
			name: "prose around a fenced object",
			text: "Tiling the j axis should help.\n```\n{\"transformations\": [\"TileSize\"], \"next_model\": \"gpt-5-mini\"}\n```\nThis keeps the small model.",
			want: []string{"TileSize"}, next: "gpt-5-mini",
		},
		{
			name: "last object wins",
			text: `First idea: {"transformations": ["Unroll"], "next_model": "gpt-5.2"}. On reflection: {"transformations": ["Parallel"], "next_model": "gpt-5-mini"}`,
			want: []string{"Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "an object without answer keys after the answer does not win",
			text: `{"transformations": ["Parallel"], "next_model": "gpt-5-mini"} confidence: {"score": 0.8}`,
			want: []string{"Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "trailing commas and comments",
			text: "{\n  // the plan\n  \"transformations\": [\"TileSize\", \"Unroll\",], /* escalate? no */\n  \"next_model\": \"gpt-5-mini\",\n}",
			want: []string{"TileSize", "Unroll"}, next: "gpt-5-mini",
		},
		{
			name: "paper's brace-less example answer",
			text: "```\n\"transformations\": [ \"TileSize\", \"TileSize\", \"ComputeLocation\", \"Parallel\", \"Unroll\"  \n], \"next_model\": \"gpt-5-mini\",\n```",
			want: []string{"TileSize", "TileSize", "ComputeLocation", "Parallel", "Unroll"}, next: "gpt-5-mini",
		},
		{
			name: "missing closing brace, as the paper's format example",
			text: "{\n  \"transformations\": [\"Parallel\"],\n  \"next_model\": \"gpt-5.2\"\n",
			want: []string{"Parallel"}, next: "gpt-5.2",
		},
		{
			name: "key spellings transformation and nextModel",
			text: `{"transformation": ["Unroll"], "nextModel": "gpt-5.2"}`,
			want: []string{"Unroll"}, next: "gpt-5.2",
		},
		{
			name: "key spellings transforms and next model",
			text: `{"transforms": ["Unroll"], "next model": "gpt-5.2"}`,
			want: []string{"Unroll"}, next: "gpt-5.2",
		},
		{
			name: "aliases and spelling of transformation names",
			text: `{"transformations": ["Tile Size", "tile_size", "MutateTileSize", "meta_schedule.MutateParallel", "unroll", "compute-location", "compute_at", "TileSize()"], "next_model": "gpt-5-mini"}`,
			want: []string{"TileSize", "TileSize", "TileSize", "Parallel", "Unroll", "ComputeLocation", "ComputeLocation", "TileSize"}, next: "gpt-5-mini",
		},
		{
			name: "model names case-insensitively",
			text: `{"transformations": ["Parallel"], "next_model": "QWEN2.5-7b"}`,
			want: []string{"Parallel"}, next: "Qwen2.5-7B",
		},
		{
			name: "similar but unknown transformation names are counted, not matched",
			text: `{"transformations": ["TileSizes2", "Vectorize", "Paralel", "TileSize"], "next_model": "gpt-5-mini"}`,
			want: []string{"TileSize"}, next: "gpt-5-mini", invalidTrans: 3,
		},
		{
			name: "non-string elements are invalid",
			text: `{"transformations": ["Unroll", 3, null], "next_model": "gpt-5-mini"}`,
			want: []string{"Unroll"}, next: "gpt-5-mini", invalidTrans: 2,
		},
		{
			name: "unknown model name",
			text: `{"transformations": ["Unroll"], "next_model": "gpt-4o"}`,
			want: []string{"Unroll"}, invalidNext: true,
		},
		{
			name: "model suffix is not a match",
			text: `{"transformations": ["Unroll"], "next_model": "5-mini"}`,
			want: []string{"Unroll"}, invalidNext: true,
		},
		{
			name: "missing next_model",
			text: `{"transformations": ["Unroll"]}`,
			want: []string{"Unroll"}, invalidNext: true,
		},
		{
			name: "next_model not a string",
			text: `{"transformations": ["Unroll"], "next_model": ["gpt-5-mini"]}`,
			want: []string{"Unroll"}, invalidNext: true,
		},
		{
			name: "empty transformations",
			text: `{"transformations": [], "next_model": "gpt-5-mini"}`,
			next: "gpt-5-mini",
		},
		{
			name: "single quotes and bare keys and values",
			text: `{transformations: ['TileSize', 'Unroll'], next_model: gpt-5-mini}`,
			want: []string{"TileSize", "Unroll"}, next: "gpt-5-mini",
		},
		{
			name: "transformations as one comma-separated string",
			text: `{"transformations": "TileSize, Parallel", "next_model": "gpt-5-mini"}`,
			want: []string{"TileSize", "Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "answer nested in a wrapper object",
			text: `{"answer": {"transformations": ["Parallel"], "next_model": "gpt-5-mini"}}`,
			want: []string{"Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "think block with JSON is ignored",
			text: `<think>maybe {"transformations": ["Unroll"], "next_model": "gpt-5.2"}</think>{"transformations": ["Parallel"], "next_model": "gpt-5-mini"}`,
			want: []string{"Parallel"}, next: "gpt-5-mini",
		},
		{
			name: "braces inside strings",
			text: `{"note": "use {i, j} tiles", "transformations": ["TileSize"], "next_model": "gpt-5-mini"}`,
			want: []string{"TileSize"}, next: "gpt-5-mini",
		},
		{
			name:        "an object without answer keys",
			text:        `Here: {"plan": "tile"}`,
			invalidNext: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResponse(tc.text, testVocab, testModels)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if !slices.Equal(got.Transformations, tc.want) {
				t.Errorf("Transformations = %q, want %q", got.Transformations, tc.want)
			}
			if got.NextModel != tc.next {
				t.Errorf("NextModel = %q, want %q", got.NextModel, tc.next)
			}
			if got.InvalidTransformations != tc.invalidTrans {
				t.Errorf("InvalidTransformations = %d, want %d", got.InvalidTransformations, tc.invalidTrans)
			}
			if got.InvalidNextModel != tc.invalidNext {
				t.Errorf("InvalidNextModel = %v, want %v", got.InvalidNextModel, tc.invalidNext)
			}
			wantErrs := tc.invalidTrans
			if tc.invalidNext {
				wantErrs++
			}
			if got.Errors() != wantErrs {
				t.Errorf("Errors() = %d, want %d", got.Errors(), wantErrs)
			}
			if got.Raw != tc.text {
				t.Errorf("Raw = %q, want the text", got.Raw)
			}
		})
	}
}

func TestParseResponseNoJSON(t *testing.T) {
	for _, text := range []string{
		"",
		"I would tile the j axis and then parallelize the outer loop.",
		"Transformations to apply: TileSize, Parallel",
		`{"transformations": ["TileSize", "Parallel"`, // cut off inside the list
		"{ not json at all }",
	} {
		t.Run(text, func(t *testing.T) {
			got, err := ParseResponse(text, testVocab, testModels)
			if err == nil {
				t.Fatalf("ParseResponse(%q) = %+v, want an error", text, got)
			}
			if !strings.Contains(err.Error(), "no JSON object") {
				t.Errorf("error %q does not say no JSON object was found", err)
			}
			if got.Raw != text {
				t.Errorf("Raw = %q, want the text", got.Raw)
			}
		})
	}
}

// FuzzParseResponse checks the parser never panics and only returns valid names.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"transformations": ["TileSize"], "next_model": "gpt-5-mini"}`,
		"```\n\"transformations\": [\"Unroll\",], \"next_model\": 'gpt-5.2'\n```",
		`{a: {b: [1, 2, {c: "d"}]}, "transform": "x, y"} /* c`,
		`"next_model": "\u0067pt-5.2"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseResponse(s, testVocab, testModels)
		if err != nil {
			return
		}
		for _, name := range got.Transformations {
			if !slices.Contains(testVocab, name) {
				t.Fatalf("transformation %q is not in the vocabulary", name)
			}
		}
		if got.NextModel != "" && !slices.Contains(testModels, got.NextModel) {
			t.Fatalf("next model %q is not allowed", got.NextModel)
		}
		if (got.NextModel == "") != got.InvalidNextModel {
			t.Fatalf("NextModel %q with InvalidNextModel %v", got.NextModel, got.InvalidNextModel)
		}
	})
}
