/*
 * colt kernel "softmax", lowered from the GPU-scheduled IR by colt's CUDA backend for sm_90.
 * 3 kernel launch(es); buffers are flat row-major arrays indexed with int32_t.
 * Parameters (device pointers):
 *   X  float32[32, 128]  input
 *   Y  float32[32, 128]  output
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

static __device__ inline float colt_maxf(float a, float b) { return a > b ? a : b; }

/* Intermediate buffers of the root block, in device memory. */
__device__ float M[32]; /* float32[32] */
__device__ float S[32]; /* float32[32] */

/* Kernel softmax_kernel0 (block M_init): grid (32, 1, 1), 1 threads per block. */
__global__ void __launch_bounds__(1) softmax_kernel0(const float* __restrict__ X, float* __restrict__ Y) {
  int32_t c; /* loop variables */
  {
    const int32_t r_0 = blockIdx.x;
    {
      const int32_t r_1 = threadIdx.x;
      { /* block M_init */
        const int32_t v_r = r_0 + r_1;
        M[v_r] = -INFINITY;
      }
      for (c = 0; c < 128; ++c) {
        { /* block M */
          const int32_t v_r = r_0 + r_1;
          const int32_t v_c = c;
          M[v_r] = colt_maxf(M[v_r], X[v_r * 128 + v_c]);
        }
      }
    }
  }
}

/* Kernel softmax_kernel1 (block S_init): grid (8, 1, 1), 4 threads per block. */
__global__ void __launch_bounds__(4) softmax_kernel1(const float* __restrict__ X, float* __restrict__ Y) {
  int32_t c; /* loop variables */
  {
    const int32_t r_0 = blockIdx.x;
    {
      const int32_t r_1 = threadIdx.x;
      { /* block S_init */
        const int32_t v_r = r_0 * 4 + r_1;
        S[v_r] = 0.0f;
      }
      for (c = 0; c < 128; ++c) {
        { /* block S */
          const int32_t v_r = r_0 * 4 + r_1;
          const int32_t v_c = c;
          S[v_r] += expf(X[v_r * 128 + v_c] - M[v_r]);
        }
      }
    }
  }
}

/* Kernel softmax_kernel2 (block Y): grid (16, 1, 1), 256 threads per block. */
__global__ void __launch_bounds__(256) softmax_kernel2(const float* __restrict__ X, float* __restrict__ Y) {
  {
    const int32_t r_c_fused_0 = blockIdx.x;
    {
      const int32_t r_c_fused_1 = threadIdx.x;
      { /* block Y */
        const int32_t v_r = (r_c_fused_0 * 256 + r_c_fused_1) / 128;
        const int32_t v_c = (r_c_fused_0 * 256 + r_c_fused_1) % 128;
        Y[v_r * 128 + v_c] = expf(X[v_r * 128 + v_c] - M[v_r]) / S[v_r];
      }
    }
  }
}

/* Host launcher: launches the kernels in order on the default stream; the pointers are device
 * pointers. It does not synchronize. */
void softmax(const float* X, float* Y) {
  softmax_kernel0<<<dim3(32, 1, 1), dim3(1, 1, 1)>>>(X, Y);
  softmax_kernel1<<<dim3(8, 1, 1), dim3(4, 1, 1)>>>(X, Y);
  softmax_kernel2<<<dim3(16, 1, 1), dim3(256, 1, 1)>>>(X, Y);
}
