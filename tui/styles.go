package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are the console's looks. Every meaning they carry is also in the text (a marker, a
// word), so a terminal without colour (NO_COLOR, or a golden test) loses nothing.
type Styles struct {
	Border, Focused lipgloss.Style // pane borders
	Title           lipgloss.Style
	Dim             lipgloss.Style // secondary text: pruned nodes, hints
	Best            lipgloss.Style // the best path, the best latency
	Selected        lipgloss.Style // the cursor row
	Status          lipgloss.Style // the status line
	Warn, Error     lipgloss.Style
	Help            lipgloss.Style
	Sample, Line    lipgloss.Style // plot: sample dots, best-so-far line
	Baseline        lipgloss.Style // plot: the unscheduled program's latency
}

// NewRenderer returns a renderer for out; noColor (the user's NO_COLOR) turns colour and
// attributes off, as does a terminal without colour.
func NewRenderer(out io.Writer, noColor bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(out)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// PlainRenderer draws no colour or attribute at all: for tests and non-terminals.
func PlainRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// NewStyles makes the styles with a renderer.
func NewStyles(r *lipgloss.Renderer) Styles {
	s := r.NewStyle
	return Styles{
		Border:   s().Foreground(lipgloss.Color("240")),
		Focused:  s().Foreground(lipgloss.Color("39")),
		Title:    s().Bold(true),
		Dim:      s().Foreground(lipgloss.Color("244")),
		Best:     s().Foreground(lipgloss.Color("42")).Bold(true),
		Selected: s().Reverse(true),
		Status:   s().Bold(true),
		Warn:     s().Foreground(lipgloss.Color("214")),
		Error:    s().Foreground(lipgloss.Color("196")).Bold(true),
		Help:     s().Foreground(lipgloss.Color("244")),
		Sample:   s().Foreground(lipgloss.Color("245")),
		Line:     s().Foreground(lipgloss.Color("42")),
		Baseline: s().Foreground(lipgloss.Color("203")),
	}
}
