package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"colt/core"
)

// The programs the program pane can show.
const (
	showSelected = iota // the tree node under the cursor
	showCurrent         // the latest measured candidate
	showBest            // the fastest program known
)

var showNames = [...]string{"selected node", "current", "best"}

// ProgramPane shows a program as TIR (the text the LLMs read and export writes) or as the C
// the backend compiles: the selected tree node's, the latest candidate's or the best; it
// scrolls. The engine renders the programs; the pane only splits and shows their text.
type ProgramPane struct {
	st            Styles
	keys          KeyMap
	width, height int

	which    int
	format   string         // "tir" or "c"
	node     *core.TreeNode // the node under the tree's cursor
	selected *core.Program  // its program, once the engine has rendered it
	current  *core.Program
	best     *core.Program
	ended    bool // the run has ended: no more programs are rendered
	offset   int
	// texts keeps the split text of programs by hash and format, also those of nodes selected
	// earlier, so going back to a node shows it at once.
	texts map[string][]string
}

// NewProgramPane returns a program pane showing the best program as TIR.
func NewProgramPane(st Styles, keys KeyMap) *ProgramPane {
	return &ProgramPane{st: st, keys: keys, which: showBest, format: "tir", texts: map[string][]string{}}
}

// Title implements Pane.
func (p *ProgramPane) Title() string {
	t := "Program: " + showNames[p.which] + " · " + strings.ToUpper(p.format)
	if prog := p.program(); prog != nil && prog.Hash != "" {
		t += " · " + shortHash(prog.Hash)
	}
	return t
}

func shortHash(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}

// SetSize implements Pane.
func (p *ProgramPane) SetSize(width, height int) { p.width, p.height = width, height }

// KeyHelp implements Pane.
func (p *ProgramPane) KeyHelp() []key.Binding {
	return []key.Binding{p.keys.Which, p.keys.Source, p.keys.Move}
}

func (p *ProgramPane) program() *core.Program {
	switch p.which {
	case showSelected:
		return p.selected
	case showCurrent:
		return p.current
	}
	return p.best
}

// keep remembers a program's lines in both formats, within a bound on memory.
func (p *ProgramPane) keep(prog *core.Program) {
	for _, format := range []string{"tir", "c"} {
		k := prog.Hash + "/" + format
		if _, ok := p.texts[k]; ok {
			continue
		}
		if len(p.texts) >= 512 {
			clear(p.texts)
		}
		p.texts[k] = programLines(prog, format)
	}
}

// programLines splits a program's text in a format into lines.
func programLines(prog *core.Program, format string) []string {
	if prog.Err != "" {
		return []string{"cannot render this program: " + prog.Err}
	}
	return strings.Split(strings.TrimRight(prog.Text(format), "\n"), "\n")
}

// Update implements Pane.
func (p *ProgramPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case dataMsg:
		if s := msg.snapshot; s != nil {
			p.current, p.best = s.Current, s.Best
			if s.Selected != nil && p.node != nil && s.SelectedNode == p.node.ID {
				p.selected = s.Selected
				p.keep(s.Selected)
			}
		}
		p.ended = p.ended || msg.event.Kind == core.EventDone
	case selectMsg:
		if msg.node != nil && (p.node == nil || msg.node.ID != p.node.ID) {
			p.node, p.selected = msg.node, nil
			if p.which == showSelected {
				p.offset = 0
			}
		}
	case tea.KeyMsg:
		rows := max(p.height-2, 1)
		switch {
		case key.Matches(msg, p.keys.Which):
			p.which = (p.which + 1) % len(showNames)
			p.offset = 0
		case key.Matches(msg, p.keys.Source):
			p.format = map[string]string{"tir": "c", "c": "tir"}[p.format]
			p.offset = 0
		case key.Matches(msg, p.keys.Up):
			p.offset--
		case key.Matches(msg, p.keys.Down):
			p.offset++
		case key.Matches(msg, p.keys.PageUp):
			p.offset -= rows - 1
		case key.Matches(msg, p.keys.PageDown):
			p.offset += rows - 1
		case key.Matches(msg, p.keys.Top):
			p.offset = 0
		case key.Matches(msg, p.keys.Bottom):
			p.offset = len(p.lines())
		}
	}
	return nil
}

// lines is the text of the program shown.
func (p *ProgramPane) lines() []string {
	if p.which == showSelected && p.node != nil {
		if lines, ok := p.texts[p.node.Hash+"/"+p.format]; ok {
			return lines
		}
		if p.ended {
			return []string{fmt.Sprintf("node %d was not rendered before the run ended; v shows the best and the current program", p.node.ID)}
		}
		return []string{fmt.Sprintf("rendering the program of node %d…", p.node.ID)}
	}
	prog := p.program()
	if prog == nil {
		switch p.which {
		case showSelected:
			return []string{"no node selected: move the cursor in the search tree (tab to focus it)"}
		default:
			return []string{"no " + showNames[p.which] + " program yet: nothing measured so far"}
		}
	}
	k := prog.Hash + "/" + p.format
	if text, ok := p.texts[k]; ok {
		return text
	}
	p.keep(prog)
	return p.texts[k]
}

// View implements Pane.
func (p *ProgramPane) View(focused bool) string {
	inner, rows := max(p.width-2, 0), max(p.height-2, 0)
	lines := p.lines()
	view := rows
	if len(lines) > rows {
		view = max(rows-1, 0) // the last row says where the view is
	}
	p.offset = max(0, min(p.offset, len(lines)-view))
	shown := lines[p.offset:min(p.offset+view, len(lines))]
	content := block(shown, inner, rows, nil)
	if view < rows && rows > 0 {
		pos := fmt.Sprintf("lines %d–%d of %d", p.offset+1, p.offset+len(shown), len(lines))
		content[rows-1] = p.st.Dim.Render(fit(pos, inner))
	}
	return frame(p.st, p.Title(), focused, content, p.width, p.height)
}
