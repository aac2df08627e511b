package schedule

// DType is the element type of a buffer or the type of a scalar expression.
type DType string

// The types the IR knows. Index arithmetic is Int32; comparisons and logic are Bool.
const (
	Float32 DType = "float32"
	Float64 DType = "float64"
	Int32   DType = "int32"
	Bool    DType = "bool"
)

// IsFloat reports whether values of the type are floating point.
func (t DType) IsFloat() bool { return t == Float32 || t == Float64 }

// Bytes is the storage size of one element of the type.
func (t DType) Bytes() int {
	switch t {
	case Float64:
		return 8
	case Bool:
		return 1
	default:
		return 4
	}
}
