package schedule

// Scope is where a buffer lives: main memory, a thread's registers/stack, or GPU shared memory.
type Scope string

// The storage scopes a buffer may have.
const (
	Global Scope = "global"
	Local  Scope = "local"
	Shared Scope = "shared"
)

// Buffer is a dense row-major array: a function parameter or an intermediate allocated in a
// block. Buffers are identified by pointer; the name is for printing only.
type Buffer struct {
	Name  string
	Shape []int
	DType DType
	Scope Scope
	// Constant marks an input whose values are the same on every call (a layer's weights): a
	// schedule may store it in another layout, packed once before the calls (PackPanels).
	Constant bool
}

// NewBuffer returns a global-scope buffer.
func NewBuffer(name string, dtype DType, shape ...int) *Buffer {
	return &Buffer{Name: name, Shape: append([]int(nil), shape...), DType: dtype, Scope: Global}
}

// Elems is the number of elements in the buffer.
func (b *Buffer) Elems() int64 {
	n := int64(1)
	for _, d := range b.Shape {
		n *= int64(d)
	}
	return n
}

// Bytes is the buffer's size in bytes.
func (b *Buffer) Bytes() int64 { return b.Elems() * int64(b.DType.Bytes()) }
