package workloads

import "colt/schedule"

// exprOps counts the floating-point work in one evaluation of an expression: each float
// arithmetic operation (+ - * / min max) and each intrinsic call counts 1; selects,
// comparisons, casts, loads and integer index arithmetic are free.
func exprOps(e schedule.Expr) int64 {
	var n int64
	schedule.WalkExpr(e, func(x schedule.Expr) bool {
		switch x := x.(type) {
		case *schedule.Binary:
			switch x.Op {
			case schedule.Add, schedule.Sub, schedule.Mul, schedule.Div, schedule.Min, schedule.Max:
				if x.Type().IsFloat() {
					n++
				}
			}
		case *schedule.Call:
			n++
		}
		return true
	})
	return n
}

// paramBytes is the total size of a program's parameters: the least memory traffic any
// schedule of it needs (read every input once, write every output once).
func paramBytes(params []*schedule.Buffer) int64 {
	var total int64
	for _, p := range params {
		total = satAdd(total, satMul(p.Elems(), int64(p.DType.Bytes())))
	}
	return total
}
