package schedule

import "math"

// Expr is a scalar expression: integer index arithmetic, floating-point computation or a
// boolean condition. Expressions are immutable values; share them freely.
type Expr interface {
	// Type is the expression's result type.
	Type() DType
	isExpr()
}

// IntImm is an integer constant (index arithmetic).
type IntImm struct{ Value int64 }

// FloatImm is a floating-point constant of the given type.
type FloatImm struct {
	Value float64
	DType DType
}

// Var is an integer variable: a loop variable or a block iterator. Variables are identified by
// pointer; two variables with the same name are different variables.
type Var struct{ Name string }

// BinOp names a binary operator.
type BinOp int

// Binary operators. Div is float division; FloorDiv and FloorMod are integer operators.
const (
	Add BinOp = iota
	Sub
	Mul
	Div
	FloorDiv
	FloorMod
	Min
	Max
	LT
	LE
	GT
	GE
	EQ
	NE
	And
	Or
)

var binOpNames = [...]string{"+", "-", "*", "/", "//", "%", "min", "max", "<", "<=", ">", ">=", "==", "!=", "and", "or"}

// String is the operator's symbol as the printer shows it.
func (op BinOp) String() string {
	if op < 0 || int(op) >= len(binOpNames) {
		return "?"
	}
	return binOpNames[op]
}

// IsCompare reports whether the operator compares its operands and yields a Bool.
func (op BinOp) IsCompare() bool { return op >= LT && op <= NE }

// IsLogic reports whether the operator combines two Bool operands.
func (op BinOp) IsLogic() bool { return op == And || op == Or }

// Binary applies a binary operator to two operands of the same type.
type Binary struct {
	Op   BinOp
	A, B Expr
}

// Not negates a Bool.
type Not struct{ X Expr }

// Intrinsic names an element-wise math function.
type Intrinsic string

// The element-wise functions workloads may use.
const (
	Exp     Intrinsic = "exp"
	Log     Intrinsic = "log"
	Sqrt    Intrinsic = "sqrt"
	Rsqrt   Intrinsic = "rsqrt"
	Tanh    Intrinsic = "tanh"
	Sigmoid Intrinsic = "sigmoid"
	Silu    Intrinsic = "silu"
	Gelu    Intrinsic = "gelu"
	Relu    Intrinsic = "relu"
	Abs     Intrinsic = "abs"
	Erf     Intrinsic = "erf"
)

// Intrinsics lists every intrinsic in a fixed order; each takes one float argument.
func Intrinsics() []Intrinsic {
	return []Intrinsic{Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Silu, Gelu, Relu, Abs, Erf}
}

// Call applies an intrinsic to its arguments.
type Call struct {
	Fn   Intrinsic
	Args []Expr
}

// Load reads one element of a buffer.
type Load struct {
	Buffer  *Buffer
	Indices []Expr
}

// Select is Then when Cond holds and Else otherwise; only the chosen arm is evaluated, so a
// guarded out-of-bounds load in the other arm is never performed.
type Select struct{ Cond, Then, Else Expr }

// Cast converts a value to another type.
type Cast struct {
	To DType
	X  Expr
}

func (*IntImm) isExpr()   {}
func (*FloatImm) isExpr() {}
func (*Var) isExpr()      {}
func (*Binary) isExpr()   {}
func (*Not) isExpr()      {}
func (*Call) isExpr()     {}
func (*Load) isExpr()     {}
func (*Select) isExpr()   {}
func (*Cast) isExpr()     {}

// Type implementations.

func (*IntImm) Type() DType     { return Int32 }
func (e *FloatImm) Type() DType { return e.DType }
func (*Var) Type() DType        { return Int32 }
func (e *Binary) Type() DType {
	if e.Op.IsCompare() || e.Op.IsLogic() {
		return Bool
	}
	return e.A.Type()
}
func (*Not) Type() DType { return Bool }
func (e *Call) Type() DType {
	if len(e.Args) == 0 {
		return Float32
	}
	return e.Args[0].Type()
}
func (e *Load) Type() DType   { return e.Buffer.DType }
func (e *Select) Type() DType { return e.Then.Type() }
func (e *Cast) Type() DType   { return e.To }

// Int returns an integer constant.
func Int(v int64) *IntImm { return &IntImm{Value: v} }

// Float returns a float constant of type t.
func Float(t DType, v float64) *FloatImm { return &FloatImm{Value: v, DType: t} }

// Inf returns positive (sign ≥ 0) or negative infinity of type t.
func Inf(t DType, sign int) *FloatImm { return &FloatImm{Value: math.Inf(sign), DType: t} }

// NewVar returns a fresh variable.
func NewVar(name string) *Var { return &Var{Name: name} }

// Bin builds a binary expression.
func Bin(op BinOp, a, b Expr) *Binary { return &Binary{Op: op, A: a, B: b} }
