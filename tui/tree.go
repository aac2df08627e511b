package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"colt/core"
)

// maxIndent caps the indentation of deep nodes (in levels), so a deep tree stays readable.
const maxIndent = 12

// TreePane draws the shared search tree: one row per visible node, the best path marked, with
// folding, follow-best and scrolling. Only the rows on screen are rendered, so it stays fast
// with tens of thousands of nodes.
type TreePane struct {
	st            Styles
	keys          KeyMap
	width, height int

	strategy  string
	nodes     []core.TreeNode
	children  [][]int
	collapsed map[int]bool
	visible   []int // node IDs in display order
	selected  int   // node ID under the cursor (-1: none)
	offset    int   // first visible row on screen
	follow    bool  // keep the cursor on the best program
	measured  int
}

// NewTreePane returns an empty tree pane that follows the best program.
func NewTreePane(st Styles, keys KeyMap) *TreePane {
	return &TreePane{st: st, keys: keys, collapsed: map[int]bool{}, selected: -1, follow: true}
}

// Title implements Pane.
func (p *TreePane) Title() string {
	if len(p.nodes) == 0 {
		return "Search tree"
	}
	return fmt.Sprintf("Search tree: %d nodes, %d measured", len(p.nodes), p.measured)
}

// SetSize implements Pane.
func (p *TreePane) SetSize(width, height int) { p.width, p.height = width, height }

// KeyHelp implements Pane.
func (p *TreePane) KeyHelp() []key.Binding {
	k := p.keys
	return []key.Binding{k.Move, k.Fold, k.FollowBest}
}

func (p *TreePane) rows() int { return max(p.height-2, 0) }

// Update implements Pane.
func (p *TreePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case dataMsg:
		p.strategy = msg.event.Strategy
		if msg.snapshot != nil && msg.snapshot.Tree != nil {
			before := p.selected
			p.setNodes(msg.snapshot.Tree)
			if p.selected != before {
				return p.selection()
			}
		}
	case tea.KeyMsg:
		return p.key(msg)
	}
	return nil
}

// setNodes takes a new tree.
func (p *TreePane) setNodes(nodes []core.TreeNode) {
	p.nodes = nodes
	p.children = make([][]int, len(nodes))
	p.measured = 0
	for _, n := range nodes {
		if n.Parent >= 0 && n.Parent < len(nodes) {
			p.children[n.Parent] = append(p.children[n.Parent], n.ID)
		}
		if n.Measured {
			p.measured++
		}
	}
	if p.follow {
		if best := p.bestNode(); best >= 0 {
			p.reveal(best)
			p.selected = best
		}
	}
	if p.selected < 0 || p.selected >= len(nodes) {
		p.selected = 0
	}
	p.layout()
}

// bestNode is the deepest node on the best path (-1 when nothing was measured).
func (p *TreePane) bestNode() int {
	best := -1
	for _, n := range p.nodes {
		if n.OnBestPath && (best < 0 || n.Depth > p.nodes[best].Depth) {
			best = n.ID
		}
	}
	return best
}

// reveal unfolds the ancestors of a node.
func (p *TreePane) reveal(id int) {
	for n := p.nodes[id].Parent; n >= 0; n = p.nodes[n].Parent {
		delete(p.collapsed, n)
	}
}

// layout recomputes the visible rows and keeps the cursor on screen.
func (p *TreePane) layout() {
	p.visible = p.visible[:0]
	if len(p.nodes) > 0 {
		stack := []int{0}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p.visible = append(p.visible, id)
			if p.collapsed[id] {
				continue
			}
			kids := p.children[id]
			for i := len(kids) - 1; i >= 0; i-- {
				stack = append(stack, kids[i])
			}
		}
	}
	p.scrollTo(p.cursor())
}

// cursor is the row of the selected node (0 when it is hidden).
func (p *TreePane) cursor() int {
	for i, id := range p.visible {
		if id == p.selected {
			return i
		}
	}
	return 0
}

// scrollTo keeps row on screen.
func (p *TreePane) scrollTo(row int) {
	rows := p.rows()
	if rows <= 0 {
		return
	}
	if row < p.offset {
		p.offset = row
	}
	if row >= p.offset+rows {
		p.offset = row - rows + 1
	}
	p.offset = max(0, min(p.offset, len(p.visible)-rows))
}

// moveTo puts the cursor on a row and reports the new selection.
func (p *TreePane) moveTo(row int) tea.Cmd {
	if len(p.visible) == 0 {
		return nil
	}
	row = max(0, min(row, len(p.visible)-1))
	p.selected = p.visible[row]
	p.scrollTo(row)
	return p.selection()
}

func (p *TreePane) selection() tea.Cmd {
	if p.selected < 0 || p.selected >= len(p.nodes) {
		return nil
	}
	n := p.nodes[p.selected]
	return func() tea.Msg { return selectMsg{node: &n} }
}

func (p *TreePane) key(msg tea.KeyMsg) tea.Cmd {
	if len(p.nodes) == 0 {
		return nil
	}
	k, row := p.keys, p.cursor()
	switch {
	case key.Matches(msg, k.FollowBest):
		p.follow = !p.follow
		if best := p.bestNode(); p.follow && best >= 0 {
			p.reveal(best)
			p.selected = best
			p.layout()
			return p.selection()
		}
		return nil
	case key.Matches(msg, k.Up):
		p.follow = false
		return p.moveTo(row - 1)
	case key.Matches(msg, k.Down):
		p.follow = false
		return p.moveTo(row + 1)
	case key.Matches(msg, k.PageUp):
		p.follow = false
		return p.moveTo(row - max(p.rows()-1, 1))
	case key.Matches(msg, k.PageDown):
		p.follow = false
		return p.moveTo(row + max(p.rows()-1, 1))
	case key.Matches(msg, k.Top):
		p.follow = false
		return p.moveTo(0)
	case key.Matches(msg, k.Bottom):
		p.follow = false
		return p.moveTo(len(p.visible) - 1)
	case key.Matches(msg, k.Collapse):
		p.follow = false
		if len(p.children[p.selected]) > 0 && !p.collapsed[p.selected] {
			p.collapsed[p.selected] = true
			p.layout()
			return nil
		}
		if parent := p.nodes[p.selected].Parent; parent >= 0 {
			p.selected = parent
			p.layout()
			return p.selection()
		}
	case key.Matches(msg, k.Expand):
		p.follow = false
		if p.collapsed[p.selected] {
			delete(p.collapsed, p.selected)
			p.layout()
			return nil
		}
		if kids := p.children[p.selected]; len(kids) > 0 {
			return p.moveTo(row + 1)
		}
	case key.Matches(msg, k.Toggle):
		p.follow = false
		if len(p.children[p.selected]) > 0 {
			p.collapsed[p.selected] = !p.collapsed[p.selected]
			if !p.collapsed[p.selected] {
				delete(p.collapsed, p.selected)
			}
			p.layout()
		}
	}
	return nil
}

// View implements Pane.
func (p *TreePane) View(focused bool) string {
	inner := max(p.width-2, 0)
	var lines []string
	var styles []*lipgloss.Style
	if len(p.nodes) == 0 {
		msg := "waiting for the search to start…"
		if p.strategy != "" && p.strategy != "colt" && p.strategy != "mcts" {
			msg = "the " + p.strategy + " search keeps no tree; its samples are in the latency plot"
		}
		lines = []string{msg}
	} else {
		end := min(p.offset+p.rows(), len(p.visible))
		for _, id := range p.visible[p.offset:end] {
			lines = append(lines, p.row(id, inner))
			styles = append(styles, p.rowStyle(id))
		}
		if follow := " following the best"; p.follow && len(lines) < p.rows() {
			lines = append(lines, follow)
			styles = append(styles, &p.st.Dim)
		}
	}
	content := block(lines, inner, p.rows(), func(i int) *lipgloss.Style {
		if i < len(styles) {
			return styles[i]
		}
		return nil
	})
	return frame(p.st, p.Title(), focused, content, p.width, p.height)
}

func (p *TreePane) rowStyle(id int) *lipgloss.Style {
	n := p.nodes[id]
	switch {
	case id == p.selected:
		return &p.st.Selected
	case n.OnBestPath:
		return &p.st.Best
	case n.Pruned:
		return &p.st.Dim
	}
	return nil
}

// row is one node's line: cursor, best-path mark, indentation, fold mark, what made the node,
// and on the right its predicted score and measured latency.
func (p *TreePane) row(id, width int) string {
	n := p.nodes[id]
	cursor := " "
	if id == p.selected {
		cursor = "›"
	}
	mark := " "
	if n.OnBestPath {
		mark = "*"
	}
	fold := "·"
	if len(p.children[id]) > 0 {
		fold = "▾"
		if p.collapsed[id] {
			fold = fmt.Sprintf("▸(%d)", p.descendants(id))
		}
	}
	indent := strings.Repeat("  ", min(n.Depth, maxIndent))
	if n.Depth > maxIndent {
		indent += fmt.Sprintf("%d ", n.Depth)
	}
	left := cursor + mark + indent + fold + " " + nodeLabel(n)
	right := ""
	if n.Parent >= 0 {
		lat := "-"
		switch {
		case n.LatencyS > 0:
			lat = core.FormatSeconds(n.LatencyS)
		case n.Measured:
			lat = "failed"
		}
		right = fmt.Sprintf("  pred %5.3f %10s", n.Score, lat)
	}
	if width-len([]rune(right)) < 24 {
		right = ""
	}
	return fit(left, width-len([]rune(right))) + right
}

// descendants counts the nodes below id.
func (p *TreePane) descendants(id int) int {
	n := 0
	for _, c := range p.children[id] {
		n += 1 + p.descendants(c)
	}
	return n
}

// nodeLabel says what made a node and who.
func nodeLabel(n core.TreeNode) string {
	if n.Parent < 0 {
		return "root: the unscheduled program"
	}
	what := n.Transformations
	who := n.ProposedBy
	switch {
	case what == "":
		what, who = "sketch sample", ""
	case who == "":
		who = "random"
	}
	s := fmt.Sprintf("#%d %s", n.ID, what)
	if who != "" {
		s += " by " + who
	}
	if n.Altered {
		s += " [course alteration]"
	}
	if n.Pruned {
		s += " [pruned]"
	}
	return s
}
