package scoring

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
	"colt/workloads"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// golden compares got with testdata/NAME, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scoring -run Feature -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// tiledMatmul is the 4×4×4 matmul with i split 2×2 and parallel outside, j vectorized
// innermost, k between, and the init decomposed out of the reduction:
//
//	for i_0 in T.parallel(2):
//	    for i_1_init, j_init in T.grid(2, 4): C_init
//	    for k, i_1 in T.grid(4, 2): for j in T.vectorized(4): C
func tiledMatmul(t testing.TB) *schedule.Func {
	t.Helper()
	s := schedule.New(scheduletest.Matmul(4, 4, 4, false), nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.GetBlock("C")
	must(err)
	loops, err := s.GetLoops(b)
	must(err)
	is, err := s.Split(loops[0], []schedule.IntRV{schedule.Lit(2), schedule.Lit(2)})
	must(err)
	must(s.Reorder(is[0], loops[2], is[1], loops[1]))
	must(s.Parallel(is[0]))
	must(s.Vectorize(loops[1]))
	_, err = s.DecomposeReduction(b, loops[2])
	must(err)
	if err := schedule.Verify(s.Func()); err != nil {
		t.Fatal(err)
	}
	return s.Func()
}

// relu44 is the element-wise Y[i, j] = relu(X[i, j]) over 4×8.
func relu44() *schedule.Func {
	x := schedule.NewBuffer("X", schedule.Float32, 4, 8)
	y := schedule.NewBuffer("Y", schedule.Float32, 4, 8)
	return scheduletest.Program("relu", []*schedule.Buffer{x, y}, nil, scheduletest.Stage{
		Name: "Y", Out: y, Iters: []string{"i", "j"}, Extents: []int{4, 8}, Kinds: "SS",
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			return scheduletest.Vars(v[0], v[1]), &schedule.Call{Fn: schedule.Relu, Args: []schedule.Expr{scheduletest.Load(x, v[0], v[1])}}
		}})
}

// featureText prints the non-zero features of every row as name=value lines.
func featureText(f *schedule.Func, rows [][]float64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# %s\n", f.Name)
	names := FeatureNames()
	pn, _ := analyze(f)
	for i, row := range rows {
		what := ""
		if pn != nil && i < len(pn.stores) {
			what = fmt.Sprintf(" (block %s, store into %s)", pn.stores[i].block.Name, pn.stores[i].store.Buffer.Name)
		}
		fmt.Fprintf(&sb, "## row %d%s; columns not listed are 0\n", i, what)
		for j, v := range row {
			if v != 0 {
				fmt.Fprintf(&sb, "%s=%.6g\n", names[j], v)
			}
		}
	}
	return sb.String()
}

func extractOK(t testing.TB, f *schedule.Func) [][]float64 {
	t.Helper()
	rows, err := Extract(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if len(row) != len(FeatureNames()) {
			t.Fatalf("row %d has %d columns, want %d", i, len(row), len(FeatureNames()))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("row %d %s = %v", i, FeatureNames()[j], v)
			}
		}
	}
	return rows
}

// feature returns the named column of a row.
func feature(t *testing.T, row []float64, name string) float64 {
	t.Helper()
	for i, n := range FeatureNames() {
		if n == name {
			return row[i]
		}
	}
	t.Fatalf("no feature %q", name)
	return 0
}

func wantFeature(t *testing.T, row []float64, name string, want float64) {
	t.Helper()
	if got := feature(t, row, name); math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.6g, want %.6g", name, got, want)
	}
}

func l2(x float64) float64 { return math.Log2(1 + x) }

func TestFeatureNames(t *testing.T) {
	names := FeatureNames()
	if len(names) < 80 || len(names) > 180 {
		t.Fatalf("%d features", len(names))
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("feature %q named twice", n)
		}
		seen[n] = true
	}
	if NumFeatures() != len(names) {
		t.Fatal("NumFeatures disagrees with FeatureNames")
	}
}

func TestFeatureGoldenMatmul(t *testing.T) {
	f := scheduletest.Matmul(4, 4, 4, false)
	rows := extractOK(t, f)
	golden(t, "features_matmul.txt", featureText(f, rows))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (init, update)", len(rows))
	}
	init, upd := rows[0], rows[1]
	// The init runs once per (i, j): 16 stores of 4 bytes into C, no arithmetic.
	wantFeature(t, init, "outer_prod", l2(16))
	wantFeature(t, init, "b0_bytes", l2(64))
	wantFeature(t, init, "b0_acc_write", 1)
	wantFeature(t, init, "float_mad", 0)
	// The update: 64 multiply-adds; C read and written (128 accesses of 4 B), A and B read 64
	// times each, 64 unique bytes each.
	wantFeature(t, upd, "float_mad", l2(64))
	wantFeature(t, upd, "float_addsub", 0)
	wantFeature(t, upd, "float_mul", 0)
	wantFeature(t, upd, "outer_prod", l2(64))
	wantFeature(t, upd, "num_loops", l2(3))
	wantFeature(t, upd, "b0_acc_readwrite", 1)
	wantFeature(t, upd, "b0_bytes", l2(512))
	wantFeature(t, upd, "b0_unique_bytes", l2(64))
	wantFeature(t, upd, "b1_bytes", l2(256))
	wantFeature(t, upd, "b2_bytes", l2(256))
	// C[i, j] does not use k, the innermost loop: loop-multiple-read reuse, count 4, distance 1.
	wantFeature(t, upd, "b0_reuse_loop_read", 1)
	wantFeature(t, upd, "b0_reuse_ct", l2(4))
	wantFeature(t, upd, "b0_reuse_dis_iter", l2(1))
	wantFeature(t, upd, "vec_pos_none", 1)
	wantFeature(t, upd, "parallel_num", 0)
	// 128 flops over the 3·64 B the matmul touches.
	wantFeature(t, upd, "arith_intensity_9", l2(128.0/192))
}

func TestFeatureGoldenTiledMatmul(t *testing.T) {
	f := tiledMatmul(t)
	rows := extractOK(t, f)
	golden(t, "features_matmul_tiled.txt", featureText(f, rows))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (init block, update)", len(rows))
	}
	upd := rows[1]
	wantFeature(t, upd, "float_mad", l2(64))
	wantFeature(t, upd, "vec_num", l2(1))
	wantFeature(t, upd, "vec_len", l2(4))
	wantFeature(t, upd, "vec_prod", l2(4))
	wantFeature(t, upd, "vec_pos_inner_spatial", 1)
	wantFeature(t, upd, "parallel_num", l2(1))
	wantFeature(t, upd, "parallel_len", l2(2))
	wantFeature(t, upd, "parallel_pos_outer_spatial", 1)
	wantFeature(t, upd, "num_loops", l2(4))
	// B[k, j]: 64 loads of 4 bytes, all 16 elements; j (stride 1) moves it innermost; i_1 does
	// not use it: loop-multiple-read with distance 4 iterations (the j loop).
	var b []float64
	for i := 0; i < buffersPerStore; i++ {
		p := fmt.Sprintf("b%d_", i)
		if feature(t, upd, p+"bytes") == l2(256) && feature(t, upd, p+"reuse_dis_iter") == l2(4) {
			b = []float64{feature(t, upd, p+"unique_bytes"), feature(t, upd, p+"stride"), feature(t, upd, p+"reuse_ct")}
		}
	}
	if b == nil {
		t.Fatal("no buffer looks like B")
	}
	if b[0] != l2(64) || b[1] != l2(1) || b[2] != l2(2) {
		t.Errorf("B: unique bytes, stride, reuse count = %v, want log2(1+x) of 64, 1, 2", b)
	}
	init := rows[0]
	// The decomposed init runs over serial copies of the spatial loops: 16 stores, no vectors.
	wantFeature(t, init, "outer_prod", l2(16))
	wantFeature(t, init, "vec_num", 0)
	wantFeature(t, init, "parallel_len", l2(2))
}

func TestFeatureGoldenRelu(t *testing.T) {
	f := relu44()
	rows := extractOK(t, f)
	golden(t, "features_relu.txt", featureText(f, rows))
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	wantFeature(t, r, "float_other_func", l2(32))
	wantFeature(t, r, "b0_bytes", l2(128))
	wantFeature(t, r, "b0_unique_bytes", l2(128))
	wantFeature(t, r, "b0_stride", l2(1))
	wantFeature(t, r, "b0_unique_lines", l2(2))
	wantFeature(t, r, "b0_reuse_none", 1)
	wantFeature(t, r, "b1_bytes", l2(128))
}

// renamed is a copy of f with every variable, buffer and block renamed.
func renamed(f *schedule.Func) *schedule.Func {
	g := schedule.CloneFunc(f)
	g.Name = "other"
	n := 0
	next := func(p string) string { n++; return fmt.Sprintf("%s%d", p, n) }
	bufs := map[*schedule.Buffer]bool{}
	ren := func(b *schedule.Buffer) {
		if b != nil && !bufs[b] {
			bufs[b] = true
			b.Name = next("buf")
		}
	}
	for _, p := range g.Params {
		ren(p)
	}
	schedule.WalkStmt(g.Root, func(s schedule.Stmt) bool {
		switch s := s.(type) {
		case *schedule.Loop:
			s.Var.Name = next("lv")
		case *schedule.Block:
			s.Name = next("blk")
			for _, iv := range s.IterVars {
				iv.Var.Name = next("iv")
			}
			for _, a := range s.Allocs {
				ren(a)
			}
		}
		return true
	})
	return g
}

func equalRows(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestFeaturesAreNameIndependent(t *testing.T) {
	progs := []*schedule.Func{scheduletest.Matmul(4, 4, 4, false), tiledMatmul(t), relu44(), scheduletest.Conv2D(1, 4, 4, 6, 6)}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tr := range sampleTraces(t, scheduletest.Softmax(8, 16), rng, 2) {
		progs = append(progs, tr)
	}
	for _, f := range progs {
		a := extractOK(t, f)
		b := extractOK(t, renamed(f))
		if !equalRows(a, b) {
			t.Errorf("%s: renaming changed the features", f.Name)
		}
	}
}

// sampleTraces builds perSketch sampled candidates of every sketch of f.
func sampleTraces(t testing.TB, f *schedule.Func, rng *rand.Rand, perSketch int) []*schedule.Func {
	t.Helper()
	opt := schedule.DefaultSpaceOptions(2)
	sketches, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []*schedule.Func
	for _, sk := range sketches {
		for i := 0; i < perSketch; i++ {
			tr, err := schedule.SampleCandidate(f, sk.Trace, rng)
			if err != nil {
				t.Fatalf("sample from %q: %v", sk.Name, err)
			}
			p, err := schedule.Build(f, tr, opt)
			if err != nil {
				t.Fatalf("build a sample of %q: %v", sk.Name, err)
			}
			out = append(out, p)
		}
	}
	return out
}

func TestFeaturesOfEveryBuiltinCandidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, w := range workloads.BuiltinSmall(16) {
		for _, task := range w.Tasks {
			f := task.Func()
			if rows := extractOK(t, f); len(rows) == 0 {
				t.Errorf("%s:%s: no rows", w.Name, task.Name)
			}
			for _, p := range sampleTraces(t, f, rng, 2) {
				if rows := extractOK(t, p); len(rows) == 0 {
					t.Errorf("%s:%s: a candidate has no rows", w.Name, task.Name)
				}
			}
		}
	}
}

func TestFeaturesOfMalformedPrograms(t *testing.T) {
	good := func() *schedule.Func { return scheduletest.Matmul(4, 4, 4, false) }
	cases := map[string]func(f *schedule.Func){
		"nil root": func(f *schedule.Func) { f.Root = nil },
		"unbound variable": func(f *schedule.Func) {
			blk := f.Blocks()[0]
			blk.Bindings[0] = schedule.NewVar("ghost")
		},
		"missing binding": func(f *schedule.Func) {
			blk := f.Blocks()[0]
			blk.Bindings = blk.Bindings[:1]
		},
		"unknown buffer": func(f *schedule.Func) {
			blk := f.Blocks()[0]
			blk.Body.(*schedule.Store).Buffer = schedule.NewBuffer("Z", schedule.Float32, 4, 4)
		},
		"wrong index count": func(f *schedule.Func) {
			st := f.Blocks()[0].Body.(*schedule.Store)
			st.Indices = st.Indices[:1]
		},
		"nil value": func(f *schedule.Func) {
			f.Blocks()[0].Body.(*schedule.Store).Value = nil
		},
		"nil index": func(f *schedule.Func) {
			f.Blocks()[0].Body.(*schedule.Store).Indices[0] = nil
		},
		"negative extent": func(f *schedule.Func) {
			f.Root.Body.(*schedule.Seq).Stmts[0].(*schedule.Loop).Extent = -3
		},
		"store outside a block": func(f *schedule.Func) {
			f.Root.Body = &schedule.Seq{Stmts: []schedule.Stmt{f.Blocks()[0].Body}}
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			f := good()
			breakIt(f)
			if _, err := Extract(f); err == nil {
				t.Error("no error")
			}
			if _, err := Estimate(f, DefaultHardware()); err == nil {
				t.Error("Estimate: no error")
			}
		})
	}
	if _, err := Extract(nil); err == nil {
		t.Error("nil program: no error")
	}
}

func benchCandidate(b *testing.B, name string) *schedule.Func {
	b.Helper()
	for _, w := range workloads.Builtin() {
		if w.Name != name {
			continue
		}
		progs := sampleTraces(b, w.Tasks[0].Func(), rand.New(rand.NewPCG(9, 9)), 1)
		return progs[0]
	}
	b.Fatalf("no workload %s", name)
	return nil
}

func BenchmarkExtract(b *testing.B) {
	for _, name := range []string{"llama3-8b-attn", "flux-attn"} {
		b.Run(name, func(b *testing.B) {
			f := benchCandidate(b, name)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Extract(f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "candidates/s")
		})
	}
}

// TestFeaturesSurviveCorruptPrograms corrupts sampled programs at random (extents, indices,
// bindings, shapes, values) and checks that Extract and Estimate return rows or an error.
func TestFeaturesSurviveCorruptPrograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	base := sampleTraces(t, scheduletest.Softmax(8, 16), rng, 1)
	base = append(base, sampleTraces(t, scheduletest.Conv2D(1, 4, 4, 6, 6), rng, 1)...)
	ghost := schedule.NewVar("ghost")
	junk := []schedule.Expr{nil, ghost, schedule.Int(-7), schedule.Float(schedule.Float32, 1),
		schedule.Bin(schedule.FloorDiv, schedule.Int(3), schedule.Int(0)),
		schedule.Bin(schedule.FloorMod, ghost, schedule.Int(0)),
		&schedule.Select{Cond: schedule.Bin(schedule.LT, schedule.Int(0), schedule.Int(1)), Then: schedule.Int(1), Else: schedule.Int(2)},
		&schedule.Load{Buffer: schedule.NewBuffer("Q", schedule.Float32, 2), Indices: []schedule.Expr{schedule.Int(0)}}}
	for trial := 0; trial < 300; trial++ {
		f := schedule.CloneFunc(base[trial%len(base)])
		var loops []*schedule.Loop
		var blocks []*schedule.Block
		var stores []*schedule.Store
		schedule.WalkStmt(f.Root, func(s schedule.Stmt) bool {
			switch s := s.(type) {
			case *schedule.Loop:
				loops = append(loops, s)
			case *schedule.Block:
				blocks = append(blocks, s)
			case *schedule.Store:
				stores = append(stores, s)
			}
			return true
		})
		for k := 0; k < 1+rng.IntN(3); k++ {
			switch rng.IntN(6) {
			case 0:
				loops[rng.IntN(len(loops))].Extent = []int{-1, 0, 1, 1 << 30}[rng.IntN(4)]
			case 1:
				st := stores[rng.IntN(len(stores))]
				st.Indices[rng.IntN(len(st.Indices))] = junk[rng.IntN(len(junk))]
			case 2:
				b := blocks[rng.IntN(len(blocks))]
				if len(b.Bindings) > 0 {
					b.Bindings[rng.IntN(len(b.Bindings))] = junk[rng.IntN(len(junk))]
				}
			case 3:
				st := stores[rng.IntN(len(stores))]
				st.Buffer.Shape = [][]int{nil, {0}, {-1, 3}, {1 << 40, 1 << 40}}[rng.IntN(4)]
			case 4:
				stores[rng.IntN(len(stores))].Value = junk[rng.IntN(len(junk))]
			case 5:
				l := loops[rng.IntN(len(loops))]
				l.Kind = schedule.LoopKind(rng.IntN(7) - 1)
			}
		}
		rows, err := Extract(f)
		if err == nil {
			for _, row := range rows {
				for _, v := range row {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("trial %d: non-finite feature", trial)
					}
				}
			}
		}
		if e, err := Estimate(f, testHardware); err == nil && (math.IsNaN(e) || e < 0) {
			t.Fatalf("trial %d: estimate %v", trial, e)
		}
	}
}

func TestFeaturesOfCyclicPrograms(t *testing.T) {
	f := scheduletest.Matmul(4, 4, 4, false)
	blk := f.Blocks()[0]
	blk.Bindings[2] = blk.IterVars[2].Var // v_k bound to itself
	if _, err := Extract(f); err == nil {
		t.Error("a self-referring binding: no error")
	}
	g := scheduletest.Matmul(4, 4, 4, false)
	outer := g.Root.Body.(*schedule.Seq).Stmts[0].(*schedule.Loop)
	outer.Body.(*schedule.Loop).Body = outer // a loop containing itself
	if _, err := Extract(g); err == nil {
		t.Error("a cyclic loop nest: no error")
	}
	if _, err := Estimate(g, testHardware); err == nil {
		t.Error("Estimate of a cyclic loop nest: no error")
	}
}
