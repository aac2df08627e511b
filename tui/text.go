package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// fit pads or cuts plain text to exactly width cells (a cut ends in "…").
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = strings.ReplaceAll(s, "\t", "    ")
	w := ansi.StringWidth(s)
	switch {
	case w == width:
		return s
	case w < width:
		return s + strings.Repeat(" ", width-w)
	}
	cut := ansi.Truncate(s, width, "…")
	if pad := width - ansi.StringWidth(cut); pad > 0 {
		cut += strings.Repeat(" ", pad)
	}
	return cut
}

// block makes exactly height lines of exactly width cells from lines of plain text, styling
// each with style(i) (nil: no style).
func block(lines []string, width, height int, style func(i int) *lipgloss.Style) []string {
	out := make([]string, height)
	for i := range out {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		line = fit(line, width)
		if style != nil {
			if st := style(i); st != nil {
				line = st.Render(line)
			}
		}
		out[i] = line
	}
	return out
}

// frame draws a titled border around content lines that are already width-2 cells wide, for
// a box of exactly width × height cells.
func frame(st Styles, title string, focused bool, content []string, width, height int) string {
	if width < 2 || height < 2 {
		return strings.Join(block(nil, max(width, 0), max(height, 0), nil), "\n")
	}
	border := st.Border
	if focused {
		border = st.Focused
	}
	inner := width - 2
	label := ""
	if title != "" {
		mark := " "
		if focused {
			mark = "▸"
		}
		label = fit(mark+title+" ", min(ansi.StringWidth(mark+title+" "), max(inner-1, 0)))
	}
	top := "┌" + label + strings.Repeat("─", max(inner-ansi.StringWidth(label), 0)) + "┐"
	lines := make([]string, 0, height)
	lines = append(lines, border.Render(top))
	side := border.Render("│")
	for i := 0; i < height-2; i++ {
		row := strings.Repeat(" ", inner)
		if i < len(content) {
			row = content[i]
		}
		lines = append(lines, side+row+side)
	}
	lines = append(lines, border.Render("└"+strings.Repeat("─", inner)+"┘"))
	return strings.Join(lines, "\n")
}
