package workloads

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// hfConfig is the part of a Hugging Face transformers config.json that decides a decoder's
// kernels. Pointers tell a missing field from a zero.
type hfConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`

	Hidden       *int     `json:"hidden_size"`
	Intermediate *int     `json:"intermediate_size"`
	Layers       *int     `json:"num_hidden_layers"`
	Heads        *int     `json:"num_attention_heads"`
	KVHeads      *int     `json:"num_key_value_heads"`
	HeadDim      *int     `json:"head_dim"`
	Vocab        *int     `json:"vocab_size"`
	RMSEps       *float64 `json:"rms_norm_eps"`
	Activation   string   `json:"hidden_act"`

	// Mixture of experts: Mixtral (num_local_experts), Qwen-MoE (num_experts,
	// moe_intermediate_size, shared_expert_intermediate_size, decoder_sparse_step,
	// mlp_only_layers), DeepSeek (n_routed_experts, n_shared_experts, moe_intermediate_size,
	// first_k_dense_replace).
	LocalExperts       *int  `json:"num_local_experts"`
	Experts            *int  `json:"num_experts"`
	RoutedExperts      *int  `json:"n_routed_experts"`
	ExpertsPerToken    *int  `json:"num_experts_per_tok"`
	MoEIntermediate    *int  `json:"moe_intermediate_size"`
	SharedIntermediate *int  `json:"shared_expert_intermediate_size"`
	SharedExperts      *int  `json:"n_shared_experts"`
	FirstDense         *int  `json:"first_k_dense_replace"`
	SparseStep         *int  `json:"decoder_sparse_step"`
	MLPOnlyLayers      []int `json:"mlp_only_layers"`
	QLoRARank          *int  `json:"q_lora_rank"`
	KVLoRARank         *int  `json:"kv_lora_rank"`
	QKNopeHeadDim      *int  `json:"qk_nope_head_dim"`
	QKRopeHeadDim      *int  `json:"qk_rope_head_dim"`
	VHeadDim           *int  `json:"v_head_dim"`
}

// hfFamily is one supported architecture: the model_type values that name it and how its
// tasks are made.
type hfFamily struct {
	types []string
	tasks func(c *hfConfig, tokens int) ([]builtinTask, error)
}

// hfFamilies is the table of supported architectures.
func hfFamilies() []hfFamily {
	return []hfFamily{
		{[]string{"llama", "mistral", "qwen2", "qwen3"}, denseTasks},
		{[]string{"mixtral", "qwen2_moe", "qwen3_moe"}, moeTasks},
		{[]string{"deepseek_v2", "deepseek_v3"}, deepseekTasks},
	}
}

// HFSupported lists the model_type values FromHFConfig understands.
func HFSupported() []string {
	var out []string
	for _, f := range hfFamilies() {
		out = append(out, f.types...)
	}
	sort.Strings(out)
	return out
}

// FromHFConfig makes the model described by a Hugging Face config.json a workload of weighted
// tasks for one forward step over tokens tokens: the attention projections, the attention
// core with the config's heads, KV heads and head dim, the MLP (or one expert's projections,
// weighted by the experts each token activates), the norms and the LM head, each written in
// the workload language. source names the file in messages and in the catalog.
func FromHFConfig(name string, data []byte, tokens int, source string) (*Workload, error) {
	if tokens < 1 {
		return nil, fmt.Errorf("%s: --tokens is %d, want at least 1", source, tokens)
	}
	var c hfConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not a transformers config.json: %v", source, err)
	}
	var fam *hfFamily
	for _, f := range hfFamilies() {
		for _, t := range f.types {
			if t == c.ModelType {
				fam = &f
			}
		}
	}
	if fam == nil {
		what := c.ModelType
		if what == "" {
			what = "(no model_type)"
		}
		return nil, fmt.Errorf("%s: architecture %s is not supported; supported model_type values: %s", source, what, strings.Join(HFSupported(), ", "))
	}
	tasks, err := fam.tasks(&c, tokens)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %v", source, c.ModelType, err)
	}
	arch := c.ModelType
	if len(c.Architectures) > 0 {
		arch = c.Architectures[0]
	}
	desc := fmt.Sprintf("%s forward step for %d tokens from %s: every kernel of the %d layers and the LM head, weighted by occurrences", arch, tokens, source, *c.Layers)
	return newModel(name, desc, source, tasks)
}

// need checks that required fields are present and positive, naming the first that is not.
func need(fields map[string]*int) error {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch v := fields[n]; {
		case v == nil:
			return fmt.Errorf("field %s is missing", n)
		case *v < 1:
			return fmt.Errorf("field %s is %d, want at least 1", n, *v)
		}
	}
	return nil
}

// attentionShape checks the dense attention fields and returns the heads, KV heads and head dim.
func (c *hfConfig) attentionShape() (heads, kv, dim int, err error) {
	if err := need(map[string]*int{"hidden_size": c.Hidden, "num_attention_heads": c.Heads, "num_hidden_layers": c.Layers, "vocab_size": c.Vocab}); err != nil {
		return 0, 0, 0, err
	}
	heads, kv = *c.Heads, *c.Heads
	if c.KVHeads != nil {
		kv = *c.KVHeads
	}
	if kv < 1 || heads%kv != 0 {
		return 0, 0, 0, fmt.Errorf("num_key_value_heads %d does not divide num_attention_heads %d", kv, heads)
	}
	if c.HeadDim != nil {
		dim = *c.HeadDim
	} else {
		if *c.Hidden%heads != 0 {
			return 0, 0, 0, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d (and head_dim is not given)", *c.Hidden, heads)
		}
		dim = *c.Hidden / heads
	}
	if dim < 1 {
		return 0, 0, 0, fmt.Errorf("head_dim is %d, want at least 1", dim)
	}
	return heads, kv, dim, nil
}

// checkActivation accepts the gated activations the SwiGLU tasks compute.
func (c *hfConfig) checkActivation() error {
	switch c.Activation {
	case "", "silu", "swish":
		return nil
	}
	return fmt.Errorf("hidden_act %q is not supported (the MLP tasks compute silu(gate)·up)", c.Activation)
}

// commonTasks are the tasks every decoder has: fused Q/K/V, the attention core, the output
// projection, the norms and the LM head.
func commonTasks(c *hfConfig, tokens int) ([]builtinTask, error) {
	heads, kv, dim, err := c.attentionShape()
	if err != nil {
		return nil, err
	}
	hidden, layers := *c.Hidden, *c.Layers
	eps := 1e-6
	if c.RMSEps != nil {
		eps = *c.RMSEps
	}
	qkv := (heads + 2*kv) * dim
	return []builtinTask{
		{"qkv", layers, matmul(fmt.Sprintf("fused Q/K/V projection for %d tokens: (1,%d,%d) · (%d,%d)", tokens, tokens, hidden, hidden, qkv), tokens, hidden, qkv, "Wqkv")},
		{"attention", layers, gqaAttention(fmt.Sprintf("causal attention core for %d tokens: %d KV heads × %d query heads each, head dim %d", tokens, kv, heads/kv, dim), kv, heads/kv, tokens, dim)},
		{"out-proj", layers, matmul(fmt.Sprintf("attention output projection for %d tokens: (1,%d,%d) · (%d,%d)", tokens, tokens, heads*dim, heads*dim, hidden), tokens, heads*dim, hidden, "Wo")},
		{"rmsnorm", 2*layers + 1, rmsnorm(fmt.Sprintf("RMSNorm of %d tokens × %d with eps %g and a weight vector", tokens, hidden, eps), tokens, hidden, eps)},
		{"lm-head", 1, matmul(fmt.Sprintf("LM head for %d tokens: (1,%d,%d) · (%d,%d)", tokens, tokens, hidden, hidden, *c.Vocab), tokens, hidden, *c.Vocab, "Wlm")},
	}, nil
}

// denseTasks are a dense decoder's tasks (Llama, Mistral, Qwen2, Qwen3).
func denseTasks(c *hfConfig, tokens int) ([]builtinTask, error) {
	tasks, err := commonTasks(c, tokens)
	if err != nil {
		return nil, err
	}
	if err := need(map[string]*int{"intermediate_size": c.Intermediate}); err != nil {
		return nil, err
	}
	if err := c.checkActivation(); err != nil {
		return nil, err
	}
	return append(tasks, mlpTasks("", *c.Layers, tokens, *c.Hidden, *c.Intermediate)...), nil
}

// mlpTasks are a SwiGLU MLP's two tasks (gate-up with the gated product, and down), weighted.
func mlpTasks(prefix string, weight, tokens, hidden, inter int) []builtinTask {
	if weight < 1 {
		return nil
	}
	what := "MLP"
	if prefix != "" {
		what = strings.TrimSuffix(prefix, "-") + " MLP"
	}
	return []builtinTask{
		{prefix + "gate-up", weight, swiglu(fmt.Sprintf("%s gate and up projections with silu(gate)·up for %d tokens: %d → %d", what, tokens, hidden, inter), tokens, hidden, inter, false)},
		{prefix + "down", weight, matmul(fmt.Sprintf("%s down projection for %d tokens: (1,%d,%d) · (%d,%d)", what, tokens, tokens, inter, inter, hidden), tokens, inter, hidden, "Wd")},
	}
}

// moeTasks are a mixture-of-experts decoder's tasks (Mixtral, Qwen2-MoE, Qwen3-MoE): one
// expert's projections, weighted by the experts each token activates in every sparse layer,
// plus the shared expert and the dense layers where the config has them.
func moeTasks(c *hfConfig, tokens int) ([]builtinTask, error) {
	tasks, err := commonTasks(c, tokens)
	if err != nil {
		return nil, err
	}
	if err := c.checkActivation(); err != nil {
		return nil, err
	}
	experts := c.LocalExperts
	if experts == nil {
		experts = c.Experts
	}
	expertInter := c.MoEIntermediate
	if c.ModelType == "mixtral" {
		expertInter = c.Intermediate
	}
	if err := need(map[string]*int{"num_experts_per_tok": c.ExpertsPerToken, "experts (num_local_experts or num_experts)": experts,
		"expert intermediate size (intermediate_size or moe_intermediate_size)": expertInter}); err != nil {
		return nil, err
	}
	if *c.ExpertsPerToken > *experts {
		return nil, fmt.Errorf("num_experts_per_tok %d exceeds the %d experts", *c.ExpertsPerToken, *experts)
	}
	layers := *c.Layers
	sparse := layers
	if c.SparseStep != nil || len(c.MLPOnlyLayers) > 0 {
		step := 1
		if c.SparseStep != nil {
			step = *c.SparseStep
		}
		if step < 1 {
			return nil, fmt.Errorf("decoder_sparse_step is %d, want at least 1", step)
		}
		dense := map[int]bool{}
		for _, l := range c.MLPOnlyLayers {
			dense[l] = true
		}
		sparse = 0
		for l := range layers {
			if !dense[l] && (l+1)%step == 0 {
				sparse++
			}
		}
	}
	tasks = append(tasks, mlpTasks("expert-", sparse**c.ExpertsPerToken, tokens, *c.Hidden, *expertInter)...)
	if c.SharedIntermediate != nil && *c.SharedIntermediate > 0 {
		tasks = append(tasks, mlpTasks("shared-", sparse, tokens, *c.Hidden, *c.SharedIntermediate)...)
	}
	if dense := layers - sparse; dense > 0 {
		if err := need(map[string]*int{"intermediate_size": c.Intermediate}); err != nil {
			return nil, err
		}
		tasks = append(tasks, mlpTasks("dense-", dense, tokens, *c.Hidden, *c.Intermediate)...)
	}
	return tasks, nil
}

// deepseekTasks are a DeepSeek-V2/V3 decoder's tasks: multi-head latent attention (the low-rank
// query and key/value projections, their norms, the attention core over the decompressed
// heads, the output projection), the routed experts weighted by the experts each token
// activates, the shared experts, the first dense layers, the norms and the LM head.
func deepseekTasks(c *hfConfig, tokens int) ([]builtinTask, error) {
	if err := need(map[string]*int{"hidden_size": c.Hidden, "num_attention_heads": c.Heads, "num_hidden_layers": c.Layers, "vocab_size": c.Vocab,
		"kv_lora_rank": c.KVLoRARank, "qk_nope_head_dim": c.QKNopeHeadDim, "qk_rope_head_dim": c.QKRopeHeadDim, "v_head_dim": c.VHeadDim,
		"num_experts_per_tok": c.ExpertsPerToken, "n_routed_experts": c.RoutedExperts, "moe_intermediate_size": c.MoEIntermediate}); err != nil {
		return nil, err
	}
	if err := c.checkActivation(); err != nil {
		return nil, err
	}
	if *c.ExpertsPerToken > *c.RoutedExperts {
		return nil, fmt.Errorf("num_experts_per_tok %d exceeds the %d routed experts", *c.ExpertsPerToken, *c.RoutedExperts)
	}
	hidden, layers, heads := *c.Hidden, *c.Layers, *c.Heads
	qk, v, kvRank, rope := *c.QKNopeHeadDim+*c.QKRopeHeadDim, *c.VHeadDim, *c.KVLoRARank, *c.QKRopeHeadDim
	eps := 1e-6
	if c.RMSEps != nil {
		eps = *c.RMSEps
	}
	proj := func(name, what string, k, n int, w string) builtinTask {
		return builtinTask{name, layers, matmul(fmt.Sprintf("%s for %d tokens: (1,%d,%d) · (%d,%d)", what, tokens, tokens, k, k, n), tokens, k, n, w)}
	}
	var tasks []builtinTask
	if c.QLoRARank != nil && *c.QLoRARank > 0 {
		q := *c.QLoRARank
		tasks = append(tasks, proj("q-a", "query down-projection", hidden, q, "Wqa"),
			builtinTask{"q-norm", layers, rmsnorm(fmt.Sprintf("RMSNorm of the %d-wide query latent of %d tokens", q, tokens), tokens, q, eps)},
			proj("q-b", "query up-projection", q, heads*qk, "Wqb"))
	} else {
		tasks = append(tasks, proj("q", "query projection", hidden, heads*qk, "Wq"))
	}
	tasks = append(tasks, proj("kv-a", "key/value down-projection (latent and rotary key)", hidden, kvRank+rope, "Wkva"),
		builtinTask{"kv-norm", layers, rmsnorm(fmt.Sprintf("RMSNorm of the %d-wide key/value latent of %d tokens", kvRank, tokens), tokens, kvRank, eps)},
		proj("kv-b", "key/value up-projection", kvRank, heads*(*c.QKNopeHeadDim+v), "Wkvb"),
		builtinTask{"attention", layers, mlaAttention(fmt.Sprintf("causal attention core for %d tokens: %d heads, query/key dim %d, value dim %d", tokens, heads, qk, v), heads, tokens, qk, v)},
		proj("out-proj", "attention output projection", heads*v, hidden, "Wo"),
		builtinTask{"rmsnorm", 2*layers + 1, rmsnorm(fmt.Sprintf("RMSNorm of %d tokens × %d with eps %g and a weight vector", tokens, hidden, eps), tokens, hidden, eps)},
		builtinTask{"lm-head", 1, matmul(fmt.Sprintf("LM head for %d tokens: (1,%d,%d) · (%d,%d)", tokens, tokens, hidden, hidden, *c.Vocab), tokens, hidden, *c.Vocab, "Wlm")})
	dense := 0
	if c.FirstDense != nil {
		dense = min(max(*c.FirstDense, 0), layers)
	}
	sparse := layers - dense
	tasks = append(tasks, mlpTasks("expert-", sparse**c.ExpertsPerToken, tokens, hidden, *c.MoEIntermediate)...)
	if c.SharedExperts != nil && *c.SharedExperts > 0 {
		tasks = append(tasks, mlpTasks("shared-", sparse, tokens, hidden, *c.SharedExperts**c.MoEIntermediate)...)
	}
	if dense > 0 {
		if err := need(map[string]*int{"intermediate_size": c.Intermediate}); err != nil {
			return nil, err
		}
		tasks = append(tasks, mlpTasks("dense-", dense, tokens, hidden, *c.Intermediate)...)
	}
	return tasks, nil
}

// HFModelName is the workload name of a model read from a config.json: the name of the
// directory that holds it (Hugging Face checkouts are named after the model), or the file's
// own name without its extension, lower-cased, with anything but letters, digits, '-', '_'
// and '.' made '-'.
func HFModelName(path string) string {
	base := filepath.Base(path)
	if base == "config.json" {
		if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != "/" {
			base = dir
		}
	} else {
		base = strings.TrimSuffix(base, filepath.Ext(base))
	}
	b := []byte(strings.ToLower(base))
	for i, c := range b {
		if !isLetter(c) && !isDigit(c) && c != '-' && c != '.' {
			b[i] = '-'
		}
	}
	return string(b)
}
