package backend

import (
	"strconv"
	"strings"

	"colt/schedule"
)

// cReserved are identifiers generated C must not redefine: C keywords, the standard names the
// kernel and the harness use, and main.
var cReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`auto break case char const continue default do double else enum
		extern float for goto if inline int long register restrict return short signed sizeof static
		struct switch typedef union unsigned void volatile while _Bool _Complex _Imaginary _Alignas
		_Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local bool true false asm typeof
		main int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t ptrdiff_t NULL
		exp expf log logf sqrt sqrtf tanh tanhf erf erff fabs fabsf fmax fmaxf fmin fminf
		INFINITY NAN HUGE_VAL errno FILE stdin stdout stderr printf fprintf perror fopen fwrite
		fclose fflush aligned_alloc malloc calloc free exit abort atoi atof strtoull clock_gettime
		timespec CLOCK_MONOTONIC memcpy memset`) {
		m[w] = true
	}
	return m
}()

// cIdent turns an IR name into a valid C identifier: invalid characters become '_', a leading
// digit gets an "x_" prefix, and names in the colt_ namespace (used by generated helpers) or
// in the implementation's reserved namespace get a "u" prefix.
func cIdent(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteString("x_")
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "x"
	}
	if strings.HasPrefix(s, "colt_") || strings.HasPrefix(s, "__") ||
		(len(s) > 1 && s[0] == '_' && s[1] >= 'A' && s[1] <= 'Z') {
		s = "u" + s
	}
	return s
}

// KernelName is the C function name of f's kernel: f.Name made a valid C identifier that
// clashes with no C keyword or standard name ("kernel" when f.Name is empty).
func KernelName(f *schedule.Func) string {
	name := "kernel"
	if f != nil && f.Name != "" {
		name = cIdent(f.Name)
	}
	if cReserved[name] {
		name += "_kernel"
	}
	return name
}

// nameTable hands out C identifiers for IR objects (buffers and variables, identified by
// pointer) that are unique among the names in scope: two nested IR variables named "i" become
// i and i_1, while sibling loop nests may both use i. Nothing is ever shadowed.
type nameTable struct {
	byObj map[any]string
	used  map[string]bool
}

func newNameTable(reserved ...string) *nameTable {
	t := &nameTable{byObj: map[any]string{}, used: map[string]bool{}}
	for _, r := range reserved {
		t.used[r] = true
	}
	return t
}

// name returns obj's identifier, assigning one derived from base on first use.
func (t *nameTable) name(obj any, base string) string {
	if n, ok := t.byObj[obj]; ok {
		return n
	}
	base = cIdent(base)
	n := base
	for i := 1; cReserved[n] || t.used[n]; i++ {
		n = base + "_" + strconv.Itoa(i)
	}
	t.used[n] = true
	t.byObj[obj] = n
	return n
}

// release frees obj's identifier when its scope ends, so sibling scopes can reuse it.
func (t *nameTable) release(obj any) {
	if n, ok := t.byObj[obj]; ok {
		delete(t.used, n)
		delete(t.byObj, obj)
	}
}

// lookup returns obj's identifier if it has one.
func (t *nameTable) lookup(obj any) (string, bool) {
	n, ok := t.byObj[obj]
	return n, ok
}

// cType is the C element type of an IR type in the given precision: with Float64 precision
// every float becomes double (the reference); otherwise each type keeps its own width.
func cType(t schedule.DType, precision schedule.DType) (string, bool) {
	switch t {
	case schedule.Float32:
		if precision == schedule.Float64 {
			return "double", true
		}
		return "float", true
	case schedule.Float64:
		return "double", true
	case schedule.Int32:
		return "int32_t", true
	case schedule.Bool:
		return "uint8_t", true
	}
	return "", false
}

// elemBytes is the size of one element of a buffer of type t stored in the given precision.
func elemBytes(t schedule.DType, precision schedule.DType) int {
	if t == schedule.Float32 && precision == schedule.Float64 {
		return 8
	}
	return t.Bytes()
}

// commentSafe keeps user-chosen names from closing a C comment early.
func commentSafe(s string) string {
	return strings.NewReplacer("*/", "* /", "/*", "/ *", "\n", " ").Replace(s)
}
