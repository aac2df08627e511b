package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"colt/core"
)

// paneWith returns a pane fed with the fixture data at a size.
func paneWith(t *testing.T, p Pane, width, height int) Pane {
	t.Helper()
	p.SetSize(width, height)
	p.Update(fixtureData(t))
	return p
}

// checkBox fails unless view is exactly width × height cells with an intact border.
func checkBox(t *testing.T, name, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != height {
		t.Fatalf("%s: %d lines, want %d", name, len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != width {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i, w, width, l)
		}
	}
	checkRect(t, name, lines, 0, 0, width, height)
}

// checkRect fails unless the w × h rectangle at (x, y) of lines is a box border.
func checkRect(t *testing.T, name string, lines []string, x, y, w, h int) {
	t.Helper()
	cell := func(row, col int) rune {
		r := []rune(ansi.Strip(lines[row]))
		if col < len(r) {
			return r[col]
		}
		return 0
	}
	corners := []struct {
		row, col int
		want     rune
	}{{y, x, '┌'}, {y, x + w - 1, '┐'}, {y + h - 1, x, '└'}, {y + h - 1, x + w - 1, '┘'}}
	for _, c := range corners {
		if got := cell(c.row, c.col); got != c.want {
			t.Errorf("%s: corner at row %d col %d is %q, want %q", name, c.row, c.col, got, c.want)
		}
	}
	for row := y + 1; row < y+h-1; row++ {
		if cell(row, x) != '│' || cell(row, x+w-1) != '│' {
			t.Errorf("%s: row %d: border is %q…%q, want │…│", name, row, cell(row, x), cell(row, x+w-1))
		}
	}
	for col := x + 1; col < x+w-1; col++ {
		if cell(y+h-1, col) != '─' {
			t.Errorf("%s: bottom border broken at col %d: %q", name, col, cell(y+h-1, col))
			break
		}
	}
}

func TestPaneGoldens(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	tests := []struct {
		name          string
		pane          func() Pane
		width, height int
		focused       bool
	}{
		{"tree_60x12", func() Pane { return NewTreePane(st, keys) }, 60, 12, true},
		{"tree_40x8", func() Pane { return NewTreePane(st, keys) }, 40, 8, false},
		{"models_90x9", func() Pane { return NewModelsPane(st, keys) }, 90, 9, false},
		{"models_50x9", func() Pane { return NewModelsPane(st, keys) }, 50, 9, true},
		{"program_60x16", func() Pane { return NewProgramPane(st, keys) }, 60, 16, false},
		{"plot_80x16", func() Pane { return NewPlotPane(st, keys) }, 80, 16, false},
		{"plot_44x10", func() Pane { return NewPlotPane(st, keys) }, 44, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paneWith(t, tt.pane(), tt.width, tt.height)
			view := p.View(tt.focused)
			checkBox(t, tt.name, view, tt.width, tt.height)
			golden(t, tt.name, stripTrailing(view))
		})
	}
}

func TestEmptyPanesSayWhy(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	evo := dataMsg{}
	evo.event.Strategy = "evolutionary"
	tests := []struct {
		pane Pane
		want string
	}{
		{NewTreePane(st, keys), "the evolutionary search keeps no tree"},
		{NewModelsPane(st, keys), "the evolutionary search calls no models"},
		{NewProgramPane(st, keys), "no best program yet"},
		{NewPlotPane(st, keys), "no samples yet"},
	}
	for _, tt := range tests {
		tt.pane.SetSize(70, 8)
		tt.pane.Update(evo)
		view := tt.pane.View(false)
		checkBox(t, tt.pane.Title(), view, 70, 8)
		if !strings.Contains(view, tt.want) {
			t.Errorf("%s: %q not in\n%s", tt.pane.Title(), tt.want, view)
		}
	}
}

// keyMsg is a key press as Bubble Tea delivers it: a named key or runes.
func keyMsg(k string) tea.KeyMsg {
	named := map[string]tea.KeyType{"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp, "ctrl+c": tea.KeyCtrlC}
	if t, ok := named[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func TestTreeKeys(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	tests := []struct {
		keys     []string
		selected int    // node under the cursor afterwards
		visible  int    // rows shown
		follow   bool   // following the best
		row      string // a substring of the selected row
	}{
		{nil, 6, 8, true, "#6 ComputeLocation by sim-gpt-5.2 [course alteration]"},
		{[]string{"up"}, 5, 8, false, "#5 TileSize by sim-llama-3.1-8b [pruned]"},
		{[]string{"g"}, 0, 8, false, "root"},
		{[]string{"G"}, 4, 8, false, "#4 Parallel"},
		{[]string{"g", "down", "enter"}, 1, 4, false, "▸(4)"},
		{[]string{"g", "down", "left"}, 1, 4, false, "#1 sketch sample"},
		{[]string{"g", "down", "left", "left"}, 0, 4, false, "root"},
		{[]string{"g", "down", "left", "right"}, 1, 8, false, "▾"},
		{[]string{"g", "down", "right"}, 3, 8, false, "#3 TileSize+Unroll"},
		{[]string{"g", "f"}, 6, 8, true, "#6"},
		{[]string{"g", "pgdown"}, 4, 8, false, "#4 Parallel"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			p := paneWith(t, NewTreePane(st, keys), 70, 12).(*TreePane)
			for _, k := range tt.keys {
				p.Update(keyMsg(k))
			}
			if p.selected != tt.selected || len(p.visible) != tt.visible || p.follow != tt.follow {
				t.Errorf("selected %d, %d rows, follow %v; want %d, %d, %v", p.selected, len(p.visible), p.follow, tt.selected, tt.visible, tt.follow)
			}
			if row := p.row(p.selected, 120); !strings.Contains(row, tt.row) || !strings.HasPrefix(row, "›") {
				t.Errorf("selected row %q, want the cursor and %q", row, tt.row)
			}
		})
	}
}

func TestTreeSelectionReachesTheProgramPane(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	tree := paneWith(t, NewTreePane(st, keys), 70, 12)
	prog := paneWith(t, NewProgramPane(st, keys), 70, 12).(*ProgramPane)
	cmd := tree.Update(keyMsg("g"))
	if cmd == nil {
		t.Fatal("moving the cursor sent no selection")
	}
	prog.Update(cmd())
	prog.Update(keyMsg("v")) // best → selected node
	if view := prog.View(true); prog.which != showSelected || !strings.Contains(view, "rendering the program of node 0") {
		t.Fatalf("before the engine has rendered it, the pane shows %s:\n%s", showNames[prog.which], view)
	}
	// The engine answers the selection with a snapshot carrying the node's program.
	prog.Update(fixtureData(t))
	if prog.selected == nil {
		t.Fatal("the snapshot's program of the selected node did not reach the pane")
	}
	if view := prog.View(true); !strings.Contains(view, "Program: selected node") || !strings.Contains(view, "T.prim_func") {
		t.Errorf("the selected root's program is not shown:\n%s", view)
	}
}

func TestProgramKeys(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	tests := []struct {
		keys   []string
		title  string
		offset int
		text   string
	}{
		{nil, "Program: best · TIR", 0, "T.prim_func"},
		{[]string{"v"}, "Program: selected node · TIR", 0, "no node selected"},
		{[]string{"v", "v"}, "Program: current · TIR", 0, "T.prim_func"},
		{[]string{"c"}, "Program: best · C", 0, "colt kernel"},
		{[]string{"c", "c"}, "Program: best · TIR", 0, "T.prim_func"},
		{[]string{"down", "down"}, "Program: best · TIR", 2, ""},
		{[]string{"down", "up"}, "Program: best · TIR", 0, ""},
		{[]string{"G", "g"}, "Program: best · TIR", 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			p := paneWith(t, NewProgramPane(st, keys), 70, 8).(*ProgramPane)
			for _, k := range tt.keys {
				p.Update(keyMsg(k))
			}
			view := p.View(true)
			if !strings.Contains(view, tt.title) || !strings.Contains(view, tt.text) || p.offset != tt.offset {
				t.Errorf("title/text/offset: want %q, %q, %d; got offset %d:\n%s", tt.title, tt.text, tt.offset, p.offset, view)
			}
		})
	}
}

func TestModelsKeysAndMarks(t *testing.T) {
	st, keys := plainStyles(), DefaultKeyMap()
	p := paneWith(t, NewModelsPane(st, keys), 90, 10).(*ModelsPane)
	for _, k := range []string{"down", "down", "down", "down", "up"} {
		p.Update(keyMsg(k))
	}
	if p.cursor != 2 {
		t.Errorf("cursor %d after 4×down (3 models below) and up, want 2", p.cursor)
	}
	d := fixtureData(t)
	d.snapshot.Pinned = "sim-llama-3.1-8b"
	p.Update(d)
	view := p.View(false)
	for _, want := range []string{"⚑ sim-llama-3.1-8b", "▲ sim-gpt-5.2", "⚑ pinned", "sim = simulated"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q not in\n%s", want, view)
		}
	}
}

func TestLargeTreeRendersOnlyWhatIsOnScreen(t *testing.T) {
	b := newTree()
	for i := 1; i < 10000; i++ {
		b.add((i-1)/2, "TileSize", "sim-llama-3.1-8b", float64(i%97)/97, float64(i%13+1)/1000)
	}
	p := NewTreePane(plainStyles(), DefaultKeyMap())
	p.SetSize(100, 30)
	p.Update(dataMsg{snapshot: &core.Snapshot{Tree: b.best(9999).nodes}})
	if len(p.visible) != 10000 {
		t.Fatalf("%d visible rows, want 10000", len(p.visible))
	}
	view := p.View(true)
	checkBox(t, "10k tree", view, 100, 30)
	if !strings.Contains(view, "#9999") {
		t.Errorf("the best node #9999 is not on screen (follow-best):\n%s", view)
	}
	p.Update(keyMsg("g"))
	p.Update(keyMsg("enter")) // fold the root: one row
	if len(p.visible) != 1 || !strings.Contains(p.View(true), fmt.Sprintf("▸(%d)", 9999)) {
		t.Errorf("folding the root left %d rows", len(p.visible))
	}
}
