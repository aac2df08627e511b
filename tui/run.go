package tui

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"

	"colt/core"
)

// RunOptions configure a console session.
type RunOptions struct {
	// Tasks are what the run tunes, in order: one task, or a model's tasks.
	Tasks []Task
	// Options builds a task's run when its turn comes (its OnEvent, Commands and
	// SnapshotEvery are the console's).
	Options func(name string) (core.TuneOptions, error)
	// In and Out are the terminal.
	In  io.Reader
	Out io.Writer
	// NoColor turns colour off (the user's NO_COLOR).
	NoColor bool
}

// Run opens the console on a tuning run and returns every task's report and the run's error
// when the operator quits. Quitting mid-run stops the run; every measured candidate stays
// recorded.
func Run(ctx context.Context, opt RunOptions) ([]*core.Report, error) {
	eng, err := StartTasks(ctx, opt.Tasks, opt.Options)
	if err != nil {
		return nil, err
	}
	st := NewStyles(NewRenderer(opt.Out, opt.NoColor))
	prog := tea.NewProgram(NewModel(eng, st, DefaultKeyMap()), tea.WithAltScreen(), tea.WithContext(ctx),
		tea.WithInput(opt.In), tea.WithOutput(opt.Out))
	_, uiErr := prog.Run()
	eng.Stop()
	reps, runErr := eng.Reports()
	if uiErr != nil && runErr == nil && ctx.Err() == nil {
		return reps, fmt.Errorf("console: %w", uiErr)
	}
	return reps, runErr
}
