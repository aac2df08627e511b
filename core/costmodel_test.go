package core

import (
	"math"
	"testing"
)

func TestRankingQuality(t *testing.T) {
	latency := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	perfect := []float64{8, 7, 6, 5, 4, 3, 2, 1}
	reversed := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	flat := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	tests := []struct {
		name                string
		score               []float64
		pairwise, spear, tk float64
	}{
		{"perfect", perfect, 1, 1, 1},
		{"reversed", reversed, 0, -1, 0},
		{"no information", flat, 0.5, 0, 1}, // ties keep input order in top-k
	}
	for _, tt := range tests {
		q := rankingQuality(tt.score, latency)
		if q.Pairs != 28 {
			t.Errorf("%s: %d pairs, want 28", tt.name, q.Pairs)
		}
		if math.Abs(q.PairwiseAccuracy-tt.pairwise) > 1e-12 || math.Abs(q.Spearman-tt.spear) > 1e-12 || math.Abs(q.TopKRecall-tt.tk) > 1e-12 {
			t.Errorf("%s: pairwise %.3f spearman %.3f top-k %.3f, want %.3f %.3f %.3f", tt.name, q.PairwiseAccuracy, q.Spearman, q.TopKRecall, tt.pairwise, tt.spear, tt.tk)
		}
	}
	// One swapped pair out of 28.
	q := rankingQuality([]float64{7, 8, 6, 5, 4, 3, 2, 1}, latency)
	if math.Abs(q.PairwiseAccuracy-27.0/28) > 1e-12 {
		t.Errorf("one swap: pairwise %.4f, want %.4f", q.PairwiseAccuracy, 27.0/28)
	}
}
