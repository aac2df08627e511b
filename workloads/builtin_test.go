package workloads

import (
	"strings"
	"testing"

	"colt/schedule"
)

func TestBuiltinCatalogOrder(t *testing.T) {
	want := []string{"llama3-8b-attn", "deepseek-r1-moe", "flux-attn", "flux-conv", "llama4-scout-mlp", "llama3-8b"}
	var got []string
	for _, w := range Builtin() {
		got = append(got, w.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("built-ins = %v, want %v", got, want)
	}
}

func TestEveryBuiltinBuildsAVerifiedProgram(t *testing.T) {
	for _, w := range Builtin() {
		if w.Description == "" || w.Source != BuiltinSource {
			t.Errorf("%s: description %q, source %q; want a description and source %q", w.Name, w.Description, w.Source, BuiltinSource)
		}
		for _, task := range w.Tasks {
			f := task.Func()
			if err := schedule.Verify(f); err != nil {
				t.Errorf("%s task %s: %v", w.Name, task.Name, err)
			}
			if task.FLOPs <= 0 || task.MinBytes <= 0 || task.Weight < 1 || len(task.Stages) == 0 {
				t.Errorf("%s task %s: FLOPs %d, MinBytes %d, weight %d, %d stages; want all positive",
					w.Name, task.Name, task.FLOPs, task.MinBytes, task.Weight, len(task.Stages))
			}
			if task.desc == "" {
				t.Errorf("%s task %s has no description", w.Name, task.Name)
			}
		}
	}
}

func TestBuiltinFuncNames(t *testing.T) {
	cat, err := NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"llama3-8b-attn":     "llama3_8b_attn",
		"flux-conv":          "flux_conv",
		"llama3-8b:qkv":      "llama3_8b_qkv",
		"llama3-8b:out-proj": "llama3_8b_out_proj",
	} {
		w, err := cat.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Tasks[0].Func().Name; got != want {
			t.Errorf("%s: func name %q, want %q", name, got, want)
		}
	}
}

// Matmul workloads do exactly one multiply and one add per (m, n, k).
func TestMatmulFLOPsAre2MNK(t *testing.T) {
	cat, err := NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		m, n, k int64
	}{
		{"llama3-8b-attn", 16, 4096, 4096},
		{"deepseek-r1-moe", 16, 2048, 7168},
		{"llama3-8b:qkv", 16, 6144, 4096},
		{"llama3-8b:out-proj", 16, 4096, 4096},
		{"llama3-8b:down", 16, 4096, 14336},
		{"llama3-8b:lm-head", 16, 128256, 4096},
	} {
		w, err := cat.Get(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 * tc.m * tc.n * tc.k; w.FLOPs() != want || w.Tasks[0].FLOPs != want {
			t.Errorf("%s: FLOPs %d (task %d), want 2·M·N·K = %d", tc.name, w.FLOPs(), w.Tasks[0].FLOPs, want)
		}
		if want := 4 * (tc.m*tc.k + tc.k*tc.n + tc.m*tc.n); w.Tasks[0].MinBytes != want {
			t.Errorf("%s: MinBytes %d, want 4·(MK + KN + MN) = %d", tc.name, w.Tasks[0].MinBytes, want)
		}
	}
}

func TestFLOPsOfMultiStageBuiltins(t *testing.T) {
	cat, err := NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	const (
		h, l, d     = 24, 256, 128 // flux-attn
		c, k, hw    = 128, 128, 64 // flux-conv
		m, dm, f    = 16, 5120, 8192
		gh, gl, gd  = 32, 16, 128 // llama3-8b attention: 32 query heads
		ld, lf, lmv = 4096, 14336, 128256
	)
	attn := func(heads, l, d int64) int64 {
		scores := heads * l * l
		// S: 2·d each; scale 1; max 1; exp(s - m) 2; sum 1; divide 1; P·V 2·d per (i, j).
		return scores*2*d + scores + scores + 2*scores + scores + scores + scores*2*d
	}
	for _, tc := range []struct {
		name string
		want int64
	}{
		{"flux-attn", attn(h, l, d)},
		{"flux-conv", 2 * k * hw * hw * c * 9},
		{"llama4-scout-mlp", 3*2*m*dm*f + 2*m*f},
		{"llama3-8b:attention", attn(gh, gl, gd)},
		{"llama3-8b:gate-up", 2*2*m*ld*lf + 2*m*lf},
		// sum of squares 2 per element; rsqrt(ss / D + eps) 3 per row; x·r·w 2 per element.
		{"llama3-8b:rmsnorm", 2*m*ld + 3*m + 2*m*ld},
	} {
		w, err := cat.Get(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.FLOPs(); got != tc.want {
			t.Errorf("%s: FLOPs %d, want %d", tc.name, got, tc.want)
		}
	}
	model, err := cat.Get("llama3-8b")
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	weights := map[string]int{"qkv": 32, "attention": 32, "out-proj": 32, "gate-up": 32, "down": 32, "rmsnorm": 65, "lm-head": 1}
	for _, task := range model.Tasks {
		if task.Weight != weights[task.Name] {
			t.Errorf("llama3-8b task %s: weight %d, want %d", task.Name, task.Weight, weights[task.Name])
		}
		want += int64(task.Weight) * task.FLOPs
	}
	if len(model.Tasks) != len(weights) || model.IsSingle() {
		t.Errorf("llama3-8b: %d tasks, want %d", len(model.Tasks), len(weights))
	}
	if model.FLOPs() != want {
		t.Errorf("llama3-8b: FLOPs %d, want the weighted sum %d", model.FLOPs(), want)
	}
}

func TestFuncReturnsIndependentPrograms(t *testing.T) {
	for _, w := range Builtin() {
		task := w.Tasks[0]
		before := schedule.Print(task.Func())
		a := task.Func()
		// Mutate everything reachable from the first program.
		a.Name = "changed"
		a.Params[0].Shape[0] = 999
		a.Params[0].Name = "Z9"
		schedule.WalkStmt(a.Root.Body, func(s schedule.Stmt) bool {
			switch s := s.(type) {
			case *schedule.Loop:
				s.Extent = 3
				s.Var.Name = "q"
			case *schedule.Block:
				s.IterVars[0].Var.Name = "vq"
				s.Reads = nil
			case *schedule.Store:
				s.Value = schedule.Float(schedule.Float32, 1)
			}
			return true
		})
		a.Root.Allocs = nil
		b := task.Func()
		if got := schedule.Print(b); got != before {
			t.Errorf("%s: Func after mutating an earlier result prints differently:\n%s\nwant\n%s", w.Name, got, before)
		}
		if a.Params[0] == b.Params[0] {
			t.Errorf("%s: two Func results share a parameter buffer", w.Name)
		}
	}
}

func TestBuiltinIsFreshEachCall(t *testing.T) {
	a, b := Builtin(), Builtin()
	a[0].Name = "renamed"
	a[0].Tasks[0].Stages[0] = "changed"
	if b[0].Name != "llama3-8b-attn" || b[0].Tasks[0].Stages[0] == "changed" || Builtin()[0].Name != "llama3-8b-attn" {
		t.Fatal("Builtin results share state between calls")
	}
}

func TestBuiltinSmallKeepsProgramsAndShrinksSizes(t *testing.T) {
	full, small := Builtin(), BuiltinSmall(32)
	if len(full) != len(small) {
		t.Fatalf("%d small workloads, want %d", len(small), len(full))
	}
	for i, w := range small {
		if w.Name != full[i].Name || len(w.Tasks) != len(full[i].Tasks) {
			t.Fatalf("small %s differs in name or tasks from %s", w.Name, full[i].Name)
		}
		for j, task := range w.Tasks {
			if task.FLOPs >= full[i].Tasks[j].FLOPs && full[i].Tasks[j].FLOPs > 1<<20 {
				t.Errorf("%s:%s: %d FLOPs, want fewer than the full %d", w.Name, task.Name, task.FLOPs, full[i].Tasks[j].FLOPs)
			}
			for _, p := range task.Func().Params {
				for _, d := range p.Shape {
					if d > 32 {
						t.Errorf("%s:%s: %s has dimension %d, want at most 32", w.Name, task.Name, p.Name, d)
					}
				}
			}
		}
	}
}
