package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"colt/core"
)

// appWith is the console over a fake engine, sized and fed the fixture data.
func appWith(t *testing.T, width, height int) (*Model, *fakeEngine) {
	t.Helper()
	e, f := newFakeEngine()
	m := NewModel(e, plainStyles(), DefaultKeyMap())
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	d := fixtureData(t)
	m.Update(eventMsg(core.Event{Kind: core.EventStart, Workload: "mm8", Strategy: "colt", Stats: core.Stats{BaselineS: 0.12}}))
	m.Update(eventMsg(d.event))
	return m, f
}

// screenLines renders the console and fails unless it is exactly width × height cells.
func screenLines(t *testing.T, name string, m *Model, width, height int) []string {
	t.Helper()
	lines := strings.Split(m.View(), "\n")
	if len(lines) != height {
		t.Fatalf("%s: %d lines, want %d", name, len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != width {
			t.Fatalf("%s focus %d: line %d is %d cells, want %d: %q", name, m.focus, i, w, width, l)
		}
	}
	return lines
}

// checkPanes renders the console with each pane focused and checks its size and every
// pane's border: the tab layout's one pane, or the grid's panes (the task list on top of the
// tree for a model).
func checkPanes(t *testing.T, name string, m *Model, width, height int) {
	t.Helper()
	body := height - chrome
	for focus := range m.panes {
		m.focus = focus
		lines := screenLines(t, name, m, width, height)
		if !m.grid() {
			checkRect(t, name, lines, 0, 2, width, body-1)
			continue
		}
		left, top := m.split()
		th := m.tasksHeight()
		if th > 0 {
			checkRect(t, name+" tasks", lines, 0, 1, left, th)
		}
		checkRect(t, name+" tree", lines, 0, 1+th, left, top-th)
		checkRect(t, name+" models", lines, 0, 1+top, left, body-top)
		checkRect(t, name+" program", lines, left, 1, width-left, top)
		checkRect(t, name+" plot", lines, left, 1+top, width-left, body-top)
	}
}

func TestLayoutAtManySizes(t *testing.T) {
	for _, width := range []int{40, 57, 80, 99, 119, 120, 143, 200, 240} {
		for _, height := range []int{10, 13, 24, 31, 32, 50, 61} {
			m, _ := appWith(t, width, height)
			checkPanes(t, fmt.Sprintf("%dx%d", width, height), m, width, height)
		}
	}
}

func TestTooSmallTerminalSaysSo(t *testing.T) {
	m, _ := appWith(t, 30, 6)
	view := m.View()
	lines := strings.Split(view, "\n")
	if len(lines) != 6 || ansi.StringWidth(lines[0]) != 30 || !strings.Contains(view, "at least 40×10") {
		t.Errorf("a 30×6 terminal:\n%s", view)
	}
}

func TestScreenGoldens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m, _ := appWith(t, size[0], size[1])
		golden(t, fmt.Sprintf("screen_%dx%d", size[0], size[1]), stripTrailing(m.View()))
	}
}

// sent runs a command returned by Update and returns the operator command it delivers,
// answering it as the run would.
func sent(t *testing.T, f *fakeEngine, cmd tea.Cmd) core.Command {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command returned")
	}
	go cmd()
	select {
	case c := <-f.commands:
		if c.Done != nil {
			c.Done <- nil
		}
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no operator command reached the engine")
	}
	return core.Command{}
}

func TestAppKeys(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		state   string // event state before the keys
		want    core.Command
		message string
	}{
		{"pause", []string{"p"}, "running", core.Command{Kind: core.CmdPause}, "pausing"},
		{"resume", []string{"p"}, "paused", core.Command{Kind: core.CmdResume}, "resuming"},
		{"pin from the picker", []string{"m", "down", "enter"}, "running", core.Command{Kind: core.CmdPin, Model: "sim-gpt-5-mini"}, "pinning sim-gpt-5-mini"},
		{"unpin", []string{"u"}, "pinned sim-gpt-5-mini", core.Command{Kind: core.CmdUnpin}, "unpinning"},
		{"escalate", []string{"e"}, "running", core.Command{Kind: core.CmdEscalate}, "escalation"},
		{"export", []string{"x"}, "running", core.Command{Kind: core.CmdExport}, "exporting"},
		{"stop", []string{"s"}, "running", core.Command{Kind: core.CmdStop}, "stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f := appWith(t, 80, 24)
			m.event.State = tt.state
			var cmd tea.Cmd
			for _, k := range tt.keys {
				_, cmd = m.Update(keyMsg(k))
			}
			got := sent(t, f, cmd)
			if got.Kind != tt.want.Kind || got.Model != tt.want.Model {
				t.Errorf("sent %s %q, want %s %q", got.Kind, got.Model, tt.want.Kind, tt.want.Model)
			}
			if !strings.Contains(m.message, tt.message) {
				t.Errorf("message %q, want it to say %q", m.message, tt.message)
			}
			// The run answers with a control event, which the message line shows.
			m.Update(eventMsg(core.Event{Kind: core.EventControl, Message: "done: " + string(tt.want.Kind), State: "running"}))
			if !strings.Contains(m.View(), "done: "+string(tt.want.Kind)) {
				t.Errorf("the control event's outcome is not on screen")
			}
		})
	}
}

func TestFocusPickerAndQuitKeys(t *testing.T) {
	m, f := appWith(t, 80, 24)
	for i, want := range []int{1, 2, 3, 0} {
		m.Update(keyMsg("tab"))
		if m.focus != want {
			t.Fatalf("tab %d: focus %d, want %d", i+1, m.focus, want)
		}
	}
	m.Update(keyMsg("shift+tab"))
	if m.focus != 3 {
		t.Errorf("shift+tab: focus %d, want 3", m.focus)
	}
	m.Update(keyMsg("m"))
	if !m.picking || !strings.Contains(m.View(), "Pin a model") {
		t.Fatal("m did not open the model picker")
	}
	m.Update(keyMsg("esc"))
	if m.picking {
		t.Error("esc did not close the picker")
	}
	stopped := false
	m.engine.cancel = func() { stopped = true }
	if _, cmd := m.Update(keyMsg("q")); cmd != nil || !stopped || m.State() != "quitting" {
		t.Fatalf("q mid-run: stopped %v, state %q; want the run stopped and the console waiting for it", stopped, m.State())
	}
	close(f.done)
	if _, cmd := m.Update(engineDoneMsg{}); cmd == nil {
		t.Error("the console did not quit once the run had returned")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("the console did not quit once the run had returned")
	}
}

func TestActionsAfterTheRunEndedSaySo(t *testing.T) {
	m, _ := appWith(t, 80, 24)
	m.Update(eventMsg(core.Event{Kind: core.EventDone, Report: &core.Report{StopReason: "budget", Samples: 64, Records: "/w/records.jsonl"}}))
	if _, cmd := m.Update(keyMsg("p")); cmd != nil || !strings.Contains(m.message, "the run has ended") {
		t.Errorf("pause after the end: message %q", m.message)
	}
	if m.State() != "finished" {
		t.Errorf("state %q, want finished", m.State())
	}
}

func TestPinWithoutModels(t *testing.T) {
	e, _ := newFakeEngine()
	m := NewModel(e, plainStyles(), DefaultKeyMap())
	m.Update(eventMsg(core.Event{Kind: core.EventStart, Strategy: "random", Snapshot: &core.Snapshot{}}))
	m.Update(keyMsg("m"))
	if m.picking || !strings.Contains(m.message, "calls no models") {
		t.Errorf("pin with the random search: picking %v, message %q", m.picking, m.message)
	}
}

// TestTheConsoleNeverWaitsForTheEngine: with an engine that sends nothing and reads no
// command (its command channel full), every key is handled at once and the screen renders.
func TestTheConsoleNeverWaitsForTheEngine(t *testing.T) {
	m, f := appWith(t, 80, 24)
	for len(f.commands) < cap(f.commands) {
		f.commands <- core.Command{Kind: core.CmdPause}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, k := range []string{"p", "e", "x", "u", "tab", "down", "s", "m", "enter"} {
			m.Update(keyMsg(k))
			m.View()
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the console blocked on an engine that does not read its commands")
	}
}

// modelApp is the console over a fake engine running a model of seven tasks, the first two
// started.
func modelApp(t *testing.T, width, height int) *Model {
	t.Helper()
	e, _ := newFakeEngine()
	for i, w := range []int{32, 32, 32, 32, 32, 65, 1} {
		e.Tasks = append(e.Tasks, core.TaskRef{Name: fmt.Sprintf("llama3-8b:t%d", i), Weight: w})
	}
	m := NewModel(e, plainStyles(), DefaultKeyMap())
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	d := fixtureData(t)
	for i, best := range []float64{0.010, 0.020} {
		ev := d.event
		ev.Workload, ev.BestS, ev.BaselineS = e.Tasks[i].Name, best, 0.5
		m.Update(eventMsg(core.Event{Kind: core.EventStart, Workload: ev.Workload, Stats: core.Stats{BaselineS: 0.5}}))
		m.Update(eventMsg(ev))
	}
	return m
}

func TestTaskListOfAModel(t *testing.T) {
	m := modelApp(t, 200, 50)
	if m.shown != 1 {
		t.Errorf("the panes show task %d, want the running task 1", m.shown)
	}
	view := m.View()
	// 32 × 10 ms + 32 × 20 ms over the two tasks with a latency.
	for _, want := range []string{"end-to-end ≈ 960 ms (Σ weight × best, 2 of 7 tasks)", "llama3-8b:t1 (task 2/7)", "llama3-8b:t6", "waiting"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q not on screen:\n%s", want, view)
		}
	}
	m.Update(keyMsg("["))
	if m.shown != 0 || !strings.Contains(m.View(), "llama3-8b:t0 (task 1/7)") {
		t.Errorf("[ shows task %d", m.shown)
	}
	m.Update(keyMsg("["))
	if m.shown != 0 {
		t.Errorf("[ on the first task moved to %d", m.shown)
	}
	// Once the operator picked a task, a new task starting does not take the panes away.
	m.Update(eventMsg(core.Event{Kind: core.EventStart, Workload: "llama3-8b:t2", Stats: core.Stats{BaselineS: 0.5}}))
	if m.shown != 0 {
		t.Errorf("a starting task took the panes from the operator's pick: shown %d", m.shown)
	}
	m.Update(keyMsg("]"))
	m.Update(keyMsg("]"))
	if m.shown != 2 {
		t.Errorf("]] from task 0 shows %d, want 2", m.shown)
	}
}

// TestTaskSchedulerRoundsInTheTaskList: a round of the task scheduler brings the panes to its
// task, and the task list shows every task's share of the budget.
func TestTaskSchedulerRoundsInTheTaskList(t *testing.T) {
	m := modelApp(t, 200, 50)
	alloc := &core.Allocation{Budget: 200, Round: 2, EndToEndS: 0.96, Covered: 2,
		Shares: []core.TaskShare{{Task: "llama3-8b:t0", Samples: 20}, {Task: "llama3-8b:t1", Samples: 10}}}
	m.Update(eventMsg(core.Event{Kind: core.EventRound, Workload: "llama3-8b:t0", Message: "9 more samples from the task scheduler",
		Stats: core.Stats{BaselineS: 0.5, BestS: 0.01, Samples: 20, Budget: 29}, Allocation: alloc}))
	if m.shown != 0 {
		t.Errorf("the panes show task %d after a round of task 0", m.shown)
	}
	view := m.View()
	for _, want := range []string{"SHARE", "20/29", "10%", "round 2, 30/200 samples", "task scheduler, round 3: llama3-8b:t0"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q not on screen:\n%s", want, view)
		}
	}
}

func TestLayoutWithTasksAtManySizes(t *testing.T) {
	for _, width := range []int{80, 120, 200} {
		for _, height := range []int{24, 32, 50} {
			checkPanes(t, fmt.Sprintf("model %dx%d", width, height), modelApp(t, width, height), width, height)
		}
	}
}

func TestNoColorDrawsNoEscapes(t *testing.T) {
	e, _ := newFakeEngine()
	var out strings.Builder
	m := NewModel(e, NewStyles(NewRenderer(&out, true)), DefaultKeyMap())
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(eventMsg(fixtureData(t).event))
	if view := m.View(); strings.Contains(view, "\x1b[") {
		t.Errorf("NO_COLOR: the screen has escape sequences:\n%q", view[:min(len(view), 400)])
	}
}

// TestQuitDetachesFromARemoteRun: on a console attached to colt serve, q quits at once and
// stops nothing: the search goes on in the server.
func TestQuitDetachesFromARemoteRun(t *testing.T) {
	e, f := newFakeEngine()
	e.Remote = "run 3 of colt serve"
	m := NewModel(e, plainStyles(), DefaultKeyMap())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(m.message, "q detaches") {
		t.Errorf("attached console's first message %q does not say q detaches", m.message)
	}
	if !strings.Contains(m.View(), "q detach") {
		t.Error("the attached console's help line does not say q detaches")
	}
	// Attached mid-run: the first event is a sample, never the task's start.
	m.Update(eventMsg(core.Event{Kind: core.EventSample, Workload: "mm8", Stats: core.Stats{BaselineS: 0.1, Samples: 5, Budget: 9}}))
	if m.State() != "running" {
		t.Errorf("attached mid-run, the console says %q, want running", m.State())
	}
	stopped := false
	m.engine.cancel = func() { stopped = true }
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q on an attached console did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok || stopped {
		t.Fatalf("q on an attached console: quit %v, run stopped %v; want quit at once and nothing stopped", ok, stopped)
	}
	select {
	case c := <-f.commands:
		t.Fatalf("q sent %s to the run", c.Kind)
	default:
	}
}

// TestWorkersOnTheStatusLine: a run of colt serve shows its workers on the status line.
func TestWorkersOnTheStatusLine(t *testing.T) {
	cases := []struct {
		name    string
		workers []core.WorkerStatus
		want    string
	}{
		{"a run of this process", nil, ""},
		{"one busy, one idle, one gone", []core.WorkerStatus{
			{ID: "local", Connected: true, Busy: true, Jobs: 30, Failures: 2},
			{ID: "b", Connected: true, Jobs: 11},
			{ID: "c", Busy: true, Jobs: 4, Failures: 1},
		}, "workers 1/2 busy, 45 jobs (3 failed)"},
	}
	for _, tc := range cases {
		if got := workersText(tc.workers); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	m, _ := appWith(t, 160, 24)
	e := m.tasks[m.shown].event
	e.Workers = cases[1].workers
	m.Update(eventMsg(e))
	if !strings.Contains(m.statusLine(), cases[1].want) {
		t.Errorf("status line %q does not show the workers", m.statusLine())
	}
}
