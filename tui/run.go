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
	// Session is what the console runs and steers.
	Session Source
	// In and Out are the terminal.
	In  io.Reader
	Out io.Writer
	// NoColor turns colour off (the user's NO_COLOR).
	NoColor bool
}

// Run opens the console on a tuning session and returns the session's report and error when
// the operator quits. Quitting mid-run stops a run of this process (every measured candidate
// stays recorded); on a Remote source it only detaches, and Run returns nil, nil.
func Run(ctx context.Context, opt RunOptions) (*core.SessionReport, error) {
	eng := Start(ctx, opt.Session)
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
