package workloads

import (
	"fmt"
	"strings"
	"testing"

	"colt/schedule"
)

// myConv is the example of the user documentation: awkward sizes, stride 2, padding 1.
func myConv() Spec {
	return Spec{
		Description: "3x3 conv, stride 2, padding 1, awkward sizes",
		DType:       "float32",
		Sizes:       map[string]any{"N": 1, "C": 3, "K": 5, "H": 17, "W": 13, "OH": "(H + 2 - 3) / 2 + 1", "OW": "(W + 2 - 3) / 2 + 1"},
		Inputs:      []string{"X[N, C, H, W]", "Wt[K, C, 3, 3]"},
		Tensors:     []string{"Xp[N, C, H + 2, W + 2]", "Y[N, K, OH, OW]"},
		Stages: []string{
			"Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1])",
			"Y[n, k, y, x] += Xp[n, c, y*2 + r, x*2 + s] * Wt[k, c, r, s]",
		},
		Outputs: []string{"Y"},
	}
}

func mustParse(t *testing.T, name string, spec Spec) *Workload {
	t.Helper()
	w, err := Parse(name, spec, "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range w.Tasks {
		if err := schedule.Verify(task.Func()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return w
}

func TestAwkwardUserWorkloadsParse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   Spec
		flops  int64
		params string // parameter names and shapes, in order
	}{
		{"my-conv", myConv(), 2 * 5 * 9 * 7 * 3 * 9, "X[1 3 17 13] Wt[5 3 3 3] Y[1 5 9 7]"},
		{"prime-matmul", Spec{
			Sizes:  map[string]any{"M": 17, "N": 13, "K": 7},
			Inputs: []string{"A[M, K]", "B[K, N]"},
			Stages: []string{"C[m, n] += A[m, k] * B[k, n]"},
		}, 2 * 17 * 13 * 7, "A[17 7] B[7 13] C[17 13]"},
		{"depthwise-stride2-float64", Spec{
			DType:   "float64",
			Sizes:   map[string]any{"C": 7, "H": 31, "OH": "(H - 1) / 2 + 1", "R": 5, "P": "R / 2"},
			Inputs:  []string{"X[C, H]", "F[C, R]"},
			Tensors: []string{"Y[C, OH]"},
			Stages:  []string{"Y[c, y] += pad(X[c, y*2 + r - P]) * F[c, r]"},
		}, 2 * 7 * 16 * 5, "X[7 31] F[7 5] Y[7 16]"},
		{"layernorm", Spec{
			Sizes:  map[string]any{"M": 3, "K": 11},
			Inputs: []string{"X[M, K]", "G[K]", "Bt[K]"},
			Stages: []string{
				"Mu[m] += X[m, k] / K",
				"Var[m] += (X[m, k] - Mu[m]) * (X[m, k] - Mu[m]) / K",
				"Y[m, k] = (X[m, k] - Mu[m]) * rsqrt(Var[m] + 1e-5) * G[k] + Bt[k]",
			},
		}, 3*11*2 + 3*11*5 + 3*11*6, "X[3 11] G[11] Bt[11] Y[3 11]"},
		{"mask-and-index-math", Spec{
			Sizes:  map[string]any{"N": 9},
			Inputs: []string{"X[N, N]"},
			Stages: []string{"Y[i, j] = select(j <= i && !(i == 3), X[i, j], -inf) + i * 0.5 + max(X[i, N - 1 - j], 0) + (j % 2)"},
		}, 9 * 9 * 5, "X[9 9] Y[9 9]"},
		{"softmax-with-intermediate-output", Spec{
			Sizes:   map[string]any{"R": 5, "L": 23},
			Inputs:  []string{"X[R, L]"},
			Stages:  []string{"M[r] max= X[r, l]", "E[r, l] = exp(X[r, l] - M[r])", "S[r] += E[r, l]", "P[r, l] = E[r, l] / S[r]"},
			Outputs: []string{"M", "P"},
		}, 5*23 + 5*23*2 + 5*23 + 5*23, "X[5 23] M[5] P[5 23]"},
		{"min-reduction-and-pi", Spec{
			Sizes:  map[string]any{"A": 2, "B": "A * 3 + 1"},
			Inputs: []string{"X[A, B]"},
			Stages: []string{"Y[a] min= abs(X[a, b]) * pi"},
		}, 2 * 7 * 3, "X[2 7] Y[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := mustParse(t, tc.name, tc.spec)
			if !w.IsSingle() || w.Source != "test.toml" || w.Tasks[0].Weight != 1 {
				t.Errorf("single %v, source %q, weight %d; want a single task of weight 1 from test.toml", w.IsSingle(), w.Source, w.Tasks[0].Weight)
			}
			if w.FLOPs() != tc.flops {
				t.Errorf("FLOPs %d, want %d", w.FLOPs(), tc.flops)
			}
			f := w.Tasks[0].Func()
			var params []string
			var bytes int64
			for _, p := range f.Params {
				params = append(params, fmt.Sprintf("%s%v", p.Name, p.Shape))
				bytes += p.Bytes()
			}
			if got := strings.Join(params, " "); got != tc.params {
				t.Errorf("params %q, want %q", got, tc.params)
			}
			if w.Tasks[0].MinBytes != bytes {
				t.Errorf("MinBytes %d, want the parameters' %d bytes", w.Tasks[0].MinBytes, bytes)
			}
		})
	}
}
