package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// CUDAHarness returns a C++ main function to append after f's lowered CUDA translation unit
// (or a hand-written one): the GPU twin of Harness. The unit must define one host launcher
//
//	void NAME(const float* A, ..., float* C)
//
// with NAME = KernelName(f), f's parameters in order, inputs const, element types as
// cType(p.DType, schedule.Float32), every pointer a device pointer; it launches its kernels on
// the default stream and returns without synchronizing. The launcher is assigned to a function
// pointer of exactly that type, so a signature mismatch is a build error, not a wrong run. The
// program is run as
//
//	prog OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]
//
// It fills every input and output buffer on the host exactly as Harness does (splitmix64 of
// SEED and the parameter's index, uniform float32 in [-1, 1)), so the cached double-precision
// CPU reference applies unchanged, copies them to device buffers (cudaMalloc), calls NAME once
// (the checked call, also the warm-up), synchronizes, copies the outputs back and writes them
// to OUTPUT_FILE in Harness's format (f.OutputParams order, raw, native endian; nothing is
// written when OUTPUT_FILE is empty). When REPEAT > 0 it then times the launcher TVM-style
// with CUDA events on the default stream: `number` starts at 1 and grows until one repeat of
// `number` calls lasts at least MIN_REPEAT_MS, and REPEAT repeats are reported as the line
//
//	colt-timing number=N seconds=s1,s2,...
//
// (seconds per call for each repeat). With FLUSH_L2 = 1 (default 0) every call is preceded by
// a cudaMemsetAsync of a buffer twice the device's L2 size, and each call is timed alone by its
// own event pair, so the flush lies outside the timed region; a repeat is then the sum of its
// calls' times and reports their mean.
//
// Exit status: 0 success; 2 usage error or a failed host or device allocation; 3 the output
// file cannot be written; 4 any other CUDA error ("colt harness: CUDA error: <string> (<name>)
// at <what>" on stderr), including errors raised by the launcher's kernels; 5 no CUDA device
// ("colt harness: no CUDA device ..."). A malformed f yields an #error line instead, so the
// build fails with the reason.
func CUDAHarness(f *schedule.Func) string {
	if err := checkIR(f); err != nil {
		return fmt.Sprintf("\n#error \"colt harness: %s\"\n", cStringSafe(err.Error()))
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	kernel := KernelName(f)
	params := f.Params
	ctypes, ptypes, index := harnessParams(f, schedule.Float32)
	outputs := f.OutputParams()
	w("\n/* ---- colt CUDA measurement harness (inputs as harness v%d; appended to the kernel; not part of it) ---- */\n", HarnessVersion)
	w("#include <cuda_runtime.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n")
	if len(ptypes) == 0 {
		w("typedef void (*colt_h_launcher)(void);\n\n")
	} else {
		w("typedef void (*colt_h_launcher)(%s);\n\n", strings.Join(ptypes, ", "))
	}
	w("/* The launcher is called through a volatile pointer of exactly its type: a signature\n")
	w(" * mismatch fails the build, and no call is elided. */\n")
	w("static colt_h_launcher volatile colt_h_fn = %s;\n\n", kernel)
	w("%s", cudaHarnessCommon)
	w("%s", cudaMainPrologue)
	args := make([]string, len(params))
	for i, p := range params {
		args[i] = fmt.Sprintf("d%d", i)
		n := max(p.Elems(), 0)
		name := cStringSafe(p.Name)
		writeHostInput(&b, i, p, ctypes[i]) // the same values as the CPU reference
		w("  %s* d%d = (%s*)colt_h_device_alloc(\"%s\", %dULL * sizeof(%s));\n", ctypes[i], i, ctypes[i], name, n, ctypes[i])
		w("  colt_h_check(cudaMemcpy(d%d, p%d, %dULL * sizeof(%s), cudaMemcpyHostToDevice), \"cudaMemcpy of %s to the device\");\n",
			i, i, n, ctypes[i], name)
	}
	call := "colt_h_fn(" + strings.Join(args, ", ") + ");"
	w("  %s /* the checked call, also the warm-up */\n", call)
	w("  colt_h_check(cudaGetLastError(), \"the launch of %s (checked call)\");\n", kernel)
	w("  colt_h_check(cudaDeviceSynchronize(), \"the run of %s (checked call)\");\n", kernel)
	for _, o := range outputs {
		i := index[o]
		n := max(o.Elems(), 0)
		w("  colt_h_check(cudaMemcpy(p%d, d%d, %dULL * sizeof(%s), cudaMemcpyDeviceToHost), \"cudaMemcpy of output %s to the host\");\n",
			i, i, n, ctypes[i], cStringSafe(o.Name))
	}
	writeOutputFile(&b, outputs, index, ctypes)
	w("%s", cudaTimedTail(call, "the launcher "+kernel))
	return b.String()
}

// cudaHarnessCommon is the part of the CUDA harness (and of CublasSource) that does not depend
// on the function: the shared input helpers (harnessInputHelpers), error checks and the event
// timer.
const cudaHarnessCommon = harnessInputHelpers + `/* Every CUDA call goes through colt_h_check: an error ends the program with status 4. */
static void colt_h_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    fprintf(stderr, "colt harness: CUDA error: %s (%s) at %s\n", cudaGetErrorString(e), cudaGetErrorName(e), what);
    exit(4);
  }
}

/* Status 5 when there is no usable device (no GPU, no driver, or none visible). */
static void colt_h_init_device(void) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count <= 0) {
    if (e != cudaSuccess) {
      fprintf(stderr, "colt harness: no CUDA device (%s: %s)\n", cudaGetErrorName(e), cudaGetErrorString(e));
    } else {
      fprintf(stderr, "colt harness: no CUDA device\n");
    }
    exit(5);
  }
  colt_h_check(cudaSetDevice(0), "cudaSetDevice(0)");
}

/* Device memory; status 2 when it runs out, like a failed host allocation. */
static void* colt_h_device_alloc(const char* name, size_t bytes) {
  void* p = NULL;
  cudaError_t e = cudaMalloc(&p, bytes < 256 ? 256 : bytes);
  if (e == cudaErrorMemoryAllocation) {
    fprintf(stderr, "colt harness: cannot allocate %zu bytes of device memory for buffer %s\n", bytes, name);
    exit(2);
  }
  colt_h_check(e, "cudaMalloc");
  return p;
}

#define COLT_H_PAIRS 256

/* Event pairs and, with FLUSH_L2, the buffer whose writes evict the L2 cache. */
typedef struct {
  int flush;
  void* flush_buf;
  size_t flush_bytes;
  cudaEvent_t start[COLT_H_PAIRS];
  cudaEvent_t stop[COLT_H_PAIRS];
} colt_h_timer;

static void colt_h_timer_init(colt_h_timer* t, int flush) {
  t->flush = flush;
  t->flush_buf = NULL;
  t->flush_bytes = 0;
  const int pairs = flush ? COLT_H_PAIRS : 1;
  for (int i = 0; i < pairs; ++i) {
    colt_h_check(cudaEventCreate(&t->start[i]), "cudaEventCreate");
    colt_h_check(cudaEventCreate(&t->stop[i]), "cudaEventCreate");
  }
  if (flush) {
    int l2 = 0;
    colt_h_check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "cudaDeviceGetAttribute(cudaDevAttrL2CacheSize)");
    t->flush_bytes = l2 > 0 ? 2 * (size_t)l2 : (size_t)64 << 20;
    t->flush_buf = colt_h_device_alloc("L2 flush", t->flush_bytes);
  }
}

/* Overwrite the flush buffer (a different byte each call) before call n. */
static void colt_h_flush(colt_h_timer* t, long long n) {
  colt_h_check(cudaMemsetAsync(t->flush_buf, (int)(n & 0x7F) + 1, t->flush_bytes, 0), "cudaMemsetAsync (L2 flush)");
}

`

// cudaMainPrologue opens main: the arguments of CUDAHarness and CublasSource and the device check.
const cudaMainPrologue = `int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]\n", argv[0]);
    return 2;
  }
  const char* out_path = argv[1];
  const uint64_t seed = strtoull(argv[2], NULL, 10);
  const int repeat = atoi(argv[3]);
  const double min_repeat_s = atof(argv[4]) / 1e3;
  const int flush_l2 = argc > 5 && atoi(argv[5]) != 0;
  colt_h_init_device();
`

// cudaTimedTail closes main: when repeat > 0 it times call (one complete C statement) with the
// TVM protocol and CUDA events, as CUDAHarness documents, and prints the colt-timing line.
// what names the timed code in error messages.
func cudaTimedTail(call, what string) string {
	return fmt.Sprintf(`  if (repeat <= 0) return 0;
  double* seconds = (double*)colt_h_alloc("timings", (size_t)repeat * sizeof(double));
  colt_h_timer tm;
  colt_h_timer_init(&tm, flush_l2);
  long long number = 1;
  for (int r = 0; r < repeat; ++r) {
    for (;;) {
      double dt = 0;
      if (!tm.flush) {
        colt_h_check(cudaEventRecord(tm.start[0], 0), "cudaEventRecord");
        for (long long n = 0; n < number; ++n) %[1]s
        colt_h_check(cudaEventRecord(tm.stop[0], 0), "cudaEventRecord");
        colt_h_check(cudaGetLastError(), "a timed launch of %[2]s");
        colt_h_check(cudaEventSynchronize(tm.stop[0]), "the timed runs of %[2]s");
        float ms = 0;
        colt_h_check(cudaEventElapsedTime(&ms, tm.start[0], tm.stop[0]), "cudaEventElapsedTime");
        dt = (double)ms / 1e3;
      } else {
        /* One event pair per call, COLT_H_PAIRS calls in flight between synchronizations. */
        for (long long n0 = 0; n0 < number; n0 += COLT_H_PAIRS) {
          const int chunk = (int)(number - n0 < COLT_H_PAIRS ? number - n0 : COLT_H_PAIRS);
          for (int c = 0; c < chunk; ++c) {
            colt_h_flush(&tm, n0 + c);
            colt_h_check(cudaEventRecord(tm.start[c], 0), "cudaEventRecord");
            %[1]s
            colt_h_check(cudaEventRecord(tm.stop[c], 0), "cudaEventRecord");
          }
          colt_h_check(cudaGetLastError(), "a timed launch of %[2]s");
          colt_h_check(cudaEventSynchronize(tm.stop[chunk - 1]), "the timed runs of %[2]s");
          for (int c = 0; c < chunk; ++c) {
            float ms = 0;
            colt_h_check(cudaEventElapsedTime(&ms, tm.start[c], tm.stop[c]), "cudaEventElapsedTime");
            dt += (double)ms / 1e3;
          }
        }
      }
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
`, call, cStringSafe(what))
}
