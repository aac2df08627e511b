/*
 * colt kernel "mm8", lowered from the scheduled IR by colt's C backend.
 * Precision: each buffer in its own type.
 * Buffers are flat row-major arrays indexed with int32_t.
 * Parameters:
 *   A  float32[8, 8]  input
 *   B  float32[8, 8]  input
 *   C  float32[8, 8]  output
 */
#include <math.h>
#include <stdint.h>

void mm8(const float* restrict A, const float* restrict B, float* restrict C) {
  for (int32_t m = 0; m < 8; ++m) {
    for (int32_t n = 0; n < 8; ++n) {
      { /* block C_init */
        const int32_t v_m = m;
        const int32_t v_n = n;
        C[v_m * 8 + v_n] = 0.0f;
      }
      for (int32_t k = 0; k < 8; ++k) {
        { /* block C */
          const int32_t v_m = m;
          const int32_t v_n = n;
          const int32_t v_k = k;
          C[v_m * 8 + v_n] += A[v_m * 8 + v_k] * B[v_k * 8 + v_n];
        }
      }
    }
  }
}
