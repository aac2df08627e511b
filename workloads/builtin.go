package workloads

import (
	"fmt"
	"strconv"
	"strings"
)

// builtinDef is a built-in workload: one spec, or a model of weighted task specs.
type builtinDef struct {
	name  string
	desc  string
	spec  Spec
	tasks []builtinTask
}

// builtinTask is one task of a built-in model.
type builtinTask struct {
	name   string
	weight int
	spec   Spec
}

// matmul is a batched matrix product O[b, m, n] = Σk X[b, m, k]·W[k, n] with X (1, m, k).
func matmul(desc string, m, k, n int, weight string) Spec {
	return Spec{
		Description: desc,
		Sizes:       map[string]any{"B": 1, "M": m, "K": k, "N": n},
		Inputs:      []string{"X[B, M, K]", weight + "[K, N]"},
		Constants:   []string{weight},
		Stages:      []string{fmt.Sprintf("O[b, m, n] += X[b, m, k] * %s[k, n]", weight)},
	}
}

// swiglu is the gate and up projections of a SwiGLU MLP with their silu-gated product,
// followed (when down is true) by the down projection.
func swiglu(desc string, m, d, f int, down bool) Spec {
	s := Spec{
		Description: desc,
		Sizes:       map[string]any{"B": 1, "M": m, "D": d, "F": f},
		Inputs:      []string{"X[B, M, D]", "Wg[D, F]", "Wu[D, F]"},
		Constants:   []string{"Wg", "Wu"},
		Stages: []string{
			"G[b, m, f] += X[b, m, k] * Wg[k, f]",
			"U[b, m, f] += X[b, m, k] * Wu[k, f]",
			"H[b, m, f] = silu(G[b, m, f]) * U[b, m, f]",
		},
	}
	if down {
		s.Inputs = append(s.Inputs, "Wd[F, D]")
		s.Constants = append(s.Constants, "Wd")
		s.Stages = append(s.Stages, "O[b, m, n] += H[b, m, f] * Wd[f, n]")
	}
	return s
}

// gqaAttention is a causal grouped-query attention core over l tokens: kv KV heads, g query
// heads per KV head, head dim d.
func gqaAttention(desc string, kv, g, l, d int) Spec {
	return Spec{
		Description: desc,
		Sizes:       map[string]any{"B": 1, "KV": kv, "G": g, "L": l, "D": d},
		Inputs:      []string{"Q[B, KV, G, L, D]", "K[B, KV, L, D]", "V[B, KV, L, D]"},
		Stages: []string{
			"S[b, h, g, i, j] += Q[b, h, g, i, d] * K[b, h, j, d]",
			"Sm[b, h, g, i, j] = select(j <= i, S[b, h, g, i, j] / sqrt(D), -inf)",
			"M[b, h, g, i] max= Sm[b, h, g, i, j]",
			"E[b, h, g, i, j] = exp(Sm[b, h, g, i, j] - M[b, h, g, i])",
			"Z[b, h, g, i] += E[b, h, g, i, j]",
			"P[b, h, g, i, j] = E[b, h, g, i, j] / Z[b, h, g, i]",
			"O[b, h, g, i, d] += P[b, h, g, i, j] * V[b, h, j, d]",
		},
	}
}

// mlaAttention is a causal attention core whose heads have query/key dim d and value dim dv
// (DeepSeek's latent attention once its keys and values are decompressed).
func mlaAttention(desc string, heads, l, d, dv int) Spec {
	return Spec{
		Description: desc,
		Sizes:       map[string]any{"B": 1, "H": heads, "L": l, "D": d, "DV": dv},
		Inputs:      []string{"Q[B, H, L, D]", "K[B, H, L, D]", "V[B, H, L, DV]"},
		Stages: []string{
			"S[b, h, i, j] += Q[b, h, i, d] * K[b, h, j, d]",
			"Sm[b, h, i, j] = select(j <= i, S[b, h, i, j] / sqrt(D), -inf)",
			"M[b, h, i] max= Sm[b, h, i, j]",
			"E[b, h, i, j] = exp(Sm[b, h, i, j] - M[b, h, i])",
			"Z[b, h, i] += E[b, h, i, j]",
			"P[b, h, i, j] = E[b, h, i, j] / Z[b, h, i]",
			"O[b, h, i, e] += P[b, h, i, j] * V[b, h, j, e]",
		},
	}
}

// rmsnorm is the RMSNorm of m tokens × d with eps and a weight vector.
func rmsnorm(desc string, m, d int, eps float64) Spec {
	return Spec{
		Description: desc,
		Sizes:       map[string]any{"B": 1, "M": m, "D": d},
		Inputs:      []string{"X[B, M, D]", "Wn[D]"},
		Constants:   []string{"Wn"},
		Stages: []string{
			"SS[b, m] += X[b, m, k] * X[b, m, k]",
			fmt.Sprintf("R[b, m] = rsqrt(SS[b, m] / D + %s)", strings.Replace(strconv.FormatFloat(eps, 'g', -1, 64), "e-0", "e-", 1)),
			"Y[b, m, k] = X[b, m, k] * R[b, m] * Wn[k]",
		},
	}
}

// builtinDefs returns the built-in catalog, in catalog order, built fresh on each call.
func builtinDefs() []builtinDef {
	return []builtinDef{
		{name: "llama3-8b-attn", spec: matmul(
			"Llama-3-8B attention Q projection for 16 tokens: X(1,16,4096) · Wq(4096,4096)", 16, 4096, 4096, "Wq")},
		{name: "deepseek-r1-moe", spec: matmul(
			"DeepSeek-R1 MoE expert projection for 16 tokens: X(1,16,7168) · W(7168,2048)", 16, 7168, 2048, "We")},
		{name: "flux-attn", spec: Spec{
			Description: "FLUX self-attention core: 24 heads, 256 tokens, head dim 128; softmax(Q·Kᵀ/√128)·V",
			Sizes:       map[string]any{"B": 1, "H": 24, "L": 256, "D": 128},
			Inputs:      []string{"Q[B, H, L, D]", "K[B, H, L, D]", "V[B, H, L, D]"},
			Stages: []string{
				"S[b, h, i, j] += Q[b, h, i, d] * K[b, h, j, d]",
				"Ss[b, h, i, j] = S[b, h, i, j] / sqrt(D)",
				"M[b, h, i] max= Ss[b, h, i, j]",
				"E[b, h, i, j] = exp(Ss[b, h, i, j] - M[b, h, i])",
				"Z[b, h, i] += E[b, h, i, j]",
				"P[b, h, i, j] = E[b, h, i, j] / Z[b, h, i]",
				"O[b, h, i, d] += P[b, h, i, j] * V[b, h, j, d]",
			},
		}},
		{name: "flux-conv", spec: Spec{
			Description: "FLUX VAE 3x3 convolution: 128 → 128 channels, 64x64, stride 1, padding 1 (NCHW)",
			Sizes:       map[string]any{"N": 1, "C": 128, "K": 128, "H": 64, "W": 64},
			Inputs:      []string{"X[N, C, H, W]", "Wt[K, C, 3, 3]"},
			Constants:   []string{"Wt"},
			Tensors:     []string{"Xp[N, C, H + 2, W + 2]", "Y[N, K, H, W]"},
			Stages: []string{
				"Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1])",
				"Y[n, k, y, x] += Xp[n, c, y + r, x + s] * Wt[k, c, r, s]",
			},
		}},
		{name: "llama4-scout-mlp", spec: swiglu(
			"Llama-4-Scout SwiGLU MLP for 16 tokens: hidden 5120, intermediate 8192", 16, 5120, 8192, true)},
		{name: "llama3-8b", desc: "Llama-3-8B forward step for 16 tokens: every kernel of the 32 layers and the LM head, weighted by occurrences",
			tasks: []builtinTask{
				{"qkv", 32, matmul("Llama-3-8B fused Q/K/V projection for 16 tokens: (1,16,4096) · (4096,6144)", 16, 4096, 6144, "Wqkv")},
				{"attention", 32, gqaAttention("Llama-3-8B causal GQA attention core for 16 tokens: 8 KV heads × 4 query heads each, head dim 128", 8, 4, 16, 128)},
				{"out-proj", 32, matmul("Llama-3-8B attention output projection for 16 tokens: (1,16,4096) · (4096,4096)", 16, 4096, 4096, "Wo")},
				{"gate-up", 32, swiglu("Llama-3-8B MLP gate and up projections with silu(gate)·up for 16 tokens: 4096 → 14336", 16, 4096, 14336, false)},
				{"down", 32, matmul("Llama-3-8B MLP down projection for 16 tokens: (1,16,14336) · (14336,4096)", 16, 14336, 4096, "Wd")},
				{"rmsnorm", 65, rmsnorm("Llama-3-8B RMSNorm of 16 tokens × 4096 with eps 1e-5 and a weight vector", 16, 4096, 1e-5)},
				{"lm-head", 1, matmul("Llama-3-8B LM head for 16 tokens: (1,16,4096) · (4096,128256)", 16, 4096, 128256, "Wlm")},
			}},
	}
}

// Builtin returns the built-in workloads in catalog order. Each call builds them afresh, so
// callers may keep or modify what they get.
func Builtin() []*Workload { return builtin(func(s Spec) Spec { return s }) }

// BuiltinSmall returns the built-in workloads with every size above limit halved until it is
// at most limit (or odd, then capped at limit): the same programs at sizes that build and run
// in milliseconds, for tests and quick trials. Names and descriptions are unchanged.
func BuiltinSmall(limit int) []*Workload {
	return builtin(func(s Spec) Spec {
		sizes := map[string]any{}
		for k, v := range s.Sizes {
			if n, ok := v.(int); ok {
				for n > limit && n%2 == 0 {
					n /= 2
				}
				v = min(n, limit)
			}
			sizes[k] = v
		}
		s.Sizes = sizes
		return s
	})
}

func builtin(shrink func(Spec) Spec) []*Workload {
	var out []*Workload
	for _, d := range builtinDefs() {
		if d.tasks == nil {
			w, err := parseWith(d.name, shrink(d.spec), BuiltinSource, false, nil)
			if err != nil {
				panic("workloads: built-in " + err.Error())
			}
			out = append(out, w)
			continue
		}
		shrunk := make([]builtinTask, len(d.tasks))
		for i, bt := range d.tasks {
			shrunk[i] = builtinTask{bt.name, bt.weight, shrink(bt.spec)}
		}
		w, err := newModel(d.name, d.desc, BuiltinSource, shrunk)
		if err != nil {
			panic("workloads: built-in " + err.Error())
		}
		out = append(out, w)
	}
	return out
}

// newModel makes a workload of weighted tasks.
func newModel(name, desc, source string, tasks []builtinTask) (*Workload, error) {
	w := &Workload{Name: name, Description: desc, Source: source}
	for _, bt := range tasks {
		prog, err := compile(funcName(name)+"_"+funcName(bt.name), bt.spec, false)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %v", name, bt.name, err)
		}
		w.Tasks = append(w.Tasks, &Task{
			Name:     bt.name,
			Weight:   bt.weight,
			Stages:   append([]string(nil), bt.spec.Stages...),
			FLOPs:    prog.flops,
			MinBytes: prog.minBytes,
			desc:     bt.spec.Description,
			funcName: funcName(name) + "_" + funcName(bt.name),
			prog:     prog,
		})
	}
	return w, nil
}
