package workloads

import (
	"strings"
	"testing"

	"colt/schedule"
)

// FuzzParse feeds arbitrary stage lists (separated by ";") and an arbitrary size expression to
// Parse: it must never panic, every error must be one line naming the workload, and every
// accepted program must verify.
func FuzzParse(f *testing.F) {
	for _, seed := range [][2]string{
		{"C[m, n] += A[m, k] * B[k, n]", "3"},
		{"Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1]);Y[n, k, y, x] += Xp[n, c, y*2 + r, x*2 + s] * Wt[k, c, r, s]", "(H + 2 - 3) / 2 + 1"},
		{"M[m] max= A[m, k];E[m, k] = exp(A[m, k] - M[m]);Z[m] += E[m, k];P[m, k] = E[m, k] / Z[m]", "H % 4"},
		{"T[m, n] = select(n <= m && !(m == 1), A[m, n % 3] * 1e-5, -inf) + max(m, 2.5) / sqrt(128)", "-H"},
		{"C[m, n] = pad(A[m - 1, k], -inf)", "H / (H - H)"},
		{"C[m, n] min= A[m, k + P] * pi", "P"},
		{"C[m] += ((((A[m, k]))))", "((("},
		{"C[m, n] += A[m * k, k] * B[k / 2, n] & 1", "9999999999 * 9999999999"},
		{"Y[i] = i + 2147483647 * 2147483647", "2147483647 * 2"},
		{"C[m] += A[m, 2147483647 * k - 2147483647 * k]", "1"},
		{"C[m, n] += A[m, k] * B[k, n]; D[m, n] = C[m, n] ; D[m, n] = C[m, n]", "0"},
		{"é[m] = A[m, 0]", ".5"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, stages, size string) {
		spec := Spec{
			Sizes:   map[string]any{"M": 3, "N": 5, "K": 4, "H": 7, "P": size},
			Inputs:  []string{"A[M, K]", "B[K, N]"},
			Tensors: []string{"Y[P]"},
			Stages:  strings.Split(stages, ";"),
		}
		w, err := Parse("fuzz", spec, "fuzz")
		if err != nil {
			// Declared Y is often unwritten; try without it too.
			spec.Tensors = nil
			w, err = Parse("fuzz", spec, "fuzz")
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, `workload "fuzz": `) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with workload \"fuzz\": ", msg)
			}
			return
		}
		for _, task := range w.Tasks {
			fn := task.Func()
			if err := schedule.Verify(fn); err != nil {
				t.Fatalf("accepted %q but its program fails verification: %v", stages, err)
			}
			_ = schedule.Print(fn)
		}
	})
}
