package workloads

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Limits on sizes: indices are int32 in the IR, and no tensor may be absurdly large.
const (
	maxDim   = math.MaxInt32
	maxElems = int64(1) << 40
	maxConst = int64(1) << 62 // magnitude limit of intermediate integer arithmetic
)

// isReserved reports whether a name is a constant of the language (inf, pi), which cannot name
// a size, a tensor or an index variable.
func isReserved(name string) bool { return name == "inf" || name == "pi" }

func isIdent(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// resolveSizes evaluates every size of a spec, in any dependency order.
func resolveSizes(raw map[string]any) (map[string]int64, error) {
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	exprs := map[string]expr{}
	texts := map[string]string{}
	vals := map[string]int64{}
	for _, n := range names {
		if !isIdent(n) {
			return nil, fmt.Errorf("size %q: a size name must be an identifier (letters, digits, _)", n)
		}
		if isReserved(n) {
			return nil, fmt.Errorf("size %s: %s is a reserved name", n, n)
		}
		switch v := raw[n].(type) {
		case string:
			e, err := parseExprText(v)
			if err != nil {
				return nil, fmt.Errorf("size %s = %q: %w", n, v, err)
			}
			exprs[n], texts[n] = e, v
		case int:
			vals[n] = int64(v)
		case int32:
			vals[n] = int64(v)
		case int64:
			vals[n] = v
		case uint:
			vals[n] = int64(min(uint64(v), math.MaxInt64))
		case uint32:
			vals[n] = int64(v)
		case uint64:
			vals[n] = int64(min(v, math.MaxInt64))
		case float64:
			if v != math.Trunc(v) || math.Abs(v) > float64(maxConst) {
				return nil, fmt.Errorf("size %s: want an integer, found %v", n, v)
			}
			vals[n] = int64(v)
		default:
			return nil, fmt.Errorf("size %s: want an integer or a string holding an integer expression, found %v (%T)", n, v, v)
		}
	}
	state := map[string]int{} // 1: being evaluated, 2: done
	var path []string
	var eval func(n string) (int64, error)
	eval = func(n string) (int64, error) {
		if v, ok := vals[n]; ok && state[n] != 1 {
			return v, nil
		}
		if state[n] == 1 {
			i := 0
			for path[i] != n {
				i++
			}
			cycle := append(append([]string(nil), path[i:]...), n)
			return 0, &sizeError{fmt.Errorf("sizes %s form a cycle", strings.Join(cycle, " -> "))}
		}
		state[n] = 1
		path = append(path, n)
		v, err := evalInt(texts[n], exprs[n], func(ref *nameRef) (int64, error) {
			if _, ok := raw[ref.name]; !ok {
				return 0, fmt.Errorf("unknown size %s%s", ref.name, suggest(ref.name, names))
			}
			return eval(ref.name)
		})
		path = path[:len(path)-1]
		state[n] = 2
		if err != nil {
			if _, done := err.(*sizeError); done {
				return 0, err
			}
			return 0, &sizeError{fmt.Errorf("size %s = %q: %w", n, texts[n], err)}
		}
		vals[n] = v
		return v, nil
	}
	for _, n := range names {
		v, err := eval(n)
		if err != nil {
			return nil, err
		}
		if v < 1 || v > maxDim {
			return nil, fmt.Errorf("size %s is %d; sizes must be between 1 and %d", n, v, maxDim)
		}
	}
	return vals, nil
}

// sizeError is a size problem already phrased for the user; enclosing sizes pass it on as is.
type sizeError struct{ error }

// evalInt evaluates an integer expression: literals, names (through lookup), unary minus,
// + - * and floor / and %.
func evalInt(src string, e expr, lookup func(*nameRef) (int64, error)) (int64, error) {
	switch n := e.(type) {
	case *numLit:
		if !n.isInt {
			return 0, fmt.Errorf("want an integer, found %s", textOf(src, n))
		}
		return n.i, checkMag(n.i)
	case *nameRef:
		return lookup(n)
	case *unary:
		if n.op != tMinus {
			return 0, fmt.Errorf("unexpected ! in integer expression %q", textOf(src, n))
		}
		x, err := evalInt(src, n.x, lookup)
		return -x, err
	case *binary:
		a, err := evalInt(src, n.a, lookup)
		if err != nil {
			return 0, err
		}
		b, err := evalInt(src, n.b, lookup)
		if err != nil {
			return 0, err
		}
		var r int64
		switch n.op {
		case tPlus:
			r = a + b
		case tMinus:
			r = a - b
		case tStar:
			if a != 0 && (b > maxConst/abs64(a) || b < -maxConst/abs64(a)) {
				return 0, fmt.Errorf("value of %q is too large", textOf(src, n))
			}
			r = a * b
		case tSlash, tPercent:
			if b == 0 {
				return 0, fmt.Errorf("division by zero in %q", textOf(src, n))
			}
			q := a / b
			if a%b != 0 && (a < 0) != (b < 0) {
				q--
			}
			r = q
			if n.op == tPercent {
				r = a - q*b
			}
		default:
			return 0, fmt.Errorf("operator %s is not allowed in an integer expression (%q)", symbol(n.op), textOf(src, n))
		}
		if err := checkMag(r); err != nil {
			return 0, fmt.Errorf("value of %q is too large", textOf(src, n))
		}
		return r, nil
	case *access:
		return 0, fmt.Errorf("tensor access %q is not allowed in an integer expression", textOf(src, n))
	case *call:
		return 0, fmt.Errorf("function call %q is not allowed in an integer expression", textOf(src, n))
	}
	return 0, fmt.Errorf("unexpected %q", textOf(src, e))
}

func checkMag(v int64) error {
	if v > maxConst || v < -maxConst {
		return fmt.Errorf("value %d is too large", v)
	}
	return nil
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// satMul multiplies non-negative numbers, saturating at MaxInt64.
func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// satAdd adds non-negative numbers, saturating at MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
