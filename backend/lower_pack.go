package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// PackFunctionName is the C function LowerC emits to pack a constant input into the layout
// the kernel reads (see schedule.Packing): KERNEL_pack_NAME(const float* src, float* dst).
func PackFunctionName(f *schedule.Func, p *schedule.Packing) string {
	return KernelName(f) + "_pack_" + cIdent(p.Original.Name)
}

// packFunctions is the C of the packing functions of f's packed inputs, one per packing: they
// run once, before the kernel's calls, never inside the timed region.
func (l *cLowerer) packFunctions() string {
	var b strings.Builder
	for _, p := range l.f.Packings {
		ct, _ := cType(p.Original.DType, l.prec)
		shape := p.Original.Shape
		last := shape[len(shape)-1]
		rows := int64(1)
		for _, d := range shape[:len(shape)-1] {
			rows *= int64(d)
		}
		fmt.Fprintf(&b, "\n/* Packs the constant input %s%s into the layout the kernel reads, %s%s:\n",
			commentSafe(p.Original.Name), shapeText(shape), commentSafe(p.Packed.Name), shapeText(p.Packed.Shape))
		fmt.Fprintf(&b, " * %s. Call it once, before the kernel. */\n", commentSafe(p.Layout()))
		fmt.Fprintf(&b, "void %s(const %s* restrict src, %s* restrict dst) {\n", PackFunctionName(l.f, p), ct, ct)
		b.WriteString("  #pragma omp parallel for\n")
		fmt.Fprintf(&b, "  for (int64_t r = 0; r < %dLL; ++r) {\n", rows)
		fmt.Fprintf(&b, "    for (int64_t n = 0; n < %dLL; ++n) {\n", last)
		fmt.Fprintf(&b, "      dst[((n / %d) * %dLL + r) * %d + n %% %d] = src[r * %dLL + n];\n", p.Factor, rows, p.Factor, p.Factor, last)
		b.WriteString("    }\n  }\n}\n")
	}
	return b.String()
}
