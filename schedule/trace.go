package schedule

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Trace is the list of schedule instructions that turns the unscheduled program into a
// scheduled one. Sampling instructions carry their decision, so replaying a trace on the same
// program rebuilds the same schedule; changing one decision and replaying is a mutation.
type Trace struct {
	Insts []Inst `json:"insts"`
}

// Inst is one recorded primitive. Inputs and Outputs name handles: b<N> for blocks, l<N> for
// loops, r<N> for the root position, v<N> for sampled integers; an input may also be a decimal
// literal. Which attribute fields are used depends on Kind (see the instruction table).
type Inst struct {
	Kind    string   `json:"kind"`
	Inputs  []string `json:"inputs,omitempty"`
	Outputs []string `json:"outputs,omitempty"`
	// Name is a block name (GetBlock), an annotation key (Annotate), a storage scope
	// (CacheRead, CacheWrite), a thread axis (Bind) or a parameter (PackPanels).
	Name string `json:"name,omitempty"`
	// N is a count or index: tiles (SamplePerfectTile), buffer index (CacheRead, CacheWrite).
	N int `json:"n,omitempty"`
	// Max is SamplePerfectTile's limit on the innermost factor.
	Max int `json:"max,omitempty"`
	// Limits are SamplePerfectTile's preferred upper bounds per tile (0: none), which random
	// sampling and the TileSize mutator respect; the GPU design space uses them to keep thread,
	// virtual-thread and register tiles within the device's limits. Replay accepts any perfect
	// tiling.
	Limits []int `json:"limits,omitempty"`
	// Values and Probs are SampleCategorical's candidates and their probabilities.
	Values []int     `json:"values,omitempty"`
	Probs  []float64 `json:"probs,omitempty"`
	// Decision is a sampling instruction's outcome: the factors of SamplePerfectTile, the index
	// of the chosen value of SampleCategorical, the chosen location of SampleComputeLocation
	// (-1 = root, otherwise an index into the block's legal loops, outermost first).
	Decision []int `json:"decision,omitempty"`
}

// The instruction kinds, as they appear in trace JSON.
const (
	KindGetBlock              = "GetBlock"
	KindGetLoops              = "GetLoops"
	KindGetProducers          = "GetProducers"
	KindGetConsumers          = "GetConsumers"
	KindSplit                 = "Split"
	KindFuse                  = "Fuse"
	KindReorder               = "Reorder"
	KindParallel              = "Parallel"
	KindVectorize             = "Vectorize"
	KindUnroll                = "Unroll"
	KindBind                  = "Bind"
	KindAnnotate              = "Annotate"
	KindCacheRead             = "CacheRead"
	KindCacheWrite            = "CacheWrite"
	KindComputeAt             = "ComputeAt"
	KindReverseComputeAt      = "ReverseComputeAt"
	KindComputeInline         = "ComputeInline"
	KindReverseComputeInline  = "ReverseComputeInline"
	KindDecomposeReduction    = "DecomposeReduction"
	KindRFactor               = "RFactor"
	KindPackPanels            = "PackPanels"
	KindSamplePerfectTile     = "SamplePerfectTile"
	KindSampleCategorical     = "SampleCategorical"
	KindSampleComputeLocation = "SampleComputeLocation"
)

// IsSampling reports whether the instruction draws a decision.
func (in Inst) IsSampling() bool {
	switch in.Kind {
	case KindSamplePerfectTile, KindSampleCategorical, KindSampleComputeLocation:
		return true
	}
	return false
}

// Copy returns a deep copy of the trace; the copy of no trace (nil) is nil.
func (t *Trace) Copy() *Trace {
	if t == nil {
		return nil
	}
	out := &Trace{Insts: make([]Inst, len(t.Insts))}
	for i, in := range t.Insts {
		in.Inputs = append([]string(nil), in.Inputs...)
		in.Outputs = append([]string(nil), in.Outputs...)
		in.Values = append([]int(nil), in.Values...)
		in.Probs = append([]float64(nil), in.Probs...)
		in.Decision = append([]int(nil), in.Decision...)
		in.Limits = append([]int(nil), in.Limits...)
		out.Insts[i] = in
	}
	return out
}

// MarshalIndent is the trace as indented JSON, for files a person reads.
func (t *Trace) MarshalIndent() ([]byte, error) { return json.MarshalIndent(t, "", "  ") }

// ParseTrace reads a trace from JSON, checking its shape (known kinds, well-formed handle
// names); whether it applies to a program is for Replay to say. On an error the trace is nil.
func ParseTrace(data []byte) (_ *Trace, err error) {
	defer guardInput("ParseTrace", &err)
	var t Trace
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse trace: %w", err)
	}
	for i, in := range t.Insts {
		if _, ok := instTable()[in.Kind]; !ok {
			return nil, fmt.Errorf("parse trace: instruction %d: unknown kind %q", i, in.Kind)
		}
		for _, name := range append(append([]string(nil), in.Inputs...), in.Outputs...) {
			if !validHandleName(name) {
				return nil, fmt.Errorf("parse trace: instruction %d (%s): %q is neither a handle (b3, l7, r2, v5) nor an integer", i, in.Kind, name)
			}
		}
		for _, name := range in.Outputs {
			if _, err := strconv.Atoi(name); err == nil {
				return nil, fmt.Errorf("parse trace: instruction %d (%s): output %q must be a handle, not a literal", i, in.Kind, name)
			}
		}
	}
	return &t, nil
}

func validHandleName(s string) bool {
	if _, err := strconv.Atoi(s); err == nil {
		return true
	}
	if len(s) < 2 || !strings.ContainsRune("blrv", rune(s[0])) {
		return false
	}
	n, err := strconv.Atoi(s[1:])
	return err == nil && n >= 0
}

// String prints the trace as TVM-style Python, one instruction per line, for people and LLMs:
//
//	b0 = sch.get_block("O")
//	v4, v5, v6, v7 = sch.sample_perfect_tile(l1, n=4, max_innermost_factor=64, decision=[1, 2, 4, 2])
func (t *Trace) String() string {
	if t == nil {
		return ""
	}
	var sb strings.Builder
	for _, in := range t.Insts {
		sb.WriteString(in.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

// String prints one instruction as a line of TVM-style Python.
func (in Inst) String() string {
	info, ok := instTable()[in.Kind]
	name := in.Kind
	if ok {
		name = info.python
	}
	args := append([]string(nil), in.Inputs...)
	if in.Kind == KindSplit && len(args) > 0 {
		args = []string{args[0], "factors=[" + strings.Join(args[1:], ", ") + "]"}
	}
	switch in.Kind {
	case KindGetBlock:
		args = append(args, strconv.Quote(in.Name))
	case KindAnnotate:
		args = append(args[:min(1, len(args))], append([]string{"ann_key=" + strconv.Quote(in.Name)}, prefixed("ann_val=", args[min(1, len(args)):])...)...)
	case KindBind:
		args = append(args, strconv.Quote(in.Name))
	case KindCacheRead, KindCacheWrite:
		args = append(args, strconv.Itoa(in.N), strconv.Quote(in.Name))
	case KindRFactor:
		args = append(args, strconv.Quote(in.Name))
	case KindPackPanels:
		args = append([]string{strconv.Quote(in.Name)}, prefixed("factor=", args)...)
	case KindSamplePerfectTile:
		args = append(args, fmt.Sprintf("n=%d", in.N), fmt.Sprintf("max_innermost_factor=%d", in.Max))
		if len(in.Limits) > 0 {
			args = append(args, "limits="+intList(in.Limits))
		}
	case KindSampleCategorical:
		args = append(args, "candidates="+intList(in.Values), "probs="+floatList(in.Probs))
	}
	if in.Decision != nil {
		if in.Kind == KindSamplePerfectTile || len(in.Decision) != 1 {
			// A tiling, or a corrupt decision printed as it is.
			args = append(args, "decision="+intList(in.Decision))
		} else {
			args = append(args, "decision="+strconv.Itoa(in.Decision[0]))
		}
	}
	call := "sch." + name + "(" + strings.Join(args, ", ") + ")"
	if len(in.Outputs) == 0 {
		return call
	}
	return strings.Join(in.Outputs, ", ") + " = " + call
}

func prefixed(prefix string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = prefix + x
	}
	return out
}

func intList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func floatList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'g', 4, 64)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
