package workloads

// expr is a node of a parsed expression. Every node knows its byte span [pos, end) in the
// source text, so that errors can quote the offending text.
type expr interface {
	span() (pos, end int)
}

// numLit is an integer or float literal.
type numLit struct {
	pos, end int
	isInt    bool
	i        int64
	f        float64
}

// nameRef is a bare identifier: a size, an index variable, inf or pi.
type nameRef struct {
	pos, end int
	name     string
}

// access reads a tensor element: T[idx, ...].
type access struct {
	pos, end int
	tensor   string
	idx      []expr
}

// call applies a function: fn(args...).
type call struct {
	pos, end int
	fn       string
	args     []expr
}

// unary is -x or !x.
type unary struct {
	pos, end int
	op       tokKind
	x        expr
}

// binary is a op b; opPos is the operator's position.
type binary struct {
	pos, end int
	opPos    int
	op       tokKind
	a, b     expr
}

func (n *numLit) span() (int, int)  { return n.pos, n.end }
func (n *nameRef) span() (int, int) { return n.pos, n.end }
func (n *access) span() (int, int)  { return n.pos, n.end }
func (n *call) span() (int, int)    { return n.pos, n.end }
func (n *unary) span() (int, int)   { return n.pos, n.end }
func (n *binary) span() (int, int)  { return n.pos, n.end }

// widen makes a node's span cover the parentheses around it.
func widen(e expr, pos, end int) {
	switch n := e.(type) {
	case *numLit:
		n.pos, n.end = pos, end
	case *nameRef:
		n.pos, n.end = pos, end
	case *access:
		n.pos, n.end = pos, end
	case *call:
		n.pos, n.end = pos, end
	case *unary:
		n.pos, n.end = pos, end
	case *binary:
		n.pos, n.end = pos, end
	}
}

// stageAST is one parsed stage: tensor[lhs...] op rhs.
type stageAST struct {
	text   string
	tensor string
	lhs    []*nameRef
	op     string // "=", "+=", "max=" or "min="
	rhs    expr
}

// declAST is a parsed tensor declaration: name[dims...].
type declAST struct {
	text string
	name string
	dims []expr
}

// textOf returns the source text a node was parsed from.
func textOf(src string, e expr) string {
	p, q := e.span()
	if p < 0 || q > len(src) || p > q {
		return ""
	}
	return src[p:q]
}

// walkExpr calls visit for e and every node below it, parents first, in source order.
func walkExpr(e expr, visit func(expr)) {
	visit(e)
	switch n := e.(type) {
	case *access:
		for _, x := range n.idx {
			walkExpr(x, visit)
		}
	case *call:
		for _, x := range n.args {
			walkExpr(x, visit)
		}
	case *unary:
		walkExpr(n.x, visit)
	case *binary:
		walkExpr(n.a, visit)
		walkExpr(n.b, visit)
	}
}
