package workloads

import (
	"strings"
	"testing"
)

// mm is a valid matmul spec (M=16, N=17, K=8) that the table below breaks one way at a time.
func mm(stages ...string) Spec {
	return Spec{
		Sizes:  map[string]any{"M": 16, "N": 17, "K": 8},
		Inputs: []string{"A[M, K]", "B[K, N]"},
		Stages: stages,
	}
}

func with(s Spec, edit func(*Spec)) Spec {
	edit(&s)
	return s
}

func TestBadSpecsAreRejectedWithAClearMessage(t *testing.T) {
	for _, tc := range []struct {
		what string
		spec Spec
		want string
	}{
		{"unknown tensor", mm("C[m, n] += A[m, k] * Q[k, n]"),
			`stage 1 "C[m, n] += A[m, k] * Q[k, n]": unknown tensor Q`},
		{"wrong index count", mm("C[m, n] += A[m, k, n] * B[k, n]"),
			"A has 2 dims, found 3 indices"},
		{"extent mismatch", mm("C[m, n] += A[m, k] * B[k, m]"),
			"index variable m: extent 16 from A dim 0 but 17 from B dim 1"},
		{"unbound variable", mm("C[m, n] += A[m, k] * B[k, n] * alpha"),
			"undefined name alpha"},
		{"= with a reduction variable", mm("C[m, n] = A[m, k] * B[k, n]"),
			"reduces over it; write += (or max=, min=) instead of ="},
		{"reduction without a reduction variable", mm("C[m, k] += A[m, k]"),
			"+= needs a reduction variable"},
		{"syntax error with position", mm("C[m, n] += A[m, k] * * B[k, n]"),
			`syntax error at column 22: expected a number, a name, a tensor access or "(", found "*"`},
		{"unclosed bracket", mm("C[m, n] += A[m, k * B[k, n]"),
			`syntax error at column 28: expected "," or "]", found end of text`},
		{"single &", mm("C[m, n] += A[m, k] & B[k, n]"),
			"did you mean &&?"},
		{"missing operator", mm("C[m, n] A[m, k]"),
			"expected =, +=, max= or min="},
		{"size cycle", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) {
			s.Sizes = map[string]any{"M": "N + 1", "N": "K * 2", "K": "M - 3"}
		}), "sizes K -> M -> N -> K form a cycle"},
		{"unknown size", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Sizes["M"] = "Q + 1" }),
			`size M = "Q + 1": unknown size Q`},
		{"size below 1", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Sizes["M"] = "K - 8" }),
			"size M is 0; sizes must be between 1 and"},
		{"size division by zero", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Sizes["M"] = "K / (K - 8)" }),
			"division by zero"},
		{"size of the wrong type", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Sizes["M"] = 1.5 }),
			"size M: want an integer, found 1.5"},
		{"unknown size in a shape", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Inputs[0] = "A[MM, K]" }),
			`input 1 "A[MM, K]": unknown size MM (did you mean "M"?)`},
		{"left index not a variable", mm("C[m + 1, n] += A[m, k] * B[k, n]"),
			`indices on the left must be plain variables, found "m + 1"`},
		{"tensor written twice", mm("C[m, n] += A[m, k] * B[k, n]", "C[m, n] = A[m, n]"),
			`stage 2 "C[m, n] = A[m, n]": C is already written by stage 1`},
		{"input written", mm("A[m, k] = B[k, m]"),
			"A is an input; inputs are read-only"},
		{"read before written", mm("C[m, n] = D[m, n]", "D[m, n] += A[m, k] * B[k, n]"),
			"reads D, which is written by a later stage (stage 2)"},
		{"reads itself", mm("C[m, n] += A[m, k] * C[m, n]"),
			"the stage reads C, the tensor it writes"},
		{"unknown function", mm("C[m, n] += exq(A[m, k]) * B[k, n]"),
			`unknown function exq (did you mean "exp"?)`},
		{"wrong arity", mm("C[m, n] += exp(A[m, k], 2) * B[k, n]"),
			"exp takes 1 argument, found 2"},
		{"index always out of bounds", with(mm("C[m, n] += A[m + 16, k] * B[k, n]"), func(s *Spec) { s.Tensors = []string{"C[M, N]"} }),
			`index 0 of A ("m + 16") is always out of bounds: it ranges over [16, 31] but A dim 0 has size 16`},
		{"index may leave bounds", mm("C[m, n] += A[m, k + 1] * B[k, n]"),
			"wrap the access in pad(...)"},
		{"no extent for a variable", mm("C[m, n] = A[m + 0 * n, 0] + A[m, n - n]"),
			`index variable n has no known extent`},
		{"non-affine index", mm("C[m, n] += A[m * k, k] * B[k, n]"),
			"multiplies two index variables"},
		{"division in an index", mm("C[m, n] += A[m / 2, k] * B[k, n]"),
			"uses /"},
		{"repeated left index", mm("C[m, m] += A[m, k] * B[k, m]"),
			"index variable m appears twice on the left"},
		{"condition stored", mm("C[m, k] = A[m, k] < 1"),
			"the right-hand side is a condition"},
		{"tensor without indices", mm("C[m, n] += A[m, k] * B"),
			"tensor B is used without indices"},
		{"unknown output", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Outputs = []string{"D"} }),
			"outputs: unknown tensor D"},
		{"unread input", with(mm("C[m, k] = A[m, k]"), func(s *Spec) {}),
			`input 2 "B[K, N]": no stage reads B`},
		{"dead stage", with(mm("C[m, k] = A[m, k] * B[k, 0]", "D[m, k] = A[m, k]"), func(s *Spec) { s.Outputs = []string{"D"} }),
			`stage 1 "C[m, k] = A[m, k] * B[k, 0]": C is neither read by a later stage nor listed in outputs`},
		{"declared but never written", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.Tensors = []string{"T[M]"} }),
			`tensor 1 "T[M]": no stage writes T`},
		{"bad dtype", with(mm("C[m, n] += A[m, k] * B[k, n]"), func(s *Spec) { s.DType = "int8" }),
			`dtype "int8" is not supported`},
		{"no stages", mm(), "no stages"},
		{"modulo by a variable", mm("C[m, k] = A[m, k] + m % k"),
			"% needs an integer on the left and a positive integer constant on the right"},
		{"select without a condition", mm("C[m, k] = select(A[m, k], 1, 0)"),
			"select's first argument needs a condition"},
		{"pad of a non-access", mm("C[m, k] = pad(A[m, k] + 1)"),
			"pad's first argument must be a tensor access"},
		{"chained comparison", mm("C[m, k] = select(0 < m < 3, A[m, k], 0)"),
			"comparisons cannot be chained"},
		{"read the verifier cannot prove in bounds", with(mm("C[m] += select(k <= m, A[m - k, 0], 0) * A[m, k]"), func(s *Spec) { s.Inputs = s.Inputs[:1] }),
			`stage 1 "C[m] += select(k <= m, A[m - k, 0], 0) * A[m, k]": the program fails verification`},
		{"task weight", Spec{Tasks: []TaskRef{{Name: "a", Workload: "llama3-8b-attn", Weight: 0}}},
			"task 1 (a): weight 0 must be at least 1"},
		{"task of an unknown workload", Spec{Tasks: []TaskRef{{Workload: "llama3-8b-atn", Weight: 2}}},
			`task 1 (llama3-8b-atn): unknown workload "llama3-8b-atn" (did you mean "llama3-8b-attn"?)`},
		{"task naming a model", Spec{Tasks: []TaskRef{{Workload: "llama3-8b", Weight: 2}}},
			`refer to one of them as "llama3-8b:qkv"`},
		{"task of an unknown model task", Spec{Tasks: []TaskRef{{Workload: "llama3-8b:atention", Weight: 2}}},
			`workload "llama3-8b" has no task "atention" (did you mean "attention"?)`},
		{"tasks and stages", Spec{Stages: []string{"C[m] = A[m]"}, Tasks: []TaskRef{{Workload: "flux-conv", Weight: 1}}},
			"a workload with tasks has no dtype, sizes, inputs, tensors, stages or outputs of its own"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			_, err := Parse("bad", tc.spec, "test.toml")
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\nwant it to contain %q", msg, tc.want)
			}
			if !strings.HasPrefix(msg, `workload "bad": `) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with workload \"bad\": ", msg)
			}
		})
	}
}

func TestBadWorkloadNames(t *testing.T) {
	for _, name := range []string{"", "has space", "model:task", "tab\t"} {
		if _, err := Parse(name, mm("C[m, n] += A[m, k] * B[k, n]"), ""); err == nil || !strings.Contains(err.Error(), "name") {
			t.Errorf("Parse(%q): error %v, want one about the name", name, err)
		}
	}
}
