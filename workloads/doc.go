// Package workloads defines what colt tunes: a catalog of built-in workloads (matmuls,
// convolutions, attention and MLP layers of modern models) and a small tensor-expression
// language in which users describe their own, and it builds the unscheduled schedule.Func
// (the root program of a search) for each of them.
//
// A workload spec (see Spec) names integer sizes, input tensors with their shapes, optional
// declared shapes of intermediate and output tensors, and a list of stages such as
//
//	Y[n, k, y, x] += Xp[n, c, y*2 + r, x*2 + s] * Wt[k, c, r, s]
//
// Each stage writes one new tensor. The operator is = (element-wise), += (sum), max= or min=
// (reductions). Index variables on the left are the stage's spatial iterators; index
// variables used only on the right are reduced over. The extent of every index variable is
// inferred from the places it appears alone as an index of a tensor whose shape is known.
//
// Right-hand sides may use float and integer literals, inf, pi, size names, index variables,
// tensor accesses with affine integer indices, + - * / (float division), % (integer modulo by
// a positive constant), comparisons, && || !, the functions exp log sqrt rsqrt tanh sigmoid
// silu gelu relu abs erf, max(a, b), min(a, b), select(cond, a, b), and pad(T[...]) or
// pad(T[...], value), which reads T where every index is in bounds and value (default 0)
// elsewhere.
//
// A workload may instead be a "model": a weighted list of tasks, each a single-stage-list
// program, such as the built-in llama3-8b forward step. Catalog.Get accepts "model:task" to
// tune one task of a model alone.
package workloads
