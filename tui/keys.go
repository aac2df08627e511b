package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// KeyMap is the console's one key map: the app, every pane and the help line read it.
type KeyMap struct {
	// Global actions.
	NextPane, PrevPane                        key.Binding
	Pause, Pin, Unpin, Escalate, Export, Stop key.Binding
	Quit                                      key.Binding
	NextTask, PrevTask                        key.Binding
	// Movement inside the focused pane (Move and Fold only name the arrows in the help line).
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Move, Fold                              key.Binding
	// Tree pane.
	Collapse, Expand, Toggle, FollowBest key.Binding
	// Program pane: which program (selected node, current, best) and TIR or C.
	Which, Source key.Binding
	// Model picker.
	Choose, Cancel key.Binding
}

// DefaultKeyMap is the console's key map; nothing in it needs a mouse or a function key.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		NextPane: b([]string{"tab"}, "tab", "pane"),
		PrevPane: b([]string{"shift+tab"}, "S-tab", "prev pane"),
		Pause:    b([]string{"p", " "}, "p", "pause"),
		Pin:      b([]string{"m"}, "m", "pin"),
		Unpin:    b([]string{"u"}, "u", "unpin"),
		Escalate: b([]string{"e"}, "e", "escalate"),
		Export:   b([]string{"x"}, "x", "export"),
		Stop:     b([]string{"s"}, "s", "stop"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
		NextTask: b([]string{"]"}, "]", "next task"),
		PrevTask: b([]string{"["}, "[", "prev task"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom"),
		Move:     b([]string{"up", "down"}, "↑↓", "move"),
		Fold:     b([]string{"left", "right"}, "←→", "fold"),

		Collapse:   b([]string{"left", "h"}, "←/h", "collapse"),
		Expand:     b([]string{"right", "l"}, "→/l", "expand"),
		Toggle:     b([]string{"enter"}, "enter", "fold"),
		FollowBest: b([]string{"f"}, "f", "follow best"),

		Which:  b([]string{"v"}, "v", "which program"),
		Source: b([]string{"c"}, "c", "TIR/C"),

		Choose: b([]string{"enter"}, "enter", "pin it"),
		Cancel: b([]string{"esc"}, "esc", "cancel"),
	}
}

// Global are the bindings that work whatever pane has the focus.
func (k KeyMap) Global() []key.Binding {
	return []key.Binding{k.NextPane, k.Pause, k.Pin, k.Unpin, k.Escalate, k.Export, k.Stop, k.Quit}
}

// helpLine renders bindings as "key desc" pairs separated by two spaces.
func helpLine(bindings ...key.Binding) string {
	var parts []string
	for _, b := range bindings {
		if h := b.Help(); h.Key != "" && b.Enabled() {
			parts = append(parts, h.Key+" "+h.Desc)
		}
	}
	return strings.Join(parts, "  ")
}
