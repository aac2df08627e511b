package workloads

import (
	"fmt"
	"sort"
	"strings"

	"colt/schedule"
)

// stageInfo is what analysis learns about one stage before it is lowered: its iterators in
// loop order (left-hand-side variables, then reduction variables in order of first
// appearance), their extents and the tensor it writes.
type stageInfo struct {
	ast      *stageAST
	index    int // 0-based
	iters    []string
	nSpatial int
	ext      map[string]int64
	out      *tensorInfo
}

// extentSource remembers where an index variable's extent came from, for error messages.
type extentSource struct {
	ext  int64
	from string
}

// analyzeStage resolves the names of stage si, checks its tensor accesses and infers the
// extent of every index variable and, when it was not declared, the shape of its tensor.
func (c *compiler) analyzeStage(si int) (*stageInfo, error) {
	st := c.stages[si]
	info := &stageInfo{ast: st, index: si, ext: map[string]int64{}, out: c.tensors[st.tensor]}
	isLHS := map[string]bool{}
	for _, v := range st.lhs {
		switch {
		case isLHS[v.name]:
			return nil, fmt.Errorf("index variable %s appears twice on the left; left-hand indices must be distinct", v.name)
		case isReserved(v.name):
			return nil, fmt.Errorf("%s is a constant, not an index variable", v.name)
		case c.hasSize(v.name):
			return nil, fmt.Errorf("%s is a size, not an index variable; left-hand indices must be variables", v.name)
		case c.tensors[v.name] != nil:
			return nil, fmt.Errorf("%s is a tensor, not an index variable", v.name)
		}
		isLHS[v.name] = true
		info.iters = append(info.iters, v.name)
	}
	info.nSpatial = len(info.iters)

	// Names and tensor accesses on the right.
	var rhsVars []string
	seen := map[string]bool{}
	indexed := map[string]bool{}
	var accesses []*access
	var walkErr error
	var walk func(e expr, inIndex bool)
	walk = func(e expr, inIndex bool) {
		if walkErr != nil {
			return
		}
		switch n := e.(type) {
		case *nameRef:
			switch {
			case isReserved(n.name) || c.hasSize(n.name):
			case c.tensors[n.name] != nil:
				walkErr = fmt.Errorf("tensor %s is used without indices; read an element with %s[...]", n.name, n.name)
			default:
				if !isLHS[n.name] && !seen[n.name] {
					seen[n.name] = true
					rhsVars = append(rhsVars, n.name)
				}
				if inIndex {
					indexed[n.name] = true
				}
			}
		case *access:
			if err := c.checkAccess(si, n); err != nil {
				walkErr = err
				return
			}
			accesses = append(accesses, n)
			for _, x := range n.idx {
				walk(x, true)
			}
		case *call:
			if err := c.checkCall(st.text, n); err != nil {
				walkErr = err
				return
			}
			for _, x := range n.args {
				walk(x, inIndex)
			}
		case *unary:
			walk(n.x, inIndex)
		case *binary:
			walk(n.a, inIndex)
			walk(n.b, inIndex)
		}
	}
	walk(st.rhs, false)
	if walkErr != nil {
		return nil, walkErr
	}
	for _, v := range rhsVars {
		if !indexed[v] {
			return nil, fmt.Errorf("undefined name %s: it is not a size, a constant (inf, pi) or an index variable of this stage", v)
		}
	}
	info.iters = append(info.iters, rhsVars...)

	switch {
	case st.op == "=" && len(rhsVars) > 0:
		return nil, fmt.Errorf("index variable %s appears only on the right, so the stage reduces over it; write += (or max=, min=) instead of =", rhsVars[0])
	case st.op != "=" && len(rhsVars) == 0:
		return nil, fmt.Errorf("%s needs a reduction variable (an index used on the right but not on the left); use = for an element-wise stage", st.op)
	}

	// Indices must be affine; say so before complaining about extents they cannot provide.
	probe := &lowerer{c: c, info: info, vars: map[string]*schedule.Var{}}
	for _, v := range info.iters {
		probe.vars[v] = schedule.NewVar(v)
	}
	for _, a := range accesses {
		for _, x := range a.idx {
			if _, err := probe.affine(x); err != nil {
				return nil, err
			}
		}
	}

	// Extents, from every bare occurrence of a variable as an index of a known-shape tensor.
	found := map[string]extentSource{}
	constrain := func(v string, ext int64, from string) error {
		if prev, ok := found[v]; ok {
			if prev.ext != ext {
				return fmt.Errorf("index variable %s: extent %d from %s but %d from %s", v, prev.ext, prev.from, ext, from)
			}
			return nil
		}
		found[v] = extentSource{ext, from}
		return nil
	}
	if info.out.shape != nil {
		if len(info.out.shape) != len(st.lhs) {
			return nil, fmt.Errorf("%s has %d dims, found %d indices", st.tensor, len(info.out.shape), len(st.lhs))
		}
		for d, v := range st.lhs {
			if err := constrain(v.name, int64(info.out.shape[d]), fmt.Sprintf("%s dim %d", st.tensor, d)); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range accesses {
		t := c.tensors[a.tensor]
		for d, x := range a.idx {
			if n, ok := x.(*nameRef); ok && (isLHS[n.name] || seen[n.name]) {
				if err := constrain(n.name, int64(t.shape[d]), fmt.Sprintf("%s dim %d", a.tensor, d)); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, v := range info.iters {
		src, ok := found[v]
		if !ok {
			hint := "index a tensor of known shape with it alone somewhere in the stage"
			if isLHS[v] {
				hint = fmt.Sprintf("declare the shape of %s in tensors, e.g. %q", st.tensor, st.tensor+"[...]")
			}
			return nil, fmt.Errorf("index variable %s has no known extent: it never appears alone as an index of a tensor with a known shape; %s", v, hint)
		}
		info.ext[v] = src.ext
	}
	if info.out.shape == nil {
		shape := make([]int, len(st.lhs))
		for d, v := range st.lhs {
			shape[d] = int(info.ext[v.name])
		}
		if err := checkElems(st.tensor, shape); err != nil {
			return nil, err
		}
		info.out.shape = shape
	}
	return info, nil
}

// checkAccess checks that a tensor read by stage si exists, is written before it and is
// indexed with as many indices as it has dimensions; it marks the tensor as read.
func (c *compiler) checkAccess(si int, a *access) error {
	t := c.tensors[a.tensor]
	switch {
	case t == nil:
		if c.hasSize(a.tensor) {
			return fmt.Errorf("%s is a size, not a tensor", a.tensor)
		}
		return fmt.Errorf("unknown tensor %s%s (known: %s)", a.tensor, suggest(a.tensor, c.tensorNames()), strings.Join(c.tensorNames(), ", "))
	case t.stage == si:
		return fmt.Errorf("the stage reads %s, the tensor it writes; write a new tensor instead", a.tensor)
	case t.stage > si:
		return fmt.Errorf("reads %s, which is written by a later stage (stage %d); stages run in order", a.tensor, t.stage+1)
	case !t.input && t.stage < 0:
		return fmt.Errorf("reads %s, which no stage writes", a.tensor)
	case len(t.shape) != len(a.idx):
		return fmt.Errorf("%s has %d dims, found %d indices in %q", a.tensor, len(t.shape), len(a.idx), textOf(c.stages[si].text, a))
	}
	t.read = true
	return nil
}

func (c *compiler) hasSize(name string) bool {
	_, ok := c.sizes[name]
	return ok
}

func (c *compiler) tensorNames() []string {
	names := make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func checkElems(name string, shape []int) error {
	n := int64(1)
	for _, d := range shape {
		n = satMul(n, int64(d))
	}
	if n > maxElems {
		return fmt.Errorf("tensor %s has %d elements; at most %d are supported", name, n, maxElems)
	}
	return nil
}
