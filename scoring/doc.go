// Package scoring extracts features from scheduled programs and predicts their speed with a
// gradient-boosted tree cost model (with an analytic estimate before it has data). It arrives
// with the cost-model issue.
package scoring
