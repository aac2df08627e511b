package scoring

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file writes the ensemble as a LightGBM text model (the layout of LightGBM's
// GBDT::SaveModelToString and Tree::ToString, header "version=v3" because leaves reads only v2 and
// v3) and checks a model text's structure before it is handed to leaves, whose parser trusts its
// input: inconsistent arrays make it panic at load or predict time, and a cyclic child list makes
// its prediction loop forever.

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func joinFloats(xs []float64) string {
	var sb strings.Builder
	for i, x := range xs {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(fmtFloat(x))
	}
	return sb.String()
}

func joinInts(xs []int) string {
	var sb strings.Builder
	for i, x := range xs {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(x))
	}
	return sb.String()
}

// lightGBMDefaultLeft is decision_type 2: numerical split, default-left bit set, missing type None
// (what LightGBM writes for a feature without missing values). With missing type None, LightGBM
// and leaves treat NaN as 0 and ignore the default direction; tree.predict does the same.
const lightGBMDefaultLeft = 2

// text returns the tree's block as LightGBM writes it, "Tree=i" line through the two blank lines
// that end it (tree_sizes counts exactly these bytes).
func (t *tree) text(i int, shrinkage float64) string {
	var sb strings.Builder
	nInternal := len(t.splitFeature)
	dt := make([]int, nInternal)
	for k := range dt {
		dt[k] = lightGBMDefaultLeft
	}
	fmt.Fprintf(&sb, "Tree=%d\n", i)
	fmt.Fprintf(&sb, "num_leaves=%d\n", t.numLeaves())
	sb.WriteString("num_cat=0\n")
	sb.WriteString("split_feature=" + joinInts(t.splitFeature) + "\n")
	sb.WriteString("split_gain=" + joinFloats(t.splitGain) + "\n")
	sb.WriteString("threshold=" + joinFloats(t.threshold) + "\n")
	sb.WriteString("decision_type=" + joinInts(dt) + "\n")
	sb.WriteString("left_child=" + joinInts(t.leftChild) + "\n")
	sb.WriteString("right_child=" + joinInts(t.rightChild) + "\n")
	sb.WriteString("leaf_value=" + joinFloats(t.leafValue) + "\n")
	sb.WriteString("leaf_weight=" + joinFloats(t.leafWeight) + "\n")
	sb.WriteString("leaf_count=" + joinInts(t.leafCount) + "\n")
	sb.WriteString("internal_value=" + joinFloats(t.internalValue) + "\n")
	sb.WriteString("internal_weight=" + joinFloats(t.internalWeight) + "\n")
	sb.WriteString("internal_count=" + joinInts(t.internalCount) + "\n")
	sb.WriteString("is_linear=0\n")
	sb.WriteString("shrinkage=" + fmtFloat(shrinkage) + "\n")
	sb.WriteString("\n\n")
	return sb.String()
}

// lightGBMText renders the ensemble as a LightGBM v3 text model.
func (e *ensemble) lightGBMText() []byte {
	names := make([]string, e.nFeatures)
	for f := range names {
		names[f] = "Column_" + strconv.Itoa(f)
	}
	blocks := make([]string, len(e.trees))
	sizes := make([]int, len(e.trees))
	splits := make([]int, e.nFeatures)
	for i, t := range e.trees {
		blocks[i] = t.text(i, e.opt.LearningRate)
		sizes[i] = len(blocks[i])
		for _, f := range t.splitFeature {
			splits[f]++
		}
	}
	var buf bytes.Buffer
	buf.WriteString("tree\n")
	buf.WriteString("version=v3\n")
	buf.WriteString("num_class=1\n")
	buf.WriteString("num_tree_per_iteration=1\n")
	buf.WriteString("label_index=0\n")
	fmt.Fprintf(&buf, "max_feature_idx=%d\n", e.nFeatures-1)
	buf.WriteString("objective=regression\n")
	buf.WriteString("feature_names=" + strings.Join(names, " ") + "\n")
	buf.WriteString("feature_infos=" + strings.Join(e.featureInfos, " ") + "\n")
	buf.WriteString("tree_sizes=" + joinInts(sizes) + "\n")
	buf.WriteString("\n")
	for _, b := range blocks {
		buf.WriteString(b)
	}
	buf.WriteString("end of trees\n")

	// Split-count importances, largest first (LightGBM's default importance type).
	order := make([]int, 0, e.nFeatures)
	for f, n := range splits {
		if n > 0 {
			order = append(order, f)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return splits[b] - splits[a] })
	buf.WriteString("\nfeature_importances:\n")
	for _, f := range order {
		fmt.Fprintf(&buf, "%s=%d\n", names[f], splits[f])
	}
	o := e.opt
	buf.WriteString("\nparameters:\n")
	buf.WriteString("[boosting: gbdt]\n")
	buf.WriteString("[objective: regression]\n")
	fmt.Fprintf(&buf, "[num_iterations: %d]\n", o.Rounds)
	fmt.Fprintf(&buf, "[learning_rate: %s]\n", fmtFloat(o.LearningRate))
	fmt.Fprintf(&buf, "[max_depth: %d]\n", o.MaxDepth)
	fmt.Fprintf(&buf, "[min_sum_hessian_in_leaf: %s]\n", fmtFloat(o.MinChildWeight))
	fmt.Fprintf(&buf, "[lambda_l2: %s]\n", fmtFloat(o.Lambda))
	fmt.Fprintf(&buf, "[max_bin: %d]\n", o.Bins)
	fmt.Fprintf(&buf, "[early_stopping_round: %d]\n", o.EarlyStop)
	fmt.Fprintf(&buf, "[seed: %d]\n", o.Seed)
	buf.WriteString("[boost_from_average: 1]\n")
	buf.WriteString("\nend of parameters\n")
	return buf.Bytes()
}

// RewriteV4Header returns a copy of a LightGBM text model with its header line "version=v4"
// (written by LightGBM 4.x) changed to "version=v3", the newest version leaves reads; the tree
// format is otherwise the same for numerical, non-linear trees. Text without that header line is
// returned unchanged (copied).
func RewriteV4Header(text []byte) []byte {
	out := slices.Clone(text)
	pos := 0
	for pos < len(out) {
		end := bytes.IndexByte(out[pos:], '\n')
		if end < 0 {
			end = len(out)
		} else {
			end += pos
		}
		line := bytes.TrimSpace(out[pos:end])
		if len(line) == 0 && pos > 0 {
			break // end of the header block
		}
		if string(line) == "version=v4" {
			i := pos + bytes.Index(out[pos:end], []byte("version=v4"))
			out[i+len("version=v")] = '3'
			break
		}
		pos = end + 1
	}
	return out
}

// lgParams is one block of "key=value" lines.
type lgParams map[string]string

// readLGBlock reads one block of a LightGBM text model the way leaves' util.ReadParamsUntilBlank
// does, so that this check sees the same blocks leaves will: the first line is taken as it comes
// (even blank), then lines up to the next blank line or the end of the text.
func readLGBlock(r *bufio.Reader) (lgParams, error) {
	p := lgParams{}
	line, err := r.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of model text")
		}
		return nil, err
	}
	line = strings.TrimSpace(line)
	for {
		kv := strings.Split(line, "=")
		switch len(kv) {
		case 1:
			p[kv[0]] = ""
		case 2:
			p[kv[0]] = kv[1]
		default:
			return nil, fmt.Errorf("malformed line %q", line)
		}
		line, err = r.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return p, nil
		}
	}
}

func (p lgParams) str(key string) (string, error) {
	v, ok := p[key]
	if !ok {
		return "", fmt.Errorf("no %s field", key)
	}
	return v, nil
}

func (p lgParams) int(key string) (int, error) {
	v, err := p.str(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q", key, v)
	}
	return n, nil
}

// fields returns the space-separated fields of key ("" gives none).
func (p lgParams) fields(key string) ([]string, error) {
	v, err := p.str(key)
	if err != nil {
		return nil, err
	}
	if v == "" {
		return nil, nil
	}
	return strings.Split(v, " "), nil
}

func (p lgParams) floats(key string, want int) ([]float64, error) {
	fs, err := p.fields(key)
	if err != nil {
		return nil, err
	}
	if len(fs) != want {
		return nil, fmt.Errorf("%s has %d values, want %d", key, len(fs), want)
	}
	out := make([]float64, len(fs))
	for i, s := range fs {
		if out[i], err = strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("bad %s value %q", key, s)
		}
	}
	return out, nil
}

func (p lgParams) ints(key string, want int, bits int) ([]int64, error) {
	fs, err := p.fields(key)
	if err != nil {
		return nil, err
	}
	if len(fs) != want {
		return nil, fmt.Errorf("%s has %d values, want %d", key, len(fs), want)
	}
	out := make([]int64, len(fs))
	for i, s := range fs {
		if out[i], err = strconv.ParseInt(s, 10, bits); err != nil {
			return nil, fmt.Errorf("bad %s value %q", key, s)
		}
	}
	return out, nil
}

// lgModelInfo is what checkLightGBMText learns from a model text.
type lgModelInfo struct {
	nFeatures int
	nTrees    int
}

// checkLightGBMText validates a LightGBM text model for this package's use of leaves: a
// single-output model of numerical, non-linear trees whose arrays agree in length and whose child
// lists form proper binary trees over features 0..max_feature_idx.
func checkLightGBMText(text []byte) (lgModelInfo, error) {
	var info lgModelInfo
	r := bufio.NewReader(bytes.NewReader(text))
	h, err := readLGBlock(r)
	if err != nil {
		return info, fmt.Errorf("header: %w", err)
	}
	v, err := h.str("version")
	if err != nil {
		return info, fmt.Errorf("header: %w", err)
	}
	switch v {
	case "v2", "v3":
	case "v4":
		return info, errors.New("header says version=v4: rewrite it with RewriteV4Header first")
	default:
		return info, fmt.Errorf("unsupported version %q", v)
	}
	for _, key := range []string{"num_class", "num_tree_per_iteration"} {
		n, err := h.int(key)
		if err != nil {
			return info, fmt.Errorf("header: %w", err)
		}
		if n != 1 {
			return info, fmt.Errorf("header: %s=%d, only single-output models are supported", key, n)
		}
	}
	maxFeat, err := h.int("max_feature_idx")
	if err != nil {
		return info, fmt.Errorf("header: %w", err)
	}
	if maxFeat < 0 || maxFeat > 1<<24 {
		return info, fmt.Errorf("header: max_feature_idx=%d", maxFeat)
	}
	info.nFeatures = maxFeat + 1
	sizes, err := h.fields("tree_sizes")
	if err != nil {
		return info, fmt.Errorf("header: %w", err)
	}
	if len(sizes) == 0 {
		return info, errors.New("header: no trees (empty tree_sizes)")
	}
	info.nTrees = len(sizes)
	for i := range sizes {
		t, err := readLGBlock(r)
		if err == nil {
			err = checkLGTree(t, maxFeat)
		}
		if err != nil {
			return info, fmt.Errorf("tree %d of %d: %w", i, len(sizes), err)
		}
	}
	return info, nil
}

func checkLGTree(t lgParams, maxFeat int) error {
	nLeaves, err := t.int("num_leaves")
	if err != nil {
		return err
	}
	if nLeaves < 1 || nLeaves > 1<<24 {
		return fmt.Errorf("num_leaves=%d", nLeaves)
	}
	nCat, err := t.int("num_cat")
	if err != nil {
		return err
	}
	if nCat != 0 {
		return fmt.Errorf("num_cat=%d: categorical splits are not supported", nCat)
	}
	if lin, ok := t["is_linear"]; ok && lin != "0" {
		return errors.New("linear trees are not supported (leaves predicts them wrongly)")
	}
	leafValues, err := t.floats("leaf_value", nLeaves)
	if err != nil {
		return err
	}
	for i, v := range leafValues {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("leaf %d value %v", i, v)
		}
	}
	if nLeaves == 1 {
		return nil
	}
	n := nLeaves - 1
	feats, err := t.ints("split_feature", n, 32)
	if err != nil {
		return err
	}
	thresholds, err := t.floats("threshold", n)
	if err != nil {
		return err
	}
	decision, err := t.ints("decision_type", n, 32)
	if err != nil {
		return err
	}
	left, err := t.ints("left_child", n, 32)
	if err != nil {
		return err
	}
	right, err := t.ints("right_child", n, 32)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if feats[i] < 0 || feats[i] > int64(maxFeat) {
			return fmt.Errorf("node %d splits on feature %d, max_feature_idx is %d", i, feats[i], maxFeat)
		}
		if math.IsNaN(thresholds[i]) {
			return fmt.Errorf("node %d threshold is NaN", i)
		}
		d := decision[i]
		if d < 0 || d > 255 || d&1 != 0 || (d>>2)&3 == 3 {
			return fmt.Errorf("node %d decision_type %d is not a numerical split", i, d)
		}
	}
	// Every node but the root and every leaf is a child exactly once, and all are reachable
	// from the root without a cycle.
	seenNode := make([]bool, n)
	seenLeaf := make([]bool, nLeaves)
	stack := []int{0}
	seenNode[0] = true
	visited := 0
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visited++
		for _, c := range []int64{left[i], right[i]} {
			switch {
			case c >= 0 && c < int64(n):
				if seenNode[c] {
					return fmt.Errorf("node %d is reached twice", c)
				}
				seenNode[c] = true
				stack = append(stack, int(c))
			case c < 0 && ^c < int64(nLeaves):
				if seenLeaf[^c] {
					return fmt.Errorf("leaf %d is reached twice", ^c)
				}
				seenLeaf[^c] = true
			default:
				return fmt.Errorf("node %d has child %d out of range", i, c)
			}
		}
	}
	if visited != n || slices.Contains(seenLeaf, false) {
		return errors.New("child lists do not form one binary tree")
	}
	return nil
}
