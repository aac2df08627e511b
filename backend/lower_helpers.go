package backend

import "strings"

// helperDefs are the small functions generated code may call, by name, in emission order.
var helperDefs = []struct{ name, def string }{
	{"colt_floordiv", "static inline int64_t colt_floordiv(int64_t a, int64_t b) {\n  int64_t q = a / b;\n  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;\n}"},
	{"colt_floormod", "static inline int64_t colt_floormod(int64_t a, int64_t b) {\n  int64_t r = a % b;\n  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}"},
	{"colt_mini", "static inline int64_t colt_mini(int64_t a, int64_t b) { return a < b ? a : b; }"},
	{"colt_maxi", "static inline int64_t colt_maxi(int64_t a, int64_t b) { return a > b ? a : b; }"},
	{"colt_minf", "static inline float colt_minf(float a, float b) { return a < b ? a : b; }"},
	{"colt_maxf", "static inline float colt_maxf(float a, float b) { return a > b ? a : b; }"},
	{"colt_rsqrtf", "static inline float colt_rsqrtf(float x) { return 1.0f / sqrtf(x); }"},
	{"colt_sigmoidf", "static inline float colt_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }"},
	{"colt_siluf", "static inline float colt_siluf(float x) { return x / (1.0f + expf(-x)); }"},
	{"colt_geluf", "static inline float colt_geluf(float x) { return 0.5f * x * (1.0f + erff(x * 0.707106781f)); }"},
	{"colt_reluf", "static inline float colt_reluf(float x) { return x > 0.0f ? x : 0.0f; }"},
	{"colt_min", "static inline double colt_min(double a, double b) { return a < b ? a : b; }"},
	{"colt_max", "static inline double colt_max(double a, double b) { return a > b ? a : b; }"},
	{"colt_rsqrt", "static inline double colt_rsqrt(double x) { return 1.0 / sqrt(x); }"},
	{"colt_sigmoid", "static inline double colt_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }"},
	{"colt_silu", "static inline double colt_silu(double x) { return x / (1.0 + exp(-x)); }"},
	{"colt_gelu", "static inline double colt_gelu(double x) { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }"},
	{"colt_relu", "static inline double colt_relu(double x) { return x > 0.0 ? x : 0.0; }"},
}

func (l *cLowerer) helperText() string {
	var parts []string
	for _, h := range helperDefs {
		if l.helpers[h.name] {
			parts = append(parts, h.def)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "\n") + "\n"
}
