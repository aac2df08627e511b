package backend

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"colt/schedule"
)

// This file builds the CPU vendor references: the unscheduled program lowered to C as usual,
// except that each loop nest of a recognised block (vendor_blocks.go) becomes calls of oneDNN or
// OpenBLAS, built with the candidates' compiler and flags and the candidates' harness, so the
// inputs, timing protocol and check against the reference are a candidate's.

// cpuLibrary is a CPU vendor library: how the generated C includes and links it, what it can
// compute and how a run of it is configured.
type cpuLibrary struct {
	name    string   // "oneDNN", "OpenBLAS"
	headers []string // #include <...> lines, in order
	link    []string // extra flags after the source (the library)
	symbol  string   // prefix of its C symbols, to recognise an undefined reference
	pkg     string   // the Debian package that installs it
	conv    bool     // it computes convolutions (OpenBLAS has none)
}

// defaultCPULibraries are the CPU vendor libraries in preference order.
func defaultCPULibraries() []cpuLibrary {
	return []cpuLibrary{
		{name: "oneDNN", headers: []string{"dnnl.h", "dnnl_debug.h"}, link: []string{"-ldnnl"}, symbol: "dnnl_", pkg: "libdnnl-dev", conv: true},
		// Debian installs cblas.h in /usr/include/x86_64-linux-gnu through an alternatives link,
		// which is on the compiler's default include path.
		{name: "OpenBLAS", headers: []string{"cblas.h"}, link: []string{"-lopenblas"}, symbol: "cblas_", pkg: "libopenblas-dev"},
	}
}

// cpuLibraries are the Backend's CPU vendor libraries: the defaults unless a test replaced them.
func (b *Backend) cpuLibraries() []cpuLibrary {
	if b.cpuLibs != nil {
		return b.cpuLibs
	}
	return defaultCPULibraries()
}

// missingMessage is the one-line message of a build that failed because the library is not
// installed, such as "oneDNN not installed: apt-get install libdnnl-dev", or "" for any other
// failure. Not installed means: the compiler cannot find one of its headers, the linker cannot
// find its -l library, or its symbols are undefined (a header of another implementation).
func (lib cpuLibrary) missingMessage(be *BuildError) string {
	if be == nil {
		return ""
	}
	for _, line := range be.Stderr {
		missing := false
		for _, h := range lib.headers {
			if strings.Contains(line, h+": No such file or directory") || strings.Contains(line, "'"+h+"' file not found") {
				missing = true
			}
		}
		for _, l := range lib.link {
			if strings.HasPrefix(l, "-l") && strings.Contains(line, "cannot find "+l) {
				missing = true
			}
		}
		if lib.symbol != "" && strings.Contains(line, "undefined reference to `"+lib.symbol) {
			missing = true
		}
		if missing {
			return fmt.Sprintf("%s not installed: apt-get install %s", lib.name, lib.pkg)
		}
	}
	return ""
}

// runEnv is the environment a run of the library needs beyond OMP_NUM_THREADS (which every run
// gets): OpenBLAS takes its thread count from OPENBLAS_NUM_THREADS and, since its runtime
// detection picks a much slower kernel on some machines (5× on an AVX-512 Xeon), its kernel from
// OPENBLAS_CORETYPE, set from the target's vector extension (SkylakeX for AVX-512, Haswell for
// AVX2; left to OpenBLAS otherwise).
func (lib cpuLibrary) runEnv(t Target, threads int) []string {
	if lib.name != "OpenBLAS" {
		return nil
	}
	env := []string{"OPENBLAS_NUM_THREADS=" + strconv.Itoa(max(threads, 1))}
	if t.Arch == "amd64" || t.Arch == "" {
		switch t.SIMD {
		case "avx512":
			env = append(env, "OPENBLAS_CORETYPE=SkylakeX")
		case "avx2":
			env = append(env, "OPENBLAS_CORETYPE=Haswell")
		}
	}
	return env
}

// vendorNest is one loop nest of a recognised block: a matmul or a convolution.
type vendorNest struct {
	block  *schedule.Block
	matmul MatmulSpec // when conv is nil
	conv   *convSpec
}

// cpuPlan is what a CPU vendor reference replaces in a function: its recognised nests.
type cpuPlan struct {
	nests map[*schedule.Loop]vendorNest
	convs int
}

// planCPUVendor finds the loop nests at the top of f's root body (where an unscheduled program
// puts every block) whose block is a matmul or a 2-D convolution of buffers that are parameters
// or intermediates of the root block. Everything else stays plain C.
func planCPUVendor(f *schedule.Func) cpuPlan {
	plan := cpuPlan{nests: map[*schedule.Loop]vendorNest{}}
	if checkIR(f) != nil {
		return plan
	}
	root := map[*schedule.Buffer]bool{}
	for _, p := range f.Params {
		root[p] = true
	}
	for _, a := range f.Root.Allocs {
		root[a] = true
	}
	var visit func(s schedule.Stmt, depth int)
	visit = func(s schedule.Stmt, depth int) {
		switch s := s.(type) {
		case *schedule.Seq:
			if s == nil || depth > 64 {
				return
			}
			for _, c := range s.Stmts {
				visit(c, depth+1)
			}
		case *schedule.Loop:
			blk, ok := nestBlock(s)
			if !ok {
				return
			}
			if m, ok := blockMatmul(blk); ok && root[m.A] && root[m.B] && root[m.C] {
				plan.nests[s] = vendorNest{block: blk, matmul: m}
			} else if c, ok := blockConv(blk); ok && root[c.X] && root[c.Wt] && root[c.Y] {
				plan.nests[s] = vendorNest{block: blk, conv: &c}
				plan.convs++
			}
		}
	}
	visit(f.Root.Body, 0)
	return plan
}

// cpuVendorLibraries are the libraries of libs that can compute f's recognised blocks, in
// order: none when f has no matmul or convolution block (or does not lower to C), only those
// with convolutions when it has a convolution block.
func cpuVendorLibraries(f *schedule.Func, libs []cpuLibrary) []string {
	plan := planCPUVendor(f)
	if len(plan.nests) == 0 || len(libs) == 0 {
		return nil
	}
	if _, err := cpuVendorSource(f, plan, libs[0], nil); err != nil {
		return nil
	}
	var out []string
	for _, lib := range libs {
		if plan.convs == 0 || lib.conv {
			out = append(out, lib.name)
		}
	}
	return out
}

// cpuVendorSource is the C kernel of f computed with lib: LowerC's translation unit with each
// recognised nest replaced by the library's calls. inputs are f's input parameters (nil: asked
// of f).
func cpuVendorSource(f *schedule.Func, plan cpuPlan, lib cpuLibrary, inputs []*schedule.Buffer) (string, error) {
	if inputs == nil && f != nil && f.Root != nil {
		inputs = f.InputParams()
	}
	h := &cpuVendorHook{lib: lib, plan: plan, inputs: map[*schedule.Buffer]bool{}}
	for _, p := range inputs {
		h.inputs[p] = true
	}
	src, err := lowerCWith(f, LowerOptions{Precision: schedule.Float32}, h)
	if err != nil {
		return "", fmt.Errorf("%s reference: %w", lib.name, err)
	}
	if h.replaced == 0 {
		return "", fmt.Errorf("%s reference of %s: no block is computed by the library", lib.name, f.Name)
	}
	return src, nil
}

// measureCPUVendor builds lib's reference of f and runs it like a candidate.
func (b *Backend) measureCPUVendor(ctx context.Context, f *schedule.Func, lib cpuLibrary, ref *Reference, timeout time.Duration) Result {
	return b.RunBatch(ctx, []Built{b.buildCPUVendor(ctx, f, lib, timeout)}, ref)[0]
}

// buildCPUVendor builds lib's reference of f with the candidates' compiler, flags and harness,
// ready for RunBatch with the library's environment. A build that fails because the library
// is not installed says so in one line.
func (b *Backend) buildCPUVendor(ctx context.Context, f *schedule.Func, lib cpuLibrary, timeout time.Duration) Built {
	src, err := cpuVendorSource(f, planCPUVendor(f), lib, nil)
	if err != nil {
		return Built{Func: f, failed: &Result{Status: StatusInvalid, Message: oneLine(err.Error())}}
	}
	b.phase.RLock()
	r := b.builder.BuildWith(ctx, src+Harness(f, schedule.Float32), lib.link)
	b.phase.RUnlock()
	built := Built{Func: f, Source: src, Binary: r.Binary, BuildS: r.Seconds, Cached: r.Cached, runTimeout: timeout,
		env: lib.runEnv(b.target, b.threads())}
	if r.Err != nil {
		res := &Result{Status: StatusBuildError, Message: oneLine(r.Err.Error()), BuildS: r.Seconds, Source: src}
		if be, isBuild := r.Err.(*BuildError); isBuild {
			res.Detail = be.Detail()
			if msg := lib.missingMessage(be); msg != "" {
				res.Message = msg
			}
		}
		built.failed = res
	}
	return built
}

// cpuVendorHook replaces the recognised nests while f is lowered (a nestHook).
type cpuVendorHook struct {
	lib      cpuLibrary
	plan     cpuPlan
	inputs   map[*schedule.Buffer]bool
	replaced int
	convs    int
	notes    []string        // header lines, one per replaced block
	funcs    strings.Builder // file-scope functions of the convolutions
}

func (h *cpuVendorHook) nest(s *schedule.Loop, name func(*schedule.Buffer) (string, bool)) ([]string, bool, error) {
	vn, ok := h.plan.nests[s]
	if !ok {
		return nil, false, nil
	}
	var lines []string
	var err error
	if vn.conv != nil {
		lines, err = h.convLines(vn, name)
	} else {
		lines, err = h.gemmLines(vn, name)
	}
	if err != nil {
		return nil, false, err
	}
	h.replaced++
	return lines, true, nil
}

// names are the C identifiers of buffers, in order.
func names(name func(*schedule.Buffer) (string, bool), bufs ...*schedule.Buffer) ([]string, error) {
	out := make([]string, len(bufs))
	for i, b := range bufs {
		n, ok := name(b)
		if !ok {
			return nil, fmt.Errorf("buffer %s has no C name here", bufName(b))
		}
		out[i] = n
	}
	return out, nil
}

// rowMajorGemm is a matmul as row-major SGEMM calls: one call, or one per batch element with the
// operands advanced by their strides (0 for an operand the batch shares).
type rowMajorGemm struct {
	transA, transB            bool
	m, n, k, lda, ldb, ldc    int
	batch                     int
	strideA, strideB, strideC int64
}

// rowMajorGemmFor maps a matmul to row-major SGEMM calls. A batch is folded into the rows of one call
// when A is batched and stored [i, k] and B is shared (rows [b, i] are then contiguous in A and
// C), as frameworks do.
func rowMajorGemmFor(s MatmulSpec) rowMajorGemm {
	g := rowMajorGemm{transA: s.TransA, transB: s.TransB, m: s.M, n: s.N, k: s.K, lda: s.K, ldb: s.N, ldc: s.N, batch: 1}
	if s.TransA {
		g.lda = s.M
	}
	if s.TransB {
		g.ldb = s.K
	}
	switch {
	case s.Batch <= 1:
	case s.BatchedA && !s.TransA && !s.BatchedB && int64(s.Batch)*int64(s.M) <= math.MaxInt32:
		g.m = s.M * s.Batch
	default:
		g.batch = s.Batch
		g.strideC = int64(s.M) * int64(s.N)
		if s.BatchedA {
			g.strideA = int64(s.M) * int64(s.K)
		}
		if s.BatchedB {
			g.strideB = int64(s.K) * int64(s.N)
		}
	}
	return g
}

// matmulText describes a matmul for comments: "G[1, 16, 16] = X[1, 16, 10] · Wg[10, 16]".
func matmulText(s MatmulSpec) string {
	t := func(b *schedule.Buffer, trans bool) string {
		out := b.Name + shapeText(b.Shape)
		if trans {
			out += "ᵀ"
		}
		return out
	}
	return fmt.Sprintf("%s = %s · %s", t(s.C, false), t(s.A, s.TransA), t(s.B, s.TransB))
}

func (h *cpuVendorHook) gemmLines(vn vendorNest, name func(*schedule.Buffer) (string, bool)) ([]string, error) {
	s := vn.matmul
	ns, err := names(name, s.A, s.B, s.C)
	if err != nil {
		return nil, err
	}
	g := rowMajorGemmFor(s)
	a, bb, c := ns[0], ns[1], ns[2]
	calls := "one call"
	if g.batch > 1 {
		calls = fmt.Sprintf("%d calls", g.batch)
		a, bb, c = offset(a, g.strideA), offset(bb, g.strideB), offset(c, g.strideC)
	}
	what := fmt.Sprintf("block %s", commentSafe(vn.block.Name))
	var call string
	switch h.lib.name {
	case "OpenBLAS":
		tr := func(t bool) string {
			if t {
				return "CblasTrans"
			}
			return "CblasNoTrans"
		}
		call = fmt.Sprintf("cblas_sgemm(CblasRowMajor, %s, %s, %d, %d, %d, 1.0f, %s, %d, %s, %d, 0.0f, %s, %d);",
			tr(g.transA), tr(g.transB), g.m, g.n, g.k, a, g.lda, bb, g.ldb, c, g.ldc)
		h.notes = append(h.notes, fmt.Sprintf("  %s: cblas_sgemm (row-major), %s, %s", what, calls, matmulText(s)))
	default:
		tr := func(t bool) string {
			if t {
				return "'T'"
			}
			return "'N'"
		}
		call = fmt.Sprintf("colt_dnnl_check(dnnl_sgemm(%s, %s, %d, %d, %d, 1.0f, %s, %d, %s, %d, 0.0f, %s, %d), \"dnnl_sgemm\", \"%s\");",
			tr(g.transA), tr(g.transB), g.m, g.n, g.k, a, g.lda, bb, g.ldb, c, g.ldc, cStringSafe(what))
		h.notes = append(h.notes, fmt.Sprintf("  %s: dnnl_sgemm (row-major), %s, %s", what, calls, matmulText(s)))
	}
	lines := []string{fmt.Sprintf("/* %s (%s): %s */", what, h.lib.name, commentSafe(matmulText(s)))}
	if g.batch > 1 {
		return append(lines, fmt.Sprintf("for (int64_t colt_v = 0; colt_v < %d; ++colt_v) {", g.batch), "  "+call, "}"), nil
	}
	return append(lines, call), nil
}

// offset is "p + colt_v * stride", or p when the operand is shared (stride 0).
func offset(p string, stride int64) string {
	if stride == 0 {
		return p
	}
	return fmt.Sprintf("%s + colt_v * %dLL", p, stride)
}

func (h *cpuVendorHook) convLines(vn vendorNest, name func(*schedule.Buffer) (string, bool)) ([]string, error) {
	c := *vn.conv
	if !h.lib.conv {
		return nil, fmt.Errorf("%s has no convolution (block %s)", h.lib.name, vn.block.Name)
	}
	ns, err := names(name, c.X, c.Wt, c.Y)
	if err != nil {
		return nil, err
	}
	id := h.convs
	h.convs++
	what := "block " + commentSafe(vn.block.Name)
	desc := fmt.Sprintf("%s%s = conv(%s%s, %s%s), stride %d×%d, no padding", c.Y.Name, shapeText(c.Y.Shape),
		c.X.Name, shapeText(c.X.Shape), c.Wt.Name, shapeText(c.Wt.Shape), c.SH, c.SW)
	once := h.inputs[c.Wt]
	when := "once, in the first call"
	if !once {
		when = "in every call: the program computes them"
	}
	h.notes = append(h.notes,
		fmt.Sprintf("  %s: oneDNN direct convolution, %s;", what, desc),
		fmt.Sprintf("    weights reordered into the layout oneDNN prefers %s", when))
	writeDNNLConv(&h.funcs, id, c, commentSafe(desc), cStringSafe(what), once)
	return []string{
		fmt.Sprintf("/* %s (oneDNN): %s */", what, commentSafe(desc)),
		fmt.Sprintf("colt_dnnl_conv%d(%s, %s, %s);", id, ns[0], ns[1], ns[2]),
	}, nil
}

func (h *cpuVendorHook) headerLines() []string {
	lines := []string{
		fmt.Sprintf("colt vendor reference: %s. The unscheduled program, with each block below computed by", h.lib.name),
		"the library instead of its loop nest (every other block is the program's plain C):",
	}
	lines = append(lines, h.notes...)
	switch h.lib.name {
	case "OpenBLAS":
		lines = append(lines, "OpenBLAS runs with OPENBLAS_NUM_THREADS (the candidates' thread count) and, on x86,",
			"OPENBLAS_CORETYPE from the target's vector extension (SkylakeX for AVX-512, Haswell for AVX2).",
			"Link with -lopenblas.")
	default:
		if h.convs > 0 {
			lines = append(lines,
				"oneDNN's setup (engine, stream, convolution primitives, the reorder of input weights into",
				"the layout a convolution prefers) runs once, lazily, in the first call of the kernel: the",
				"harness's checked warm-up call. The timed calls are the library's execution alone, as a",
				"framework runs inference. A convolution's data are NCHW; when oneDNN prefers another data",
				"layout, the setup also builds the convolution in that layout with reorders of the data",
				"from and to NCHW in every call, times both and keeps the faster",
				"(COLT_DNNL_CONV_LAYOUT=nchw or blocked forces one).")
		}
		lines = append(lines, "Every oneDNN call's status is checked: an error prints \"colt vendor: oneDNN error: ...\"",
			"on stderr and exits with status 4. Link with -ldnnl.")
	}
	return lines
}

func (h *cpuVendorHook) prelude() string {
	var b strings.Builder
	b.WriteString("/* ---- " + h.lib.name + " ---- */\n")
	for _, hd := range h.lib.headers {
		fmt.Fprintf(&b, "#include <%s>\n", hd)
	}
	if h.lib.name == "OpenBLAS" {
		return b.String()
	}
	b.WriteString("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n\n")
	b.WriteString(dnnlCommon)
	if h.convs > 0 {
		b.WriteString(dnnlConvHelpers)
		b.WriteString(h.funcs.String())
	}
	return b.String()
}

// dnnlCommon is the error check every oneDNN call goes through.
const dnnlCommon = `/* Every oneDNN call goes through colt_dnnl_check: an error ends the program with status 4. */
static void colt_dnnl_check(dnnl_status_t s, const char* step, const char* what) {
  if (s != dnnl_success) {
    fprintf(stderr, "colt vendor: oneDNN error: %s (%d) at %s of %s\n", dnnl_status2str(s), (int)s, step, what);
    exit(4);
  }
}
`

// dnnlConvHelpers are the engine, the stream and the functions every convolution shares: a
// convolution in one of two layouts (NCHW data, or the data layout oneDNN prefers with the
// data reordered from and to NCHW in every call), the choice between them, and a run.
const dnnlConvHelpers = `
static dnnl_engine_t colt_dnnl_engine;
static dnnl_stream_t colt_dnnl_stream;

/* The engine and the stream, created once (first call of the kernel). */
static void colt_dnnl_init(void) {
  if (colt_dnnl_engine != NULL) return;
  colt_dnnl_check(dnnl_engine_create(&colt_dnnl_engine, dnnl_cpu, 0), "dnnl_engine_create", "the kernel");
  colt_dnnl_check(dnnl_stream_create(&colt_dnnl_stream, colt_dnnl_engine, dnnl_stream_default_flags), "dnnl_stream_create", "the kernel");
}

/* One convolution primitive with its memory objects. The *_user objects hold the program's
 * buffers (NCHW data, OIHW weights); src, wei and dst are what the primitive reads and writes:
 * the same objects when the layouts agree, else buffers of the library filled by the reorders. */
typedef struct {
  dnnl_primitive_t conv, src_reorder, wei_reorder, dst_reorder;
  dnnl_memory_t src_user, wei_user, dst_user, src, wei, dst;
  int weights_once; /* the weights are an input: reordered once, at creation */
  const char* impl; /* oneDNN's implementation name */
} colt_dnnl_conv_t;

static void colt_dnnl_exec2(dnnl_primitive_t p, int a, dnnl_memory_t ma, int b, dnnl_memory_t mb, const char* step, const char* what) {
  dnnl_exec_arg_t args[2] = {{a, ma}, {b, mb}};
  colt_dnnl_check(dnnl_primitive_execute(p, colt_dnnl_stream, 2, args), step, what);
}

/* The memory the primitive uses for one argument: user itself when want is its layout, else a
 * buffer in layout want with a reorder between the two (user to it for inputs, back for dst). */
static dnnl_memory_t colt_dnnl_operand(dnnl_memory_t user, const dnnl_memory_desc_t* user_md, const dnnl_memory_desc_t* want,
                                       int to_user, dnnl_primitive_t* reorder, const char* step, const char* what) {
  if (want == NULL) colt_dnnl_check(dnnl_runtime_error, step, what);
  if (dnnl_memory_desc_equal(want, user_md)) return user;
  dnnl_memory_t m;
  dnnl_primitive_desc_t rpd;
  colt_dnnl_check(dnnl_memory_create(&m, want, colt_dnnl_engine, DNNL_MEMORY_ALLOCATE), step, what);
  if (to_user) {
    colt_dnnl_check(dnnl_reorder_primitive_desc_create(&rpd, want, colt_dnnl_engine, user_md, colt_dnnl_engine, NULL), step, what);
  } else {
    colt_dnnl_check(dnnl_reorder_primitive_desc_create(&rpd, user_md, colt_dnnl_engine, want, colt_dnnl_engine, NULL), step, what);
  }
  colt_dnnl_check(dnnl_primitive_create(reorder, rpd), step, what);
  colt_dnnl_check(dnnl_primitive_desc_destroy(rpd), step, what);
  return m;
}

/* Creates the convolution: NCHW data when blocked is 0, else the data layout oneDNN prefers;
 * the weights always in the layout it prefers. dims: src N C H W, weights K C R Q, dst N K OH OW,
 * strides SH SW; no padding. */
static void colt_dnnl_conv_create(colt_dnnl_conv_t* c, int blocked, const int64_t* dims, const float* x, const float* w, float* y,
                                  int weights_once, const char* what) {
  const dnnl_dims_t src_dims = {dims[0], dims[1], dims[2], dims[3]}, wei_dims = {dims[4], dims[5], dims[6], dims[7]};
  const dnnl_dims_t dst_dims = {dims[8], dims[9], dims[10], dims[11]}, strides = {dims[12], dims[13]}, pad = {0, 0};
  const dnnl_format_tag_t data = blocked ? dnnl_format_tag_any : dnnl_nchw;
  dnnl_memory_desc_t src_user_md, wei_user_md, dst_user_md, src_md, wei_md, dst_md;
  memset(c, 0, sizeof *c);
  c->weights_once = weights_once;
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&src_user_md, 4, src_dims, dnnl_f32, dnnl_nchw), "the source descriptor", what);
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&wei_user_md, 4, wei_dims, dnnl_f32, dnnl_oihw), "the weights descriptor", what);
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&dst_user_md, 4, dst_dims, dnnl_f32, dnnl_nchw), "the destination descriptor", what);
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, data), "the source descriptor", what);
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_format_tag_any), "the weights descriptor", what);
  colt_dnnl_check(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, data), "the destination descriptor", what);
  dnnl_convolution_desc_t desc;
  colt_dnnl_check(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
      &src_md, &wei_md, NULL, &dst_md, strides, pad, pad), "dnnl_convolution_forward_desc_init", what);
  dnnl_primitive_desc_t pd;
  colt_dnnl_check(dnnl_primitive_desc_create(&pd, &desc, NULL, colt_dnnl_engine, NULL), "dnnl_primitive_desc_create", what);
  colt_dnnl_check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &c->impl), "the implementation query", what);
  colt_dnnl_check(dnnl_primitive_create(&c->conv, pd), "dnnl_primitive_create", what);
  colt_dnnl_check(dnnl_memory_create(&c->src_user, &src_user_md, colt_dnnl_engine, (void*)x), "the source memory", what);
  colt_dnnl_check(dnnl_memory_create(&c->wei_user, &wei_user_md, colt_dnnl_engine, (void*)w), "the weights memory", what);
  colt_dnnl_check(dnnl_memory_create(&c->dst_user, &dst_user_md, colt_dnnl_engine, (void*)y), "the destination memory", what);
  c->src = colt_dnnl_operand(c->src_user, &src_user_md, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 0, &c->src_reorder, "the source reorder", what);
  c->wei = colt_dnnl_operand(c->wei_user, &wei_user_md, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 0, &c->wei_reorder, "the weights reorder", what);
  c->dst = colt_dnnl_operand(c->dst_user, &dst_user_md, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), 1, &c->dst_reorder, "the destination reorder", what);
  colt_dnnl_check(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy", what);
  if (weights_once && c->wei_reorder != NULL) {
    colt_dnnl_exec2(c->wei_reorder, DNNL_ARG_FROM, c->wei_user, DNNL_ARG_TO, c->wei, "the weights reorder", what);
    colt_dnnl_check(dnnl_stream_wait(colt_dnnl_stream), "the weights reorder", what);
  }
}

/* One convolution on the buffers x, w, y: the data reordered in and out when its layout is not
 * NCHW, the weights reordered here unless that was done once at creation. */
static void colt_dnnl_conv_run(colt_dnnl_conv_t* c, const float* x, const float* w, float* y, const char* what) {
  colt_dnnl_check(dnnl_memory_set_data_handle(c->src_user, (void*)x), "the source memory", what);
  colt_dnnl_check(dnnl_memory_set_data_handle(c->dst_user, (void*)y), "the destination memory", what);
  if (c->wei_reorder == NULL || !c->weights_once) {
    colt_dnnl_check(dnnl_memory_set_data_handle(c->wei_user, (void*)w), "the weights memory", what);
  }
  if (c->wei_reorder != NULL && !c->weights_once) {
    colt_dnnl_exec2(c->wei_reorder, DNNL_ARG_FROM, c->wei_user, DNNL_ARG_TO, c->wei, "the weights reorder", what);
  }
  if (c->src_reorder != NULL) colt_dnnl_exec2(c->src_reorder, DNNL_ARG_FROM, c->src_user, DNNL_ARG_TO, c->src, "the source reorder", what);
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_DST, c->dst}};
  colt_dnnl_check(dnnl_primitive_execute(c->conv, colt_dnnl_stream, 3, args), "dnnl_primitive_execute", what);
  if (c->dst_reorder != NULL) colt_dnnl_exec2(c->dst_reorder, DNNL_ARG_FROM, c->dst, DNNL_ARG_TO, c->dst_user, "the destination reorder", what);
  colt_dnnl_check(dnnl_stream_wait(colt_dnnl_stream), "dnnl_stream_wait", what);
}

static void colt_dnnl_conv_destroy(colt_dnnl_conv_t* c, const char* what) {
  dnnl_primitive_t prims[4] = {c->conv, c->src_reorder, c->wei_reorder, c->dst_reorder};
  for (int i = 0; i < 4; ++i) {
    if (prims[i] != NULL) colt_dnnl_check(dnnl_primitive_destroy(prims[i]), "dnnl_primitive_destroy", what);
  }
  dnnl_memory_t mems[6] = {c->src_user, c->wei_user, c->dst_user, c->src, c->wei, c->dst};
  for (int i = 0; i < 6; ++i) {
    int seen = 0;
    for (int j = 0; j < i; ++j) seen |= mems[j] == mems[i];
    if (mems[i] != NULL && !seen) colt_dnnl_check(dnnl_memory_destroy(mems[i]), "dnnl_memory_destroy", what);
  }
  memset(c, 0, sizeof *c);
}

static double colt_dnnl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best of three timings of the convolution, each over calls lasting at least 2 ms. */
static double colt_dnnl_conv_seconds(colt_dnnl_conv_t* c, const float* x, const float* w, float* y, const char* what) {
  double best = 1e30;
  colt_dnnl_conv_run(c, x, w, y, what);
  for (int r = 0; r < 3; ++r) {
    int n = 0;
    double dt, t0 = colt_dnnl_now();
    do {
      colt_dnnl_conv_run(c, x, w, y, what);
      ++n;
      dt = colt_dnnl_now() - t0;
    } while (dt < 2e-3 && n < 1000);
    if (dt / n < best) best = dt / n;
  }
  return best;
}

/* Sets c up (the first call): the NCHW convolution, and when oneDNN prefers another data layout
 * also that one with the reorders; both are timed and the faster is kept. COLT_DNNL_CONV_LAYOUT
 * = nchw or blocked forces one (for tests and comparisons). */
static void colt_dnnl_conv_setup(colt_dnnl_conv_t* c, const int64_t* dims, const float* x, const float* w, float* y,
                                 int weights_once, const char* what) {
  colt_dnnl_init();
  const char* force = getenv("COLT_DNNL_CONV_LAYOUT");
  const int only_nchw = force != NULL && strcmp(force, "nchw") == 0, only_blocked = force != NULL && strcmp(force, "blocked") == 0;
  colt_dnnl_conv_t blocked;
  colt_dnnl_conv_create(&blocked, 1, dims, x, w, y, weights_once, what);
  if (only_blocked || (blocked.src_reorder == NULL && blocked.dst_reorder == NULL)) {
    *c = blocked; /* forced, or oneDNN prefers NCHW anyway */
    return;
  }
  colt_dnnl_conv_create(c, 0, dims, x, w, y, weights_once, what);
  if (only_nchw) {
    colt_dnnl_conv_destroy(&blocked, what);
    return;
  }
  const double t_nchw = colt_dnnl_conv_seconds(c, x, w, y, what);
  const double t_blocked = colt_dnnl_conv_seconds(&blocked, x, w, y, what);
  if (t_blocked < t_nchw) {
    colt_dnnl_conv_destroy(c, what);
    *c = blocked;
  } else {
    colt_dnnl_conv_destroy(&blocked, what);
  }
}
`

// writeDNNLConv writes the function colt_dnnl_conv<id>(x, w, y) of one convolution: set up on
// its first call (colt_dnnl_conv_setup: primitives, weights reorder when once, the layout
// choice), then run.
func writeDNNLConv(b *strings.Builder, id int, c convSpec, desc, what string, once bool) {
	p := fmt.Sprintf("colt_dnnl_conv%d", id)
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	onceFlag := 0
	if once {
		onceFlag = 1
	}
	w("\n/* Convolution %d: %s. */\n", id, desc)
	w("static colt_dnnl_conv_t %s_state;\n", p)
	w("static int %s_ready;\n\n", p)
	w("static void %s(const float* x, const float* w, float* y) {\n", p)
	w("  if (!%s_ready) { /* the first call: setup outside the timed calls */\n", p)
	w("    static const int64_t dims[14] = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n",
		c.N, c.C, c.H, c.W, c.K, c.C, c.R, c.Q, c.N, c.K, c.OH, c.OW, c.SH, c.SW)
	w("    colt_dnnl_conv_setup(&%s_state, dims, x, w, y, %d, \"%s\");\n", p, onceFlag, what)
	w("    %s_ready = 1;\n", p)
	w("  }\n")
	w("  colt_dnnl_conv_run(&%s_state, x, w, y, \"%s\");\n", p, what)
	w("}\n")
}
