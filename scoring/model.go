package scoring

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/dmitryikh/leaves"
)

// Model is a loaded tree-ensemble cost model; every prediction goes through leaves. A Model is
// safe for concurrent use.
type Model struct {
	ens       *leaves.Ensemble
	nFeatures int
	nTrees    int
}

// LoadModel reads a LightGBM text model (version v2 or v3; pass LightGBM 4.x files through
// RewriteV4Header first), such as the bytes Train returns. The model must be single-output with
// numerical, non-linear trees. Predictions are raw sums of the trees (no objective transform).
func LoadModel(text []byte) (*Model, error) {
	info, err := checkLightGBMText(text)
	if err != nil {
		return nil, fmt.Errorf("scoring: load model: %w", err)
	}
	ens, err := loadLeaves(text)
	if err != nil {
		return nil, fmt.Errorf("scoring: load model: %w", err)
	}
	if ens.NEstimators() != info.nTrees {
		return nil, fmt.Errorf("scoring: load model: leaves read %d trees, the header lists %d", ens.NEstimators(), info.nTrees)
	}
	return &Model{ens: ens, nFeatures: info.nFeatures, nTrees: info.nTrees}, nil
}

// loadLeaves calls leaves' parser. checkLightGBMText has already rejected the inputs known to
// make that parser index out of range, but the recover turns any panic it might still raise on
// corrupt text into an error rather than a crash.
func loadLeaves(text []byte) (ens *leaves.Ensemble, err error) {
	defer func() {
		if r := recover(); r != nil {
			ens, err = nil, fmt.Errorf("leaves panicked on the model text: %v", r)
		}
	}()
	return leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(text)), false)
}

// LoadModelFile reads a LightGBM text model file (see LoadModel).
func LoadModelFile(path string) (*Model, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scoring: load model: %w", err)
	}
	m, err := LoadModel(text)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// NumFeatures is the number of features every row passed to the model must have
// (max_feature_idx + 1).
func (m *Model) NumFeatures() int { return m.nFeatures }

// NumTrees is the number of trees in the model.
func (m *Model) NumTrees() int { return m.nTrees }

// PredictRows returns one prediction per row, computed by leaves. Every row must have exactly
// NumFeatures values and no NaN (the caller sanitises features as it does for training).
func (m *Model) PredictRows(rows [][]float64) ([]float64, error) {
	out := make([]float64, len(rows))
	for i, row := range rows {
		if err := m.checkRow(row); err != nil {
			return nil, fmt.Errorf("scoring: predict: row %d: %w", i, err)
		}
	}
	if err := m.predictInto(rows, out); err != nil {
		return nil, err
	}
	return out, nil
}

// PredictGroups returns one score per candidate: the sum of the predictions of its rows
// (pack-sum), as Train's objective defines it; a candidate without rows scores 0.
func (m *Model) PredictGroups(groups [][][]float64) ([]float64, error) {
	var rows [][]float64
	for c, g := range groups {
		for i, row := range g {
			if err := m.checkRow(row); err != nil {
				return nil, fmt.Errorf("scoring: predict: candidate %d row %d: %w", c, i, err)
			}
		}
		rows = append(rows, g...)
	}
	preds := make([]float64, len(rows))
	if err := m.predictInto(rows, preds); err != nil {
		return nil, err
	}
	out := make([]float64, len(groups))
	k := 0
	for c, g := range groups {
		s := 0.0
		for range g {
			s += preds[k]
			k++
		}
		out[c] = s
	}
	return out, nil
}

func (m *Model) checkRow(row []float64) error {
	if len(row) != m.nFeatures {
		return fmt.Errorf("%d features, the model takes %d", len(row), m.nFeatures)
	}
	for j, x := range row {
		if math.IsNaN(x) {
			return fmt.Errorf("feature %d is NaN", j)
		}
	}
	return nil
}

// predictInto runs leaves on checked rows. The model text was validated at load, so leaves should
// not panic here; the recover is a last guard that turns a panic into an error.
func (m *Model) predictInto(rows [][]float64, out []float64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scoring: predict: leaves panicked: %v", r)
		}
	}()
	for i, row := range rows {
		if err := m.ens.Predict(row, 0, out[i:i+1]); err != nil {
			return fmt.Errorf("scoring: predict: row %d: %w", i, err)
		}
	}
	return nil
}
