package scoring

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelLightGBMv4 loads a model in LightGBM 4.x's text layout (testdata/lightgbm_v4.txt, two
// hand-made trees) once its header is rewritten to v3, and checks leaves' predictions against
// values worked out by hand from the file.
func TestModelLightGBMv4(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "lightgbm_v4.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(text); err == nil || !strings.Contains(err.Error(), "RewriteV4Header") {
		t.Fatalf("v4 header loaded without rewriting: %v", err)
	}
	m, err := LoadModel(RewriteV4Header(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.NumFeatures() != 3 || m.NumTrees() != 2 {
		t.Fatalf("features %d trees %d, want 3 and 2", m.NumFeatures(), m.NumTrees())
	}
	// Tree 0: x0 <= 0.5 ? 0.1 : (x2 <= 1.2500000000000002 ? -0.2 : 0.35)
	// Tree 1: x1 <= -1 ? (x0 <= 2.5 ? 0.0125 : 0.0625) : (x2 <= 0 ? -0.03125 : -0.005)
	// (float64 variables so that the sums round as leaves' float64 additions do)
	var t0a, t0b, t0c float64 = 0.1, -0.2, 0.35
	var t1a, t1b, t1c, t1d float64 = 0.0125, 0.0625, -0.03125, -0.005
	cases := []struct {
		row  []float64
		want float64
	}{
		{[]float64{0.2, -3, 7}, t0a + t1a},
		{[]float64{0.5, -1, 0}, t0a + t1a}, // on both thresholds: left
		{[]float64{0.6, 0, 1.25}, t0b + t1d},
		{[]float64{3, -2, 2}, t0c + t1b},
		{[]float64{-1, 5, -0.5}, t0a + t1c},
		{[]float64{0.51, 0, 1.2500000000000002}, t0b + t1d},
		{[]float64{0.51, 0, 1.2500000000000004}, t0c + t1d},
		{[]float64{2.5, -1, 1e9}, t0c + t1a},
	}
	rows := make([][]float64, len(cases))
	for i, c := range cases {
		rows[i] = c.row
	}
	got, err := m.PredictRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("row %v: got %v, want %v", c.row, got[i], c.want)
		}
	}
	groups, err := m.PredictGroups([][][]float64{rows[:2], nil, rows[2:3]})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{got[0] + got[1], 0, got[2]}; groups[0] != want[0] || groups[1] != 0 || groups[2] != want[2] {
		t.Errorf("PredictGroups %v, want %v", groups, want)
	}

	// The same file through LoadModelFile.
	path := filepath.Join(t.TempDir(), "m.txt")
	if err := os.WriteFile(path, RewriteV4Header(text), 0o644); err != nil {
		t.Fatal(err)
	}
	mf, err := LoadModelFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := mf.PredictRows(rows[:1]); err != nil || p[0] != got[0] {
		t.Errorf("LoadModelFile: %v %v", p, err)
	}
}

func TestModelRewriteV4Header(t *testing.T) {
	cases := []struct{ in, want string }{
		{"tree\nversion=v4\nnum_class=1\n\nTree=0\n", "tree\nversion=v3\nnum_class=1\n\nTree=0\n"},
		{"tree\r\nversion=v4\r\n", "tree\r\nversion=v3\r\n"},
		{"tree\nversion=v3\n", "tree\nversion=v3\n"},
		{"tree\nnum_class=1\n\nversion=v4\n", "tree\nnum_class=1\n\nversion=v4\n"}, // not in the header
		{"", ""},
	}
	for _, c := range cases {
		in := []byte(c.in)
		if got := string(RewriteV4Header(in)); got != c.want {
			t.Errorf("RewriteV4Header(%q) = %q, want %q", c.in, got, c.want)
		}
		if string(in) != c.in {
			t.Errorf("RewriteV4Header modified its input %q", c.in)
		}
	}
}

// trainedText returns a small trained model's text (3 features).
func trainedText(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	ds := oneRowPerCandidate(randRows(rng, 200, 3), knownFunc)
	opt := DefaultTrainOptions()
	opt.Rounds = 8
	text, _, err := Train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestModelBadText(t *testing.T) {
	good := trainedText(t)
	if _, err := LoadModel(good); err != nil {
		t.Fatalf("good model: %v", err)
	}
	v4, err := os.ReadFile(filepath.Join("testdata", "lightgbm_v4.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v3 := string(RewriteV4Header(v4))
	treeStart := strings.Index(string(good), "Tree=0")
	cases := []struct {
		name, text, want string
	}{
		{"empty", "", "header"},
		{"garbage", "\x00\x01garbage\nmore=a=b\n\n", "header"},
		{"binary noise", string(bytes.Repeat([]byte{0xff, 0x00, '\n'}, 50)), "version"},
		{"header only", string(good[:treeStart]), "tree 0"},
		{"truncated mid-file", string(good[:len(good)*2/3]), "tree"},
		{"truncated mid-line", string(good[:strings.Index(string(good), "leaf_value=")+14]), "leaf_value"},
		{"wrong version", strings.Replace(v3, "version=v3", "version=v9", 1), "unsupported version"},
		{"multiclass", strings.Replace(strings.Replace(v3, "num_class=1", "num_class=2", 1), "num_tree_per_iteration=1", "num_tree_per_iteration=2", 1), "single-output"},
		{"feature out of range", strings.Replace(v3, "split_feature=1 0 2", "split_feature=1 0 3", 1), "feature 3"},
		{"short leaf values", strings.Replace(v3, "leaf_value=0.012500000000000001 -0.03125 0.0625 -0.0050000000000000001", "leaf_value=0.0125 -0.03125", 1), "leaf_value has 2 values"},
		{"child cycle", strings.Replace(v3, "left_child=1 -1 -2", "left_child=0 -1 -2", 1), "reached twice"},
		{"child out of range", strings.Replace(v3, "right_child=2 -3 -4", "right_child=2 -3 -9", 1), "out of range"},
		{"leaf twice", strings.Replace(v3, "right_child=2 -3 -4", "right_child=2 -3 -3", 1), "reached twice"},
		{"bad number", strings.Replace(v3, "threshold=-1 2.5 0", "threshold=-1 x 0", 1), "bad threshold"},
		{"categorical", strings.Replace(v3, "decision_type=2 2 2", "decision_type=2 3 2", 1), "not a numerical split"},
		{"num_cat", strings.Replace(v3, "num_leaves=4\nnum_cat=0", "num_leaves=4\nnum_cat=1", 1), "categorical"},
		{"linear tree", strings.Replace(v3, "is_linear=0", "is_linear=1", 1), "linear"},
		{"no tree_sizes", strings.Replace(v3, "tree_sizes=", "tree_sizez=", 1), "tree_sizes"},
		{"more trees listed", strings.Replace(v3, "tree_sizes=378 409", "tree_sizes=378 409 10", 1), "tree 2 of 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadModel([]byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) || m != nil {
				t.Errorf("err %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := LoadModelFile(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("missing file loaded")
	}
	// Every prefix of a good model either loads or fails cleanly; none panics.
	for n := 0; n < len(good); n += 1 + n/50 {
		if m, err := LoadModel(good[:n]); err == nil {
			if _, err := m.PredictRows([][]float64{{0, 0, 0}}); err != nil {
				t.Errorf("prefix %d loaded but does not predict: %v", n, err)
			}
		}
	}
}

func TestModelBadRows(t *testing.T) {
	m, err := LoadModel(trainedText(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		rows [][]float64
		want string
	}{
		{"too few features", [][]float64{{0, 0, 0}, {1, 2}}, "row 1: 2 features, the model takes 3"},
		{"too many features", [][]float64{{0, 0, 0, 0}}, "row 0: 4 features"},
		{"empty row", [][]float64{{}}, "0 features"},
		{"NaN", [][]float64{{0, math.NaN(), 0}}, "feature 1 is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if p, err := m.PredictRows(c.rows); err == nil || !strings.Contains(err.Error(), c.want) || p != nil {
				t.Errorf("PredictRows: %v %v, want an error containing %q", p, err, c.want)
			}
			if p, err := m.PredictGroups([][][]float64{{{1, 1, 1}}, c.rows}); err == nil || p != nil {
				t.Errorf("PredictGroups: %v %v, want an error", p, err)
			}
		})
	}
	if p, err := m.PredictRows(nil); err != nil || len(p) != 0 {
		t.Errorf("no rows: %v %v", p, err)
	}
}
