package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"colt/core"
)

// Pane is one component of the console. The app sends every pane each dataMsg and the focused
// pane its keys; View returns exactly the size last set, border included.
type Pane interface {
	// Title names the pane in its border and the tab bar.
	Title() string
	// Update handles a message: a dataMsg, a selectMsg, or a key while the pane has the focus.
	Update(msg tea.Msg) tea.Cmd
	// View renders the pane at its size; focused draws the border highlighted.
	View(focused bool) string
	// SetSize sets the pane's size in cells, border included.
	SetSize(width, height int)
	// KeyHelp lists the pane's own keys for the help line.
	KeyHelp() []key.Binding
}

// dataMsg carries the latest state of the run to the panes: the last event (counters, status)
// and the last snapshot (tree, models, series, programs). Both are immutable values.
type dataMsg struct {
	event    core.Event
	snapshot *core.Snapshot
}

// selectMsg tells the program pane which tree node the cursor is on.
type selectMsg struct {
	node *core.TreeNode
}
