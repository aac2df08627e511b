package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// The smallest terminal the console draws; 80×24 is the size it is designed for.
const (
	minWidth, minHeight = 40, 10
	// At least this size shows all four panes at once; smaller shows one pane with tabs.
	gridWidth, gridHeight = 120, 32
)

// chrome is the rows the status, message and help lines take.
const chrome = 3

// grid reports whether the four panes fit side by side.
func (m *Model) grid() bool { return m.width >= gridWidth && m.height >= gridHeight }

// split is the grid's column and row split: the left column and the top row get these sizes.
func (m *Model) split() (left, top int) {
	return m.width * 11 / 20, (m.height - chrome) * 3 / 5
}

// layout gives every pane its size.
func (m *Model) layout() {
	if m.width < minWidth || m.height < minHeight {
		return
	}
	body := m.height - chrome
	if !m.grid() {
		for _, p := range m.panes {
			p.SetSize(m.width, body-1) // the tab bar takes a row
		}
		return
	}
	left, top := m.split()
	tasks := m.tasksHeight()
	if tasks > 0 {
		m.panes[paneTasks].SetSize(left, tasks)
	}
	m.panes[paneTree].SetSize(left, top-tasks)
	m.panes[paneModels].SetSize(left, body-top)
	m.panes[paneProgram].SetSize(m.width-left, top)
	m.panes[panePlot].SetSize(m.width-left, body-top)
}

// body renders the panes: a 2×2 grid, or a tab bar and the focused pane.
func (m *Model) body() []string {
	body := m.height - chrome
	if !m.grid() {
		view := m.panes[m.focus].View(true)
		if m.picking {
			view = m.picker(m.width, body-1)
		}
		return append([]string{m.tabBar()}, strings.Split(view, "\n")...)
	}
	left, top := m.split()
	view := func(i int) string { return m.panes[i].View(m.focus == i) }
	models := view(paneModels)
	if m.picking {
		models = m.picker(left, body-top)
	}
	leftCol := lipgloss.JoinVertical(lipgloss.Left, view(paneTree), models)
	if m.tasksHeight() > 0 {
		leftCol = lipgloss.JoinVertical(lipgloss.Left, view(paneTasks), view(paneTree), models)
	}
	rightCol := lipgloss.JoinVertical(lipgloss.Left, view(paneProgram), view(panePlot))
	return strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, leftCol, rightCol), "\n")
}

// tabBar names the panes, the focused one in brackets.
func (m *Model) tabBar() string {
	var parts []string
	for i, p := range m.panes {
		name := strings.SplitN(p.Title(), ":", 2)[0]
		if i == m.focus {
			name = "[" + name + "]"
		} else {
			name = " " + name + " "
		}
		parts = append(parts, name)
	}
	return m.st.Title.Render(fit(" "+strings.Join(parts, "│")+"  (tab: next pane)", m.width))
}

// tasksHeight is the task list's height in the grid (0 for a run of one task): a row a task,
// at most half the top row.
func (m *Model) tasksHeight() int {
	if !m.multi() {
		return 0
	}
	_, top := m.split()
	return min(len(m.tasks)+3, top/2)
}
