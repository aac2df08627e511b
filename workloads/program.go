package workloads

import (
	"errors"
	"fmt"
	"strings"

	"colt/schedule"
)

// tensorInfo is what the compiler knows about one tensor of a spec.
type tensorInfo struct {
	name  string
	shape []int // nil until known
	input bool
	stage int // index of the stage writing it; -1 for inputs and unwritten tensors
	read  bool
	buf   *schedule.Buffer
}

// compiler checks one spec's sizes, tensors and stages and builds its program.
type compiler struct {
	dt      schedule.DType
	sizes   map[string]int64
	tensors map[string]*tensorInfo
	inputs  []*tensorInfo
	decls   []*tensorInfo // tensors in the order of Spec.Tensors
	stages  []*stageAST
}

// program is a compiled spec: the template program (cloned by Task.Func) and its costs.
type program struct {
	fn       *schedule.Func
	flops    int64
	minBytes int64
}

// compile checks a single (non-model) spec and builds its unscheduled program. Errors are
// one line, naming the part of the spec at fault, without the workload prefix. With verify,
// the program must also pass schedule.Verify (built-ins skip this at run time so that a
// stricter verifier cannot stop the catalog from loading; their tests verify them).
func compile(funcName string, spec Spec, verify bool) (*program, error) {
	c := &compiler{tensors: map[string]*tensorInfo{}}
	switch spec.DType {
	case "", "float32":
		c.dt = schedule.Float32
	case "float64":
		c.dt = schedule.Float64
	default:
		return nil, fmt.Errorf("dtype %q is not supported; use float32 or float64", spec.DType)
	}
	var err error
	if c.sizes, err = resolveSizes(spec.Sizes); err != nil {
		return nil, err
	}
	for i, text := range spec.Inputs {
		t, err := c.declare(text, true)
		if err != nil {
			return nil, fmt.Errorf("input %d %q: %w", i+1, text, err)
		}
		c.inputs = append(c.inputs, t)
	}
	for i, text := range spec.Tensors {
		t, err := c.declare(text, false)
		if err != nil {
			return nil, fmt.Errorf("tensor %d %q: %w", i+1, text, err)
		}
		c.decls = append(c.decls, t)
	}
	if len(spec.Stages) == 0 {
		return nil, fmt.Errorf("no stages: a workload needs at least one stage (or tasks)")
	}
	stageErr := func(i int, err error) error {
		return fmt.Errorf("stage %d %q: %w", i+1, spec.Stages[i], err)
	}
	var stageTensors []*tensorInfo
	for i, text := range spec.Stages {
		st, err := parseStage(text)
		if err != nil {
			return nil, stageErr(i, err)
		}
		if err := c.checkWritable(st.tensor); err != nil {
			return nil, stageErr(i, err)
		}
		t := c.tensors[st.tensor]
		if t == nil {
			t = &tensorInfo{name: st.tensor, stage: -1}
			c.tensors[st.tensor] = t
		}
		t.stage = i
		c.stages = append(c.stages, st)
		stageTensors = append(stageTensors, t)
	}
	nests := make([]schedule.Stmt, len(c.stages))
	var flops int64
	for i := range c.stages {
		info, err := c.analyzeStage(i)
		if err != nil {
			return nil, stageErr(i, err)
		}
		info.out.buf = schedule.NewBuffer(info.out.name, c.dt, info.out.shape...)
		nest, f, err := c.lowerStage(info)
		if err != nil {
			return nil, stageErr(i, err)
		}
		nests[i] = nest
		flops = satAdd(flops, f)
	}
	for i, t := range c.decls {
		if t.stage < 0 {
			return nil, fmt.Errorf("tensor %d %q: no stage writes %s", i+1, spec.Tensors[i], t.name)
		}
	}
	for i, t := range c.inputs {
		if !t.read {
			return nil, fmt.Errorf("input %d %q: no stage reads %s", i+1, spec.Inputs[i], t.name)
		}
	}
	outputs, err := c.outputs(spec.Outputs, stageTensors)
	if err != nil {
		return nil, err
	}
	if err := c.markConstants(spec.Constants); err != nil {
		return nil, err
	}
	isOut := map[*tensorInfo]bool{}
	for _, t := range outputs {
		isOut[t] = true
	}
	root := &schedule.Block{Name: "root", Body: &schedule.Seq{Stmts: nests}}
	for i, t := range stageTensors {
		if isOut[t] {
			continue
		}
		if !t.read {
			return nil, stageErr(i, fmt.Errorf("%s is neither read by a later stage nor listed in outputs", t.name))
		}
		root.Allocs = append(root.Allocs, t.buf)
	}
	fn := &schedule.Func{Name: funcName, Root: root}
	for _, t := range c.inputs {
		fn.Params = append(fn.Params, t.buf)
	}
	for _, t := range outputs {
		fn.Params = append(fn.Params, t.buf)
	}
	// A stage's select may guard a read the language cannot prove in bounds; the verifier
	// decides. On anything else a failure here is a bug in this package.
	if !verify {
		return &program{fn: fn, flops: flops, minBytes: paramBytes(fn.Params)}, nil
	}
	if err := schedule.Verify(fn); err != nil {
		var ve *schedule.VerifyError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			for i, t := range stageTensors {
				if ve.Problems[0].Where == fmt.Sprintf("block %q", t.name) {
					return nil, stageErr(i, fmt.Errorf("the program fails verification (%v); read out-of-bounds elements with pad(...)", err))
				}
			}
		}
		return nil, fmt.Errorf("the program fails verification: %v", err)
	}
	return &program{fn: fn, flops: flops, minBytes: paramBytes(fn.Params)}, nil
}

// declare registers a tensor declared in inputs (input) or tensors.
func (c *compiler) declare(text string, input bool) (*tensorInfo, error) {
	d, err := parseDecl(text)
	if err != nil {
		return nil, err
	}
	switch {
	case isReserved(d.name):
		return nil, fmt.Errorf("%s is a reserved name", d.name)
	case c.hasSize(d.name):
		return nil, fmt.Errorf("%s is already a size name; tensors and sizes need different names", d.name)
	case c.tensors[d.name] != nil && c.tensors[d.name].input:
		return nil, fmt.Errorf("%s is already declared as an input", d.name)
	case c.tensors[d.name] != nil:
		return nil, fmt.Errorf("%s is declared twice", d.name)
	}
	t := &tensorInfo{name: d.name, input: input, stage: -1}
	for _, dim := range d.dims {
		v, err := evalInt(text, dim, func(n *nameRef) (int64, error) {
			v, ok := c.sizes[n.name]
			if !ok {
				return 0, fmt.Errorf("unknown size %s%s", n.name, suggest(n.name, c.sizeNames()))
			}
			return v, nil
		})
		if err != nil {
			return nil, err
		}
		if v < 1 || v > maxDim {
			return nil, fmt.Errorf("dimension %q is %d; dimensions must be between 1 and %d", textOf(text, dim), v, maxDim)
		}
		t.shape = append(t.shape, int(v))
	}
	if err := checkElems(d.name, t.shape); err != nil {
		return nil, err
	}
	if input {
		t.buf = schedule.NewBuffer(d.name, c.dt, t.shape...)
	}
	c.tensors[d.name] = t
	return t, nil
}

// checkWritable checks that a stage may write the named tensor.
func (c *compiler) checkWritable(name string) error {
	t := c.tensors[name]
	switch {
	case isReserved(name):
		return fmt.Errorf("%s is a reserved name", name)
	case c.hasSize(name):
		return fmt.Errorf("%s is a size, not a tensor", name)
	case t != nil && t.input:
		return fmt.Errorf("%s is an input; inputs are read-only, write a new tensor", name)
	case t != nil && t.stage >= 0:
		return fmt.Errorf("%s is already written by stage %d; each tensor is written by exactly one stage", name, t.stage+1)
	}
	return nil
}

// markConstants marks the inputs Spec.Constants names as constant.
func (c *compiler) markConstants(names []string) error {
	var inputs []string
	for _, t := range c.inputs {
		inputs = append(inputs, t.name)
	}
	seen := map[string]bool{}
	for _, n := range names {
		t := c.tensors[n]
		switch {
		case seen[n]:
			return fmt.Errorf("constants: %s is listed twice", n)
		case t == nil || !t.input:
			return fmt.Errorf("constants: %s is not an input%s (inputs: %s)", n, suggest(n, inputs), strings.Join(inputs, ", "))
		}
		seen[n] = true
		t.buf.Constant = true
	}
	return nil
}

// outputs resolves Spec.Outputs, or by default every stage tensor no later stage reads.
func (c *compiler) outputs(names []string, stageTensors []*tensorInfo) ([]*tensorInfo, error) {
	if len(names) == 0 {
		var out []*tensorInfo
		for _, t := range stageTensors {
			if !t.read {
				out = append(out, t)
			}
		}
		return out, nil
	}
	var out []*tensorInfo
	seen := map[string]bool{}
	var stageNames []string
	for _, t := range stageTensors {
		stageNames = append(stageNames, t.name)
	}
	for _, n := range names {
		t := c.tensors[n]
		switch {
		case seen[n]:
			return nil, fmt.Errorf("outputs: %s is listed twice", n)
		case t == nil || t.stage < 0 && !t.input:
			return nil, fmt.Errorf("outputs: unknown tensor %s%s (stage tensors: %s)", n, suggest(n, stageNames), strings.Join(stageNames, ", "))
		case t.input:
			return nil, fmt.Errorf("outputs: %s is an input; outputs are tensors written by stages", n)
		}
		seen[n] = true
		out = append(out, t)
	}
	return out, nil
}

func (c *compiler) sizeNames() []string {
	names := make([]string, 0, len(c.sizes))
	for n := range c.sizes {
		names = append(names, n)
	}
	return sortedStrings(names)
}
