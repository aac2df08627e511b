package bench

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"colt/core"
)

// Configuration is one way of searching: a strategy of the strategy table, for colt and mcts
// the models it uses (nil: the configuration's), and for a model's tasks how they share the
// budget ("": search.task_order).
type Configuration struct {
	// Label names the configuration in tables, plots and directory names.
	Label     string
	Strategy  string
	Models    []string
	TaskOrder core.TaskOrder
}

// Grid is what a bench runs: every workload with every configuration, budget and seed.
type Grid struct {
	Workloads []string
	Configs   []Configuration
	Budgets   []int
	Seeds     []uint64
}

// Cell is one tuning run of a grid.
type Cell struct {
	Workload string
	Config   Configuration
	Budget   int
	Seed     uint64
}

// Cells lists the grid's runs: by workload, then budget, then seed, then configuration, so
// that a bench cut short has compared the configurations on the same seeds.
func (g Grid) Cells() []Cell {
	var out []Cell
	for _, w := range g.Workloads {
		for _, b := range g.Budgets {
			for _, s := range g.Seeds {
				for _, c := range g.Configs {
					out = append(out, Cell{Workload: w, Config: c, Budget: b, Seed: s})
				}
			}
		}
	}
	return out
}

// Check reports what is wrong with the grid, all problems at once.
func (g Grid) Check() error {
	var bad []string
	if len(g.Workloads) == 0 || len(g.Configs) == 0 || len(g.Budgets) == 0 || len(g.Seeds) == 0 {
		bad = append(bad, "the grid needs at least one workload, configuration, budget and seed")
	}
	for _, b := range g.Budgets {
		if b < 1 {
			bad = append(bad, fmt.Sprintf("budget %d: want at least 1", b))
		}
	}
	labels := map[string]bool{}
	for _, c := range g.Configs {
		if labels[c.Label] {
			bad = append(bad, fmt.Sprintf("configuration %q appears twice", c.Label))
		}
		labels[c.Label] = true
		if !validLabel(c.Label) {
			bad = append(bad, fmt.Sprintf("configuration label %q: use letters, digits and - _ . ( )", c.Label))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// validLabel says a label can name a directory.
func validLabel(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.()", r)
		if !ok {
			return false
		}
	}
	return true
}

// ParseConfigurations reads --configs: comma-separated entries, each
// [LABEL=]STRATEGY[@ORDER][:MODEL+MODEL…], ORDER a task order of a model's tasks. Without a
// label, a strategy alone is its own label, colt with models is "colt(N)", mcts with a model
// "mcts(MODEL)", and a task order adds "-ORDER".
func ParseConfigurations(spec string) ([]Configuration, error) {
	var out []Configuration
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		label, rest, labelled := strings.Cut(entry, "=")
		if !labelled {
			rest, label = entry, ""
		}
		strategy, models, _ := strings.Cut(rest, ":")
		strategy, order, ordered := strings.Cut(strategy, "@")
		c := Configuration{Label: label, Strategy: strings.TrimSpace(strategy)}
		if !slices.Contains(core.StrategyNames(), c.Strategy) {
			return nil, fmt.Errorf("configuration %q: unknown strategy %q: want %s", entry, c.Strategy, strings.Join(core.StrategyNames(), ", "))
		}
		if ordered {
			o, err := core.ParseTaskOrder(strings.TrimSpace(order))
			if err != nil {
				return nil, fmt.Errorf("configuration %q: %w", entry, err)
			}
			c.TaskOrder = o
		}
		if models != "" {
			for m := range strings.SplitSeq(models, "+") {
				if m = strings.TrimSpace(m); m != "" {
					c.Models = append(c.Models, m)
				}
			}
		}
		if c.Label == "" {
			c.Label = defaultLabel(c)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no configuration in %q", spec)
	}
	return out, nil
}

// defaultLabel names a configuration without a label.
func defaultLabel(c Configuration) string {
	label := fmt.Sprintf("%s(%d)", c.Strategy, len(c.Models))
	switch {
	case len(c.Models) == 0:
		label = c.Strategy
	case c.Strategy == "mcts" && len(c.Models) == 1:
		label = "mcts(" + c.Models[0] + ")"
	}
	if c.TaskOrder != "" {
		label += "-" + string(c.TaskOrder)
	}
	return label
}

// Model is what a preset knows of a configured model.
type Model struct {
	Name    string
	ParamsB float64
}

// Preset is a named grid of workloads and configurations; the budgets and seeds come from
// the command line (Budgets is the preset's default).
type Preset struct {
	Name, Description string
	Budgets           []int
	grid              func(models []Model) (workloads []string, configs []Configuration, err error)
}

// Presets lists the presets --preset accepts.
func Presets() []Preset {
	return []Preset{{
		Name: "paper",
		Description: "the COLT paper's protocol: its five layers; COLT(2), COLT(4), COLT(8) over the configured models " +
			"in their order (as many as there are), the single large and single small model (mcts), budget 1000",
		Budgets: []int{1000},
		grid:    paperGrid,
	}}
}

// LookupPreset finds a preset by name; the error lists the names there are.
func LookupPreset(name string) (Preset, error) {
	var names []string
	for _, p := range Presets() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("unknown preset %q: want %s", name, strings.Join(names, ", "))
}

// Grid is the preset's workloads and configurations for the configured models.
func (p Preset) Grid(models []Model) ([]string, []Configuration, error) { return p.grid(models) }

// paperGrid is the paper's section 4.2: the model sets grow from the largest and a small model
// (the first two configured, as the paper's GPT-5.2 and gpt-5-mini) to four and eight; the
// single-model baselines are the largest model and the smaller of the first two.
func paperGrid(models []Model) ([]string, []Configuration, error) {
	if len(models) < 2 {
		return nil, nil, fmt.Errorf("the paper preset needs at least 2 configured models ([[models]] in colt.toml), found %d", len(models))
	}
	workloads := []string{"llama3-8b-attn", "deepseek-r1-moe", "flux-attn", "flux-conv", "llama4-scout-mlp"}
	names := func(ms []Model) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	var configs []Configuration
	for _, k := range []int{2, 4, 8} {
		if k <= len(models) {
			configs = append(configs, Configuration{Label: fmt.Sprintf("colt(%d)", k), Strategy: "colt", Models: names(models[:k])})
		}
	}
	largest := slices.MaxFunc(models, func(a, b Model) int { return cmp.Compare(a.ParamsB, b.ParamsB) })
	small := slices.MinFunc(models[:2], func(a, b Model) int { return cmp.Compare(a.ParamsB, b.ParamsB) })
	configs = append(configs,
		Configuration{Label: "single-large", Strategy: "mcts", Models: []string{largest.Name}},
		Configuration{Label: "single-small", Strategy: "mcts", Models: []string{small.Name}})
	return workloads, configs, nil
}
