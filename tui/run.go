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
	// Tune is the run to drive (its OnEvent, Commands and SnapshotEvery are the console's).
	Tune core.TuneOptions
	// In and Out are the terminal.
	In  io.Reader
	Out io.Writer
	// NoColor turns colour off (the user's NO_COLOR).
	NoColor bool
}

// Run opens the console on a tuning run and returns the run's report and error when the
// operator quits. Quitting mid-run stops the run; every measured candidate stays recorded.
func Run(ctx context.Context, opt RunOptions) (*core.Report, error) {
	eng, err := Start(ctx, opt.Tune)
	if err != nil {
		return nil, err
	}
	st := NewStyles(NewRenderer(opt.Out, opt.NoColor))
	prog := tea.NewProgram(NewModel(eng, st, DefaultKeyMap()), tea.WithAltScreen(), tea.WithContext(ctx),
		tea.WithInput(opt.In), tea.WithOutput(opt.Out))
	_, uiErr := prog.Run()
	eng.Stop()
	rep, runErr := eng.Result()
	if uiErr != nil && runErr == nil && ctx.Err() == nil {
		return rep, fmt.Errorf("console: %w", uiErr)
	}
	return rep, runErr
}
