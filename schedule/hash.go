package schedule

import (
	"crypto/sha256"
	"encoding/hex"
)

// StructuralHash identifies a program by its structure alone: two programs that differ only in
// the names of their function, blocks, variables or buffers hash equal. Search uses it to avoid
// measuring the same program twice. The result is 32 hex digits.
func StructuralHash(f *Func) string {
	p := newPrinter(true)
	p.function(f)
	sum := sha256.Sum256([]byte(p.sb.String()))
	return hex.EncodeToString(sum[:16])
}
