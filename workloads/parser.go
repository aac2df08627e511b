package workloads

import "fmt"

// maxDepth bounds how deeply expressions may nest, so hostile input cannot exhaust the stack.
const maxDepth = 200

// parser is a recursive-descent parser over the tokens of one source text.
type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{src: src, toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &posError{p.src, t.pos, fmt.Sprintf(format, args...) + ", found " + describe(t)}
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.errAt(t, "expected %q", symbol(k))
	}
	return p.next(), nil
}

func (p *parser) expectEOF() error {
	if t := p.peek(); t.kind != tEOF {
		return p.errAt(t, "unexpected text after the end")
	}
	return nil
}

// parseExprText parses a whole text as one expression (a size expression).
func parseExprText(src string) (expr, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	return e, p.expectEOF()
}

// parseDecl parses a tensor declaration "Name[dim, ...]".
func parseDecl(src string) (*declAST, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	name := p.peek()
	if name.kind != tIdent {
		return nil, p.errAt(name, "expected a tensor name")
	}
	p.next()
	if _, err := p.expect(tLBrack); err != nil {
		return nil, err
	}
	dims, _, err := p.list(tRBrack)
	if err != nil {
		return nil, err
	}
	if len(dims) == 0 {
		return nil, &posError{src, name.pos, fmt.Sprintf("tensor %s needs at least one dimension", name.text)}
	}
	if err := p.expectEOF(); err != nil {
		return nil, err
	}
	return &declAST{text: src, name: name.text, dims: dims}, nil
}

// parseStage parses "Tensor[i, j, ...] OP expr".
func parseStage(src string) (*stageAST, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	name := p.peek()
	if name.kind != tIdent {
		return nil, p.errAt(name, "expected the name of the tensor the stage writes")
	}
	p.next()
	if _, err := p.expect(tLBrack); err != nil {
		return nil, err
	}
	idx, _, err := p.list(tRBrack)
	if err != nil {
		return nil, err
	}
	st := &stageAST{text: src, tensor: name.text}
	if len(idx) == 0 {
		return nil, &posError{src, name.pos, fmt.Sprintf("%s needs at least one index", name.text)}
	}
	for _, e := range idx {
		n, ok := e.(*nameRef)
		if !ok {
			pos, _ := e.span()
			return nil, &posError{src, pos, fmt.Sprintf("indices on the left must be plain variables, found %q", textOf(src, e))}
		}
		st.lhs = append(st.lhs, n)
	}
	t := p.peek()
	switch {
	case t.kind == tAssign:
		st.op = "="
		p.next()
	case t.kind == tPlusAssign:
		st.op = "+="
		p.next()
	case t.kind == tIdent && (t.text == "max" || t.text == "min") && p.peekAt(1).kind == tAssign:
		st.op = t.text + "="
		p.next()
		p.next()
	default:
		return nil, p.errAt(t, "expected =, +=, max= or min=")
	}
	if st.rhs, err = p.expr(); err != nil {
		return nil, err
	}
	return st, p.expectEOF()
}

// list parses comma-separated expressions up to and including the closing token.
func (p *parser) list(closing tokKind) ([]expr, token, error) {
	var out []expr
	if t := p.peek(); t.kind == closing {
		return out, p.next(), nil
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, token{}, err
		}
		out = append(out, e)
		t := p.peek()
		if t.kind == closing {
			return out, p.next(), nil
		}
		if t.kind != tComma {
			return nil, token{}, p.errAt(t, "expected \",\" or %q", symbol(closing))
		}
		p.next()
	}
}

func (p *parser) expr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(p.peek(), "expression nested too deeply")
	}
	return p.or()
}

// binaryLevel parses operand {op operand} for one precedence level, left-associative.
func (p *parser) binaryLevel(operand func() (expr, error), ops ...tokKind) (expr, error) {
	a, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		match := false
		for _, k := range ops {
			if t.kind == k {
				match = true
			}
		}
		if !match {
			return a, nil
		}
		p.next()
		b, err := operand()
		if err != nil {
			return nil, err
		}
		pa, _ := a.span()
		_, eb := b.span()
		a = &binary{pos: pa, end: eb, opPos: t.pos, op: t.kind, a: a, b: b}
	}
}

func (p *parser) or() (expr, error)  { return p.binaryLevel(p.and, tOr) }
func (p *parser) and() (expr, error) { return p.binaryLevel(p.cmp, tAnd) }

func (p *parser) cmp() (expr, error) {
	a, err := p.binaryLevel(p.add, tLT, tLE, tGT, tGE, tEQ, tNE)
	if err != nil {
		return nil, err
	}
	if b, ok := a.(*binary); ok && isCompare(b.op) {
		if inner, ok := b.a.(*binary); ok && isCompare(inner.op) {
			return nil, &posError{p.src, b.opPos, "comparisons cannot be chained; combine them with &&"}
		}
	}
	return a, nil
}

func (p *parser) add() (expr, error) { return p.binaryLevel(p.mul, tPlus, tMinus) }
func (p *parser) mul() (expr, error) { return p.binaryLevel(p.unary, tStar, tSlash, tPercent) }

func (p *parser) unary() (expr, error) {
	t := p.peek()
	if t.kind == tMinus || t.kind == tNot {
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, p.errAt(t, "expression nested too deeply")
		}
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		_, end := x.span()
		return &unary{pos: t.pos, end: end, op: t.kind, x: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tInt:
		p.next()
		return &numLit{pos: t.pos, end: t.pos + len(t.text), isInt: true, i: t.i, f: t.f}, nil
	case tFloat:
		p.next()
		return &numLit{pos: t.pos, end: t.pos + len(t.text), f: t.f}, nil
	case tLParen:
		p.next()
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		closeTok, err := p.expect(tRParen)
		if err != nil {
			return nil, err
		}
		widen(e, t.pos, closeTok.pos+1)
		return e, nil
	case tIdent:
		p.next()
		switch p.peek().kind {
		case tLBrack:
			p.next()
			idx, closeTok, err := p.list(tRBrack)
			if err != nil {
				return nil, err
			}
			if len(idx) == 0 {
				return nil, &posError{p.src, t.pos, fmt.Sprintf("%s[] needs at least one index", t.text)}
			}
			return &access{pos: t.pos, end: closeTok.pos + 1, tensor: t.text, idx: idx}, nil
		case tLParen:
			p.next()
			args, closeTok, err := p.list(tRParen)
			if err != nil {
				return nil, err
			}
			return &call{pos: t.pos, end: closeTok.pos + 1, fn: t.text, args: args}, nil
		}
		return &nameRef{pos: t.pos, end: t.pos + len(t.text), name: t.text}, nil
	}
	return nil, p.errAt(t, "expected a number, a name, a tensor access or \"(\"")
}

func isCompare(k tokKind) bool { return k >= tLT && k <= tNE }
