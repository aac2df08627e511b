package backend

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"colt/schedule"
)

// Tolerance is the largest relative error (as Compare measures it) an output of type dt may
// have: 1e-3 for float32, 1e-9 for float64.
func Tolerance(dt schedule.DType) float64 {
	if dt == schedule.Float64 {
		return 1e-9
	}
	return 1e-3
}

// Comparison is the outcome of checking a candidate's outputs against the reference.
type Comparison struct {
	OK        bool
	MaxRelErr float64 // largest relative error over all output elements (+Inf for NaN/Inf)
	Worst     string  // the worst element, e.g. "C[3, 17]"; empty when every error is 0
	Message   string  // one line; says what was wrong when !OK
}

// Compare checks outputs (one slice per output buffer, in the reference's order) against ref.
// An element's error is |out − ref| / (|ref| + rms(ref of that buffer)), so elements near zero
// are judged relative to the buffer's scale; NaN or Inf where the reference is finite is wrong;
// where the reference itself is NaN or ±Inf the output must match it. A buffer passes when its
// worst error is at most Tolerance(its dtype).
func Compare(ref *Reference, outputs [][]float64) Comparison {
	if ref == nil {
		return Comparison{OK: true, Message: "not checked: no reference"}
	}
	if len(outputs) != len(ref.Outputs) {
		return Comparison{MaxRelErr: math.Inf(1), Message: fmt.Sprintf("found %d output buffers, want %d", len(outputs), len(ref.Outputs))}
	}
	res := Comparison{OK: true}
	var worstGot, worstWant float64
	worstDT := schedule.Float32
	for bi, ro := range ref.Outputs {
		got := outputs[bi]
		if len(got) != len(ro.Values) {
			return Comparison{MaxRelErr: math.Inf(1), Message: fmt.Sprintf("output %s has %d elements, want %d", ro.Name, len(got), len(ro.Values))}
		}
		tol := Tolerance(ro.DType)
		bufWorst := 0.0
		for i, want := range ro.Values {
			e := elementError(got[i], want, ro.RMS)
			bufWorst = max(bufWorst, e)
			if e > res.MaxRelErr {
				res.MaxRelErr, res.Worst = e, ro.Name+indexText(i, ro.Shape)
				worstGot, worstWant, worstDT = got[i], want, ro.DType
			}
		}
		if bufWorst > tol {
			res.OK = false
		}
	}
	if res.OK {
		res.Message = fmt.Sprintf("max relative error %.2e", res.MaxRelErr)
	} else {
		res.Message = fmt.Sprintf("max relative error %.2e at %s (got %.6g, want %.6g); tolerance %.0e",
			res.MaxRelErr, res.Worst, worstGot, worstWant, Tolerance(worstDT))
	}
	return res
}

// elementError is one element's relative error; +Inf when the output is wrong in kind.
func elementError(got, want, rms float64) float64 {
	if math.IsNaN(want) {
		if math.IsNaN(got) {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(want, 0) {
		if got == want {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return math.Inf(1)
	}
	denom := math.Abs(want) + rms
	if denom == 0 {
		denom = 1
	}
	return math.Abs(got-want) / denom
}

// rms is the root mean square of the finite values.
func rms(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x * x
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(s / float64(n))
}

// indexText turns a flat row-major index into "[i, j, k]".
func indexText(flat int, shape []int) string {
	idx := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] <= 0 {
			idx[d] = "?"
			continue
		}
		idx[d] = fmt.Sprint(flat % shape[d])
		flat /= shape[d]
	}
	return "[" + strings.Join(idx, ", ") + "]"
}

// decodeOutputs splits the harness's output file into one float64 slice per output buffer.
func decodeOutputs(raw []byte, outs []*schedule.Buffer, precision schedule.DType) ([][]float64, error) {
	want := 0
	for _, o := range outs {
		want += int(o.Elems()) * elemBytes(o.DType, precision)
	}
	if len(raw) != want {
		return nil, fmt.Errorf("output file has %d bytes, want %d", len(raw), want)
	}
	res := make([][]float64, len(outs))
	off := 0
	for i, o := range outs {
		n := int(o.Elems())
		size := elemBytes(o.DType, precision)
		v := make([]float64, n)
		for j := range v {
			b := raw[off+j*size:]
			switch {
			case size == 8:
				v[j] = math.Float64frombits(binary.NativeEndian.Uint64(b))
			case o.DType == schedule.Float32:
				v[j] = float64(math.Float32frombits(binary.NativeEndian.Uint32(b)))
			case o.DType == schedule.Int32:
				v[j] = float64(int32(binary.NativeEndian.Uint32(b)))
			default:
				v[j] = float64(b[0])
			}
		}
		res[i] = v
		off += n * size
	}
	return res, nil
}
