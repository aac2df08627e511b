package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"colt/core"
)

// ModelsPane is the model-invocation table: one row per model with its kind (real or
// simulated), size, calls, calls in flight, share, hit rate, errors, course alterations, tokens
// and cost; the pinned and the largest model are marked.
type ModelsPane struct {
	st            Styles
	keys          KeyMap
	width, height int

	models   []core.ModelStat
	pinned   string
	largest  string
	strategy string
	cursor   int
}

// NewModelsPane returns an empty model table.
func NewModelsPane(st Styles, keys KeyMap) *ModelsPane { return &ModelsPane{st: st, keys: keys} }

// Title implements Pane.
func (p *ModelsPane) Title() string { return "Model invocations" }

// SetSize implements Pane.
func (p *ModelsPane) SetSize(width, height int) { p.width, p.height = width, height }

// KeyHelp implements Pane.
func (p *ModelsPane) KeyHelp() []key.Binding { return []key.Binding{p.keys.Move} }

// Update implements Pane.
func (p *ModelsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case dataMsg:
		p.strategy = msg.event.Strategy
		if s := msg.snapshot; s != nil {
			p.models, p.pinned, p.largest = s.Models, s.Pinned, s.Largest
			p.cursor = min(p.cursor, max(len(p.models)-1, 0))
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, p.keys.Up):
			p.cursor = max(p.cursor-1, 0)
		case key.Matches(msg, p.keys.Down):
			p.cursor = min(p.cursor+1, max(len(p.models)-1, 0))
		}
	}
	return nil
}

// modelColumn is one column of the table: its header and how a row fills it.
type modelColumn struct {
	header string
	width  int
	right  bool
	cell   func(m core.ModelStat) string
}

func modelColumns() []modelColumn {
	return []modelColumn{
		{"KIND", 5, false, func(m core.ModelStat) string {
			if m.Simulated {
				return "sim"
			}
			return "real"
		}},
		{"PARAMS", 6, true, func(m core.ModelStat) string { return fmt.Sprintf("%gB", m.ParamsB) }},
		{"CALLS", 5, true, func(m core.ModelStat) string { return fmt.Sprint(m.Calls) }},
		{"LIVE", 7, true, func(m core.ModelStat) string {
			// Calls in flight and the age of the oldest.
			if m.InFlight == 0 {
				return "-"
			}
			return fmt.Sprintf("%d %.0fs", m.InFlight, m.OldestS)
		}},
		{"SHARE", 6, true, func(m core.ModelStat) string { return fmt.Sprintf("%.1f%%", 100*m.Share) }},
		{"HIT", 5, true, func(m core.ModelStat) string { return fmt.Sprintf("%.2f", m.HitRate) }},
		{"ERR", 4, true, func(m core.ModelStat) string { return fmt.Sprint(m.Errors) }},
		{"ALT", 4, true, func(m core.ModelStat) string { return fmt.Sprint(m.Altered) }},
		{"TOKENS", 8, true, func(m core.ModelStat) string { return compact(m.Tokens) }},
		{"COST", 8, true, func(m core.ModelStat) string { return fmt.Sprintf("$%.3f", m.CostUSD) }},
	}
}

// compact prints a count with k/M suffixes.
func compact(n int) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// View implements Pane.
func (p *ModelsPane) View(focused bool) string {
	inner := max(p.width-2, 0)
	rows := max(p.height-2, 0)
	var lines []string
	var styles []*lipgloss.Style
	if len(p.models) == 0 {
		msg := "no models: waiting for the search to start…"
		if p.strategy != "" && p.strategy != "colt" {
			msg = "the " + p.strategy + " search calls no models"
		}
		lines = append(lines, msg)
	} else {
		// Name takes what the other columns leave; columns that do not fit are dropped from
		// the right.
		cols := modelColumns()
		nameW := 0
		for _, m := range p.models {
			nameW = max(nameW, len([]rune(m.Name))+2)
		}
		nameW = min(max(nameW, 8), 28)
		used := nameW
		n := 0
		for _, c := range cols {
			if used+1+c.width > inner {
				break
			}
			used += 1 + c.width
			n++
		}
		cols = cols[:n]
		if inner-used > 0 && nameW < 28 {
			nameW = min(nameW+inner-used, 28)
		}
		header := fit("MODEL", nameW)
		for _, c := range cols {
			header += " " + pad(c.header, c.width, c.right)
		}
		lines = append(lines, header)
		styles = append(styles, &p.st.Title)
		for i, m := range p.models {
			mark := "  "
			switch {
			case m.Name == p.pinned:
				mark = "⚑ "
			case m.Name == p.largest:
				mark = "▲ "
			}
			line := fit(mark+m.Name, nameW)
			for _, c := range cols {
				line += " " + pad(c.cell(m), c.width, c.right)
			}
			lines = append(lines, line)
			var st *lipgloss.Style
			if focused && i == p.cursor {
				st = &p.st.Selected
			}
			styles = append(styles, st)
		}
		legend := "▲ largest"
		if p.pinned != "" {
			legend = "⚑ pinned  " + legend
		}
		if p.hasSim() {
			legend += "  sim = simulated, not a real LLM"
		}
		lines = append(lines, "", legend)
		styles = append(styles, nil, &p.st.Dim)
	}
	content := block(lines, inner, rows, func(i int) *lipgloss.Style {
		if i < len(styles) {
			return styles[i]
		}
		return nil
	})
	return frame(p.st, p.Title(), focused, content, p.width, p.height)
}

func (p *ModelsPane) hasSim() bool {
	for _, m := range p.models {
		if m.Simulated {
			return true
		}
	}
	return false
}

// pad aligns s in a cell of width cells.
func pad(s string, width int, right bool) string {
	s = fit(s, width)
	if right {
		t := strings.TrimRight(s, " ")
		return strings.Repeat(" ", width-len([]rune(t))) + t
	}
	return s
}
