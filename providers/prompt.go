package providers

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SystemPrompt is the system message of every expansion: the COLT paper's appendix-B system
// prompt, with the closing brace its output-format example lacks restored.
const SystemPrompt = `You are an AI scheduling assistant to help with a Monte Carlo Tree Search (MCTS) to find an optimal program in the search space starting from an unoptimized program. In this MCTS, the current program is the leaf we are expanding, while immediate parent and grandparent refer to the ancestors in the tree. Each program has:

- a piece of code
- a transformation history sequence
- a predicted performance score

You are given:

- Code of the current program
- Historical performance info of current/parent/grandparent (Pieces of code, transformation history sequences, predicted scores)
- A list of possible transformations that can be applied next
- Search context: leaf depth and trials progress
- Global per-model stats:
  - hit_rate: fraction of calls where score(child) > score(parent)
  - number of times the model is invoked
  - number of errors the model has made in past invocations (+1 for invalid transformation, +1 for invalid next_model name)
  - parameter counts
- Local model context:
  - model used to expand current/parent/grandparent

Task:

1. Compare code/transformation history/predicted performance scores to infer what changes might improve performance.
2. Propose a sequence of transformations from the provided list. You may repeat a transformation to explore different decisions.
3. Choose exactly one model from the provided model list as the next model to expand the child. Use the smallest model that could give best results. Prefer models with fewer errors.

Output a single valid JSON object in the EXACT format:

` + "```" + `
{
  "transformations": ["Fullname1", "Fullname2", "..."],
  "next_model": "..."
}
` + "```"

// BuildPrompt renders the system and user messages of one expansion, as in the COLT paper's
// appendix B: Historical Performance Info (code, transformation history and predicted score of
// the current, parent and grandparent programs), Available Transformations (a JSON list),
// Available Models (a JSON list of the allowed next-model names, the "provided model list" the
// system prompt names), Search Context (leaf depth, trials progress), Global Per-Model Stats
// (one line per model: "Model X: params=20.0B, number_of_calls=12, hit_rate=0.364, errors=0",
// with ", course_alteration=N" when N > 0) and Local Model Context (the models that expanded
// the current, parent and grandparent nodes). The output depends only on req.
func BuildPrompt(req Request) (system, user string) {
	c := req.Context
	var b strings.Builder
	b.WriteString("Historical Performance Info (Leaf, Parent, Grandparent)\n\n")
	writeNode(&b, "Current Program", c.Current)
	writeNode(&b, "Immediate Parent Schedule", c.Parent)
	writeNode(&b, "Grandparent Schedule", c.Grandparent)

	if req.Target != "" {
		b.WriteString("Target\n\n")
		b.WriteString(req.Target)
		b.WriteString("\n\n")
	}
	b.WriteString("Available Transformations\n\n")
	writeJSONList(&b, req.Transformations)
	b.WriteString("Available Models\n\n")
	writeJSONList(&b, req.Models)

	b.WriteString("Search Context\n\n")
	fmt.Fprintf(&b, "Leaf depth: %d\n\n", c.Depth)
	fmt.Fprintf(&b, "Trials progress: %d / %d\n\n", c.SamplesUsed, c.Budget)

	b.WriteString("Global Per-Model Stats\n\n")
	if len(c.ModelStats) == 0 {
		b.WriteString("N/A\n")
	}
	for _, m := range c.ModelStats {
		fmt.Fprintf(&b, "Model %s: params=%sB, number_of_calls=%d, hit_rate=%s, errors=%d",
			m.Name, formatParams(m.ParamsB), m.Calls, formatRound(m.HitRate, 3), m.Errors)
		if m.CourseAlterations > 0 {
			fmt.Fprintf(&b, ", course_alteration=%d", m.CourseAlterations)
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')

	b.WriteString("Local Model Context\n\n")
	for _, n := range []struct {
		what string
		info NodeInfo
	}{{"current", c.Current}, {"parent", c.Parent}, {"grandparent", c.Grandparent}} {
		model := n.info.Model
		if !n.info.Present || model == "" {
			model = "N/A"
		}
		fmt.Fprintf(&b, "Model used to expand the %s node: %s\n", n.what, model)
	}
	return SystemPrompt, b.String()
}

// writeNode renders one node of the Historical Performance Info section.
func writeNode(b *strings.Builder, title string, n NodeInfo) {
	fmt.Fprintf(b, "%s:\n\n", title)
	if !n.Present {
		b.WriteString("N/A\n\n")
		return
	}
	b.WriteString("Code:\n\n")
	writeFenced(b, n.Program)
	b.WriteString("Transformation history:\n\n")
	if len(n.History) == 0 {
		writeFenced(b, "(none: the unscheduled program)")
	} else {
		writeFenced(b, strings.Join(n.History, "\n"))
	}
	fmt.Fprintf(b, "Predicted score: %s\n\n", formatScore(n.Score))
}

// writeFenced writes text in a Markdown code fence.
func writeFenced(b *strings.Builder, text string) {
	b.WriteString("```\n")
	b.WriteString(strings.TrimRight(text, "\n"))
	b.WriteString("\n```\n\n")
}

// writeJSONList writes names as an indented JSON list in a code fence.
func writeJSONList(b *strings.Builder, names []string) {
	if names == nil {
		names = []string{}
	}
	data, err := json.MarshalIndent(names, "", "  ")
	if err != nil { // a []string always marshals
		data = []byte("[]")
	}
	writeFenced(b, string(data))
}

// formatParams writes a parameter count with at least one decimal: 20 → "20.0", 1.5 → "1.5".
func formatParams(p float64) string {
	s := strconv.FormatFloat(p, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// formatRound writes x rounded to at most digits decimals, without trailing zeros.
func formatRound(x float64, digits int) string {
	scale := math.Pow(10, float64(digits))
	return strconv.FormatFloat(math.Round(x*scale)/scale, 'f', -1, 64)
}

// formatScore writes a score with four significant digits, without trailing zeros or
// exponents (0.0739, 0.136, 1235).
func formatScore(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	mag := int(math.Floor(math.Log10(math.Abs(x))))
	digits := min(max(3-mag, 0), 12)
	return formatRound(x, digits)
}
