package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"colt/core"
)

// The panes, in focus order; a run of several tasks adds the task list last.
const (
	paneTree = iota
	paneModels
	paneProgram
	panePlot
	paneTasks
)

// Model is the console: the status line, four panes, a message line and the help line, over
// an Engine. It never waits on the engine: events arrive as messages from a command that reads
// the engine's channel, and operator commands are sent from commands of their own.
type Model struct {
	st     Styles
	keys   KeyMap
	engine *Engine

	width, height int
	panes         []Pane
	focus         int

	event    core.Event // the latest event of the run (any task)
	snapshot *core.Snapshot
	started  bool

	// tasks are the run's tasks; the panes show tasks[shown], which follows the task being
	// tuned until the operator picks one.
	tasks         []taskState
	shown         int
	followRunning bool
	alloc         *core.Allocation // the task scheduler's latest (nil: none)

	message  string // the latest note or action result
	isError  bool
	picking  bool // the model picker is open
	pick     int
	done     bool
	quitting bool
	runErr   error
}

// eventMsg is an event from the engine; engineDoneMsg says its channel is drained and the run
// has returned; actionMsg is the outcome of an operator command that never reached the run.
type (
	eventMsg      core.Event
	engineDoneMsg struct{}
	actionMsg     struct{ err error }
)

// NewModel returns the console over an engine.
func NewModel(e *Engine, st Styles, keys KeyMap) *Model {
	m := &Model{st: st, keys: keys, engine: e, width: 80, height: 24, followRunning: true}
	for _, t := range e.Tasks {
		m.tasks = append(m.tasks, taskState{TaskRef: t})
	}
	if len(m.tasks) == 0 {
		m.tasks = []taskState{{TaskRef: core.TaskRef{Name: "?", Weight: 1}}}
	}
	m.newPanes()
	m.message = "starting: computing the reference and the baseline…"
	if e.Remote != "" {
		m.message = "attached to " + e.Remote + ": q detaches (the search goes on), s stops it"
		m.keys.Quit.SetHelp("q", "detach")
	}
	m.layout()
	return m
}

// newPanes makes fresh panes (for a new task: its tree and programs are its own).
func (m *Model) newPanes() {
	st, keys := m.st, m.keys
	m.panes = []Pane{NewTreePane(st, keys), NewModelsPane(st, keys), NewProgramPane(st, keys), NewPlotPane(st, keys)}
	if m.multi() {
		m.panes = append(m.panes, NewTasksPane(st, keys))
	}
}

// allFinished reports that every task of the run has finished.
func (m *Model) allFinished() bool {
	for _, t := range m.tasks {
		if !t.finished {
			return false
		}
	}
	return true
}

// multi reports a run of several tasks.
func (m *Model) multi() bool { return len(m.tasks) > 1 }

// taskIndex finds a task by the workload name of its events (0 when unknown).
func (m *Model) taskIndex(name string) int {
	for i, t := range m.tasks {
		if t.Name == name {
			return i
		}
	}
	return 0
}

// showTask makes the panes follow task i.
func (m *Model) showTask(i int) tea.Cmd {
	if i < 0 || i >= len(m.tasks) || i == m.shown {
		return nil
	}
	focus := m.focus
	m.shown = i
	m.newPanes()
	m.focus = focus
	m.layout()
	t := m.tasks[i]
	return m.broadcast(dataMsg{event: t.event, snapshot: t.snapshot}, tasksMsg{tasks: m.tasks, shown: m.shown, alloc: m.alloc})
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return m.next() }

// next reads the engine's next event.
func (m *Model) next() tea.Cmd {
	events, done := m.engine.Events, m.engine.Done
	return func() tea.Msg {
		select {
		case e := <-events:
			return eventMsg(e)
		case <-done:
			select {
			case e := <-events:
				return eventMsg(e)
			default:
				return engineDoneMsg{}
			}
		}
	}
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case eventMsg:
		return m, tea.Batch(m.onEvent(core.Event(msg)), m.next())
	case engineDoneMsg:
		m.done = true
		if _, err := m.engine.Result(); err != nil && !errors.Is(err, core.ErrInterrupted) {
			m.runErr = err
			m.setMessage("error: "+err.Error(), true)
		}
		if m.quitting {
			return m, tea.Quit
		}
		return m, nil
	case actionMsg:
		if msg.err != nil {
			m.setMessage("error: "+msg.err.Error(), true)
		}
		return m, nil
	case selectMsg:
		return m, tea.Batch(m.broadcast(msg), m.requestProgram(msg.node))
	case showTaskMsg:
		m.followRunning = false
		return m, m.showTask(msg.index)
	case tea.KeyMsg:
		return m, m.onKey(msg)
	}
	return m, nil
}

func (m *Model) setMessage(s string, isError bool) { m.message, m.isError = s, isError }

// broadcast sends messages to every pane.
func (m *Model) broadcast(msgs ...tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, msg := range msgs {
		for _, p := range m.panes {
			cmds = append(cmds, p.Update(msg))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) onEvent(e core.Event) tea.Cmd {
	i := m.taskIndex(e.Workload)
	t := &m.tasks[i]
	t.event = e
	if e.Snapshot != nil {
		t.snapshot = e.Snapshot
	}
	m.event, m.snapshot = e, t.snapshot
	if e.Allocation != nil {
		m.alloc = e.Allocation
	}
	var switchTo tea.Cmd
	switch e.Kind {
	case core.EventStart, core.EventRound:
		t.started = true
		if m.followRunning && i != m.shown {
			switchTo = m.showTask(i)
		}
	case core.EventDone:
		t.started, t.finished = true, true
	}
	if e.BaselineS > 0 && !t.started {
		// A console that attached mid-run never saw the task's start.
		t.started, m.started = true, true
		if m.followRunning && i != m.shown {
			switchTo = m.showTask(i)
		}
	}
	switch e.Kind {
	case core.EventStart:
		m.started = true
		m.setMessage(fmt.Sprintf("tuning with the %s search; baseline %s", e.Strategy, core.FormatSeconds(e.BaselineS)), false)
	case core.EventNote:
		m.setMessage(e.Message, strings.Contains(e.Message, "failed"))
	case core.EventControl:
		m.setMessage(e.Message, strings.HasPrefix(e.Message, "error"))
	case core.EventWaiting:
		m.setMessage(fmt.Sprintf("waiting %s: %s", e.Waiting.Since.Round(time.Second), e.Waiting.Describe()), false)
	case core.EventRound:
		if a := e.Allocation; a != nil {
			m.setMessage(fmt.Sprintf("task scheduler, round %d: %s (%s); end-to-end ≈ %s", a.Round+1, e.Workload, e.Message, core.FormatSeconds(a.EndToEndS)), false)
		}
	case core.EventDone:
		if m.allFinished() || (e.Report != nil && e.Report.StopReason == core.StopStopped) {
			m.done = true
		}
		if r := e.Report; r != nil {
			m.setMessage(fmt.Sprintf("%s finished (%s): %d samples; records in %s; x exports the best, q quits", e.Workload, r.StopReason, r.Samples, r.Records), false)
		}
	case core.EventSample:
		if e.Sample.Status != core.StatusOK && e.Sample.Message != "" {
			m.setMessage(fmt.Sprintf("sample %d: %s: %s", e.Sample.Sample, e.Sample.Status, e.Sample.Message), true)
		}
	}
	if switchTo != nil {
		return switchTo
	}
	tasks := tasksMsg{tasks: m.tasks, shown: m.shown, alloc: m.alloc}
	if i != m.shown {
		return m.broadcast(tasks)
	}
	return m.broadcast(dataMsg{event: e, snapshot: t.snapshot}, tasks)
}

func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.picking {
		return m.onPickerKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		if m.done || m.quitting || m.engine.Remote != "" {
			return tea.Quit // attached: quitting detaches, the search goes on
		}
		m.quitting = true
		m.setMessage("quitting: the candidate in flight is dropped, every measured one is recorded (q again: quit now)", false)
		m.engine.Stop()
		return nil
	case m.multi() && key.Matches(msg, k.NextTask):
		m.followRunning = false
		return m.showTask(m.shown + 1)
	case m.multi() && key.Matches(msg, k.PrevTask):
		m.followRunning = false
		return m.showTask(m.shown - 1)
	case key.Matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % len(m.panes)
		return nil
	case key.Matches(msg, k.PrevPane):
		m.focus = (m.focus + len(m.panes) - 1) % len(m.panes)
		return nil
	case key.Matches(msg, k.Pause):
		if m.event.State == "paused" {
			return m.send(core.Command{Kind: core.CmdResume}, "resuming…")
		}
		return m.send(core.Command{Kind: core.CmdPause}, "pausing after the step in progress…")
	case key.Matches(msg, k.Pin):
		if m.snapshot == nil || len(m.snapshot.Models) == 0 {
			m.setMessage("pin: this search calls no models (use --strategy colt or mcts)", true)
			return nil
		}
		m.picking, m.pick = true, 0
		return nil
	case key.Matches(msg, k.Unpin):
		return m.send(core.Command{Kind: core.CmdUnpin}, "unpinning…")
	case key.Matches(msg, k.Escalate):
		return m.send(core.Command{Kind: core.CmdEscalate}, "asking for an escalation…")
	case key.Matches(msg, k.Export):
		return m.send(core.Command{Kind: core.CmdExport}, "exporting the best schedule…")
	case key.Matches(msg, k.Stop):
		return m.send(core.Command{Kind: core.CmdStop}, "stopping after the step in progress…")
	}
	return m.panes[m.focus].Update(msg)
}

func (m *Model) onPickerKey(msg tea.KeyMsg) tea.Cmd {
	k, models := m.keys, m.snapshot.Models
	switch {
	case key.Matches(msg, k.Cancel), key.Matches(msg, k.Pin):
		m.picking = false
	case key.Matches(msg, k.Up):
		m.pick = max(m.pick-1, 0)
	case key.Matches(msg, k.Down):
		m.pick = min(m.pick+1, len(models)-1)
	case key.Matches(msg, k.Choose):
		m.picking = false
		name := models[m.pick].Name
		return m.send(core.Command{Kind: core.CmdPin, Model: name}, "pinning "+name+"…")
	case key.Matches(msg, k.Quit):
		m.picking = false
		return m.onKey(msg)
	}
	return nil
}

// send hands a command to the run from a command of its own, so the console never waits for
// the engine; the outcome comes back as the run's control event.
func (m *Model) send(c core.Command, progress string) tea.Cmd {
	if m.done {
		m.setMessage(fmt.Sprintf("%s: the run has ended; q quits (rerun the same command to continue the search)", c.Kind), true)
		return nil
	}
	m.setMessage(progress, false)
	reply := make(chan error, 1)
	c.Done = reply
	commands, finished := m.engine.Commands, m.engine.Done
	return func() tea.Msg {
		select {
		case commands <- c:
		case <-finished:
			return actionMsg{err: fmt.Errorf("%s: the run ended before the command was applied", c.Kind)}
		}
		select {
		case <-reply: // the control event carries the outcome
			return nil
		case <-finished:
			return nil
		}
	}
}

// requestProgram asks the engine to render a node's program (it arrives in a later
// snapshot), from a command of its own so the console never waits.
func (m *Model) requestProgram(n *core.TreeNode) tea.Cmd {
	if n == nil || m.done {
		return nil
	}
	c := core.Command{Kind: core.CmdSelect, Node: n.ID}
	commands, finished := m.engine.Commands, m.engine.Done
	return func() tea.Msg {
		select {
		case commands <- c:
		case <-finished:
		}
		return nil
	}
}

// State is the run's state as the status line says it.
func (m *Model) State() string {
	switch {
	case m.runErr != nil:
		return "error"
	case m.quitting && !m.done:
		return "quitting"
	case m.done:
		return "finished"
	case !m.started:
		return "starting"
	case m.event.State != "":
		return m.event.State
	}
	return "running"
}

// View implements tea.Model: exactly height lines of exactly width cells.
func (m *Model) View() string {
	if m.width < minWidth || m.height < minHeight {
		msg := fmt.Sprintf("colt needs at least %d×%d (this is %d×%d); the search goes on. q quits", minWidth, minHeight, m.width, m.height)
		return strings.Join(block(wrap(msg, m.width), m.width, m.height, nil), "\n")
	}
	var rows []string
	rows = append(rows, m.st.Status.Render(fit(m.statusLine(), m.width)))
	rows = append(rows, m.body()...)
	msgStyle := m.st.Dim
	if m.isError {
		msgStyle = m.st.Error
	}
	rows = append(rows, msgStyle.Render(fit(m.message, m.width)))
	rows = append(rows, m.st.Help.Render(fit(m.helpText(), m.width)))
	return strings.Join(rows, "\n")
}

// helpText lists the global keys, then the focused pane's.
func (m *Model) helpText() string {
	if m.picking {
		return helpLine(m.keys.Move, m.keys.Choose, m.keys.Cancel)
	}
	// The actions first: they must fit in 80 columns; the pane's keys follow.
	help := helpLine(m.keys.Global()...)
	if own := helpLine(m.panes[m.focus].KeyHelp()...); own != "" {
		help += "  │ " + own
	}
	return help
}

// statusLine: state first (it matters most and is never cut), then the run's counters.
func (m *Model) statusLine() string {
	e := m.tasks[m.shown].event
	parts := []string{"[" + m.State() + "]", e.Workload, e.Strategy}
	if m.multi() {
		parts[1] = fmt.Sprintf("%s (task %d/%d)", m.tasks[m.shown].Name, m.shown+1, len(m.tasks))
	}
	if e.Budget > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d", e.Samples, e.Budget))
	}
	if e.BestS > 0 {
		parts = append(parts, fmt.Sprintf("best %s %s GFLOP/s %.1f×", shortSeconds(e.BestS), shortGFLOPS(e.BestGFLOPS()), e.Speedup()))
	} else {
		parts = append(parts, "best -")
	}
	parts = append(parts, workersText(e.Workers))
	if e.Elapsed > 0 {
		t := e.Elapsed.Round(1e9).String()
		if e.ETA > 0 && !m.done {
			t += " eta " + e.ETA.Round(1e9).String()
		}
		parts = append(parts, t)
	}
	if e.Target != "" {
		parts = append(parts, strings.SplitN(e.Target, ",", 2)[0])
	}
	return " " + strings.Join(nonEmpty(parts), " · ")
}

// workersText sums up colt serve's measurement workers: how many are connected and busy, the
// jobs they measured and how many failed ("" for a run of this process).
func workersText(ws []core.WorkerStatus) string {
	if len(ws) == 0 {
		return ""
	}
	connected, busy, jobs, failed := 0, 0, 0, 0
	for _, w := range ws {
		if w.Connected {
			connected++
		}
		if w.Busy && w.Connected {
			busy++
		}
		jobs += w.Jobs
		failed += w.Failures
	}
	return fmt.Sprintf("workers %d/%d busy, %d jobs (%d failed)", busy, connected, jobs, failed)
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// wrap breaks text into lines of at most width cells.
func wrap(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

// picker renders the model picker in a box of the given size.
func (m *Model) picker(width, height int) string {
	inner := max(width-2, 0)
	lines := []string{"Pin a model: every expansion uses it until unpinned (u).", ""}
	var styles []*lipgloss.Style
	styles = append(styles, nil, nil)
	for i, s := range m.snapshot.Models {
		cursor := "  "
		if i == m.pick {
			cursor = "› "
		}
		kind := "real"
		if s.Simulated {
			kind = "sim (simulated)"
		}
		lines = append(lines, fmt.Sprintf("%s%-28s %7gB  %s", cursor, s.Name, s.ParamsB, kind))
		var st *lipgloss.Style
		if i == m.pick {
			st = &m.st.Selected
		}
		styles = append(styles, st)
	}
	content := block(lines, inner, max(height-2, 0), func(i int) *lipgloss.Style {
		if i < len(styles) {
			return styles[i]
		}
		return nil
	})
	return frame(m.st, "Pin a model", true, content, width, height)
}
