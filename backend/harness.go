package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// HarnessVersion changes whenever the harness's inputs or output format change; it is part of
// the reference cache key, so old cached references are not reused with a new harness.
const HarnessVersion = 1

// Harness returns a C main function to append after f's kernel (as LowerC emits it, or a
// hand-written kernel with the same signature). The program is run as
//
//	prog OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS
//
// It allocates every parameter (aligned_alloc, 64-byte alignment) and fills every input and
// output buffer with uniform float32 values in [-1, 1) from splitmix64 seeded with SEED and the
// parameter's index (with precision Float64 the same float32 values are converted to double, so
// candidate and reference see identical inputs). It calls the kernel once, writes every output
// buffer (f.OutputParams order, raw, native endian, each element in its C type for the
// precision) to OUTPUT_FILE, then, when REPEAT > 0, times it TVM-style: the first call was the
// warm-up; `number` starts at 1 and grows until one repeat of `number` calls lasts at least
// MIN_REPEAT_MS; REPEAT repeats are timed with CLOCK_MONOTONIC and reported as the line
//
//	colt-timing number=N seconds=s1,s2,...
//
// (seconds per call for each repeat). It exits with status 2 and a message on stderr when an
// allocation fails, 3 when the output file cannot be written.
func Harness(f *schedule.Func, precision schedule.DType) string {
	if precision != schedule.Float64 {
		precision = schedule.Float32
	}
	if err := checkIR(f); err != nil {
		// Fail the build with the reason rather than panic on a malformed program.
		return fmt.Sprintf("\n#error \"colt harness: %s\"\n", cStringSafe(err.Error()))
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	kernel := KernelName(f)
	params := f.Params
	ctypes, ptypes, index := harnessParams(f, precision)
	outputs := f.OutputParams()
	w("\n/* ---- colt measurement harness v%d (appended to the kernel; not part of it) ---- */\n", HarnessVersion)
	w("#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n\n")
	if len(ptypes) == 0 {
		w("typedef void (*colt_h_kernel)(void);\n\n")
	} else {
		w("typedef void (*colt_h_kernel)(%s);\n\n", strings.Join(ptypes, ", "))
	}
	w("/* The kernel is called through a volatile pointer, so it is never inlined into the timing\n")
	w(" * loop nor elided as dead code. */\n")
	w("static colt_h_kernel volatile colt_h_fn = (colt_h_kernel)%s;\n\n", kernel)
	b.WriteString(harnessInputHelpers)
	w(`static double colt_h_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %%s OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS\n", argv[0]);
    return 2;
  }
  const char* out_path = argv[1];
  const uint64_t seed = strtoull(argv[2], NULL, 10);
  const int repeat = atoi(argv[3]);
  const double min_repeat_s = atof(argv[4]) / 1e3;
`)
	args := make([]string, len(params))
	for i, p := range params {
		args[i] = fmt.Sprintf("p%d", i)
		if pk := f.PackingOf(p); pk != nil {
			// The input as declared, with the values every harness gives it, packed once.
			writeHostInput(&b, i, pk.Original, ctypes[i])
			args[i] = fmt.Sprintf("p%d_packed", i)
			w("  %s* %s = (%s*)colt_h_alloc(\"%s\", %dULL * sizeof(%s));\n", ctypes[i], args[i], ctypes[i], cStringSafe(p.Name), p.Elems(), ctypes[i])
			w("  %s(p%d, %s); /* packed once, outside the timed calls */\n", PackFunctionName(f, pk), i, args[i])
			continue
		}
		writeHostInput(&b, i, p, ctypes[i])
	}
	call := "colt_h_fn(" + strings.Join(args, ", ") + ");"
	w("  %s /* the checked call, also the warm-up */\n", call)
	writeOutputFile(&b, outputs, index, ctypes)
	w(`  if (repeat <= 0) return 0;
  double* seconds = (double*)colt_h_alloc("timings", (size_t)repeat * sizeof(double));
  long long number = 1;
  for (int r = 0; r < repeat; ++r) {
    for (;;) {
      const double t0 = colt_h_now();
      for (long long n = 0; n < number; ++n) %s
      const double dt = colt_h_now() - t0;
      if (dt >= min_repeat_s || number >= (1LL << 40)) {
        seconds[r] = dt / (double)number;
        break;
      }
      /* Grow number: proportionally once dt is measurable, else 16x; always at least +1. */
      long long next = dt > 1e-4 ? (long long)((double)number * (min_repeat_s / dt) * 1.1) : number * 16;
      number = next > number ? next : number + 1;
    }
  }
  printf("colt-timing number=%%lld seconds=", number);
  for (int r = 0; r < repeat; ++r) printf(r ? ",%%.9e" : "%%.9e", seconds[r]);
  printf("\n");
  fflush(stdout);
  return 0;
}
`, call)
	return b.String()
}

// cStringSafe keeps a name from breaking out of a C string literal.
func cStringSafe(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ").Replace(s)
}

// harnessInputHelpers are the harness functions every measurement program shares (the C
// harness, the CUDA harness and the cuBLAS program): splitmix64, the uniform input values and
// the checked aligned allocation. Sharing them keeps every program's inputs identical, so one
// cached reference checks them all.
const harnessInputHelpers = `/* splitmix64 */
static uint64_t colt_h_next(uint64_t* s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Uniform float32 in [-1, 1) with 24 random bits: exactly representable. */
static float colt_h_uniform(uint64_t* s) {
  return (float)((int32_t)(colt_h_next(s) >> 40) - 8388608) * (1.0f / 8388608.0f);
}

static void* colt_h_alloc(const char* name, size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = aligned_alloc(64, rounded ? rounded : 64);
  if (p == NULL) {
    fprintf(stderr, "colt harness: cannot allocate %zu bytes for buffer %s\n", bytes, name);
    exit(2);
  }
  return p;
}

`

// harnessParams are the C element and pointer types of f's parameters, inputs const, and each
// parameter's position, as every harness declares them.
func harnessParams(f *schedule.Func, precision schedule.DType) (ctypes, ptypes []string, index map[*schedule.Buffer]int) {
	inputs := map[*schedule.Buffer]bool{}
	for _, p := range f.InputParams() {
		inputs[p] = true
	}
	index = map[*schedule.Buffer]int{}
	ctypes = make([]string, len(f.Params))
	ptypes = make([]string, len(f.Params))
	for i, p := range f.Params {
		index[p] = i
		ct, ok := cType(p.DType, precision)
		if !ok {
			ct = "float"
		}
		ctypes[i] = ct
		ptypes[i] = ct + "*"
		if inputs[p] {
			ptypes[i] = "const " + ct + "*"
		}
	}
	return ctypes, ptypes, index
}

// writeHostInput declares parameter i of a harness in host memory and fills it with the seeded
// values every harness uses (so one cached reference checks them all).
func writeHostInput(b *strings.Builder, i int, p *schedule.Buffer, ctype string) {
	n := max(p.Elems(), 0)
	fmt.Fprintf(b, "  %s* p%d = (%s*)colt_h_alloc(\"%s\", %dULL * sizeof(%s)); /* %s%s */\n",
		ctype, i, ctype, cStringSafe(p.Name), n, ctype, p.DType, shapeText(p.Shape))
	fmt.Fprintf(b, "  { uint64_t s = seed ^ (0xD1B54A32D192ED03ULL * %dULL); for (uint64_t i = 0; i < %dULL; ++i) p%d[i] = (%s)colt_h_uniform(&s); }\n",
		i+1, n, i, ctype)
}

// writeOutputFile writes the harness code that saves the host copies of the outputs to
// OUTPUT_FILE (raw, in order), exiting with status 3 when it cannot.
func writeOutputFile(b *strings.Builder, outputs []*schedule.Buffer, index map[*schedule.Buffer]int, ctypes []string) {
	b.WriteString(`  if (out_path[0] != '\0') {
    FILE* out = fopen(out_path, "wb");
    if (out == NULL) {
      perror("colt harness: cannot open the output file");
      return 3;
    }
`)
	for _, o := range outputs {
		i := index[o]
		n := max(o.Elems(), 0)
		fmt.Fprintf(b, "    if (fwrite(p%d, sizeof(%s), %dULL, out) != %dULL) { perror(\"colt harness: cannot write output %s\"); return 3; }\n",
			i, ctypes[i], n, n, cStringSafe(o.Name))
	}
	b.WriteString(`    if (fclose(out) != 0) {
      perror("colt harness: cannot write the output file");
      return 3;
    }
  }
`)
}
