package workloads

// Spec is a user workload as written in colt.toml under [workloads.NAME]: sizes, tensors and
// stages in the tensor-expression language, or a list of tasks that refer to other workloads.
// Parse turns it into a Workload.
type Spec struct {
	// Description says in a line what the workload computes; shown in the catalog.
	Description string `toml:"description"`
	// DType is the element type of every tensor: "float32" (the default when empty) or "float64".
	DType string `toml:"dtype"`
	// Sizes maps size names to integers or to strings holding integer expressions
	// (+ - * / % parentheses, / is floor division) over other sizes.
	Sizes map[string]any `toml:"sizes"`
	// Inputs declares the input tensors with their shapes, e.g. "X[N, C, H, W]".
	Inputs []string `toml:"inputs"`
	// Constants names the inputs whose values are the same on every call (a layer's weights):
	// a schedule may keep them in another layout, packed once before the calls, as inference
	// frameworks do with weights.
	Constants []string `toml:"constants"`
	// Tensors optionally declares the shapes of intermediate and output tensors, e.g.
	// "Xp[N, C, H + 2, W + 2]"; needed when a shape cannot be inferred from the stages.
	Tensors []string `toml:"tensors"`
	// Stages is the computation, one "Tensor[i, j] OP expr" per stage, in order.
	Stages []string `toml:"stages"`
	// Outputs names the tensors the program returns; by default every stage tensor that no
	// later stage reads.
	Outputs []string `toml:"outputs"`
	// Tasks makes the workload a model made of other workloads, each counted Weight times.
	// A workload with tasks has no sizes, tensors or stages of its own.
	Tasks []TaskRef `toml:"tasks"`
}

// TaskRef is one task of a user model workload: a named reference to another workload (a
// single-task workload, or "model:task") and how many times it occurs in the model.
type TaskRef struct {
	// Name is the task's name within the model; defaults to the referenced workload's name.
	Name string `toml:"name"`
	// Workload is the name of the workload the task runs.
	Workload string `toml:"workload"`
	// Weight is how many times the task occurs in one run of the model; at least 1.
	Weight int `toml:"weight"`
}
