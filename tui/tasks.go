package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"colt/core"
)

// taskState is what the console knows of one task of a run.
type taskState struct {
	core.TaskRef
	event    core.Event
	snapshot *core.Snapshot
	started  bool
	finished bool
}

// tasksMsg gives the task pane the run's tasks and which one the panes show.
type tasksMsg struct {
	tasks []taskState
	shown int
	alloc *core.Allocation
}

// showTaskMsg asks the app to make the other panes follow a task.
type showTaskMsg struct{ index int }

// TasksPane lists a model's tasks with their progress and best latency, and the estimated
// end-to-end latency of the model: Σ weight × best latency.
type TasksPane struct {
	st            Styles
	keys          KeyMap
	width, height int

	tasks []taskState
	shown int
	alloc *core.Allocation // the task scheduler's (nil: the tasks run in order)
}

// NewTasksPane returns an empty task list.
func NewTasksPane(st Styles, keys KeyMap) *TasksPane { return &TasksPane{st: st, keys: keys} }

// Title implements Pane.
func (p *TasksPane) Title() string {
	est, n := endToEnd(p.tasks)
	if n == 0 {
		return "Tasks"
	}
	title := fmt.Sprintf("Tasks: end-to-end ≈ %s (Σ weight × best, %d of %d tasks)", shortSeconds(est), n, len(p.tasks))
	if p.alloc != nil {
		spent := 0
		for _, s := range p.alloc.Shares {
			spent += s.Samples
		}
		title += fmt.Sprintf(", round %d, %d/%d samples", p.alloc.Round, spent, p.alloc.Budget)
	}
	return title
}

// endToEnd is Σ weight × best latency over the tasks with a latency (the unscheduled one
// until a candidate succeeds), and how many tasks it covers.
func endToEnd(tasks []taskState) (float64, int) {
	sum, n := 0.0, 0
	for _, t := range tasks {
		lat := t.event.BestS
		if lat <= 0 {
			lat = t.event.BaselineS
		}
		if lat > 0 {
			sum += float64(t.Weight) * lat
			n++
		}
	}
	return sum, n
}

// SetSize implements Pane.
func (p *TasksPane) SetSize(width, height int) { p.width, p.height = width, height }

// KeyHelp implements Pane.
func (p *TasksPane) KeyHelp() []key.Binding {
	return []key.Binding{p.keys.Move, p.keys.PrevTask, p.keys.NextTask}
}

// Update implements Pane.
func (p *TasksPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tasksMsg:
		p.tasks, p.shown, p.alloc = msg.tasks, msg.shown, msg.alloc
	case tea.KeyMsg:
		next := p.shown
		switch {
		case key.Matches(msg, p.keys.Up):
			next--
		case key.Matches(msg, p.keys.Down):
			next++
		default:
			return nil
		}
		if next >= 0 && next < len(p.tasks) && next != p.shown {
			return func() tea.Msg { return showTaskMsg{index: next} }
		}
	}
	return nil
}

// View implements Pane.
func (p *TasksPane) View(focused bool) string {
	inner, rows := max(p.width-2, 0), max(p.height-2, 0)
	lines := []string{fmt.Sprintf("  %-28s %6s %9s %6s %10s %10s %8s", "TASK", "WEIGHT", "SAMPLES", "SHARE", "BEST", "UNSCHED.", "SPEEDUP")}
	styles := []*lipgloss.Style{&p.st.Title}
	for i, t := range p.tasks {
		mark := "  "
		switch {
		case i == p.shown:
			mark = "› "
		case t.finished:
			mark = "✓ "
		case t.started:
			mark = "▶ "
		}
		samples, share, best, base, speedup := "waiting", "-", "-", "-", "-"
		if t.started {
			samples = fmt.Sprintf("%d/%d", t.event.Samples, t.event.Budget)
		}
		if p.alloc != nil {
			share = fmt.Sprintf("%.0f%%", 100*p.alloc.Share(t.Name))
		}
		if t.event.BestS > 0 {
			best, speedup = shortSeconds(t.event.BestS), fmt.Sprintf("%.1f×", t.event.Speedup())
		}
		if t.event.BaselineS > 0 {
			base = shortSeconds(t.event.BaselineS)
		}
		lines = append(lines, fmt.Sprintf("%s%-28s %6s %9s %6s %10s %10s %8s", mark, t.Name, fmt.Sprintf("×%d", t.Weight), samples, share, best, base, speedup))
		var st *lipgloss.Style
		if i == p.shown {
			st = &p.st.Selected
		}
		styles = append(styles, st)
	}
	content := block(lines, inner, rows, func(i int) *lipgloss.Style {
		if i < len(styles) {
			return styles[i]
		}
		return nil
	})
	return frame(p.st, p.Title(), focused, content, p.width, p.height)
}
