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

/* Kernel softmax_kernel0 (block M_rf_init): grid (32, 1, 1), 16 threads per block. */
__global__ void __launch_bounds__(16) softmax_kernel0(const float* __restrict__ X, float* __restrict__ Y) {
  __shared__ __align__(16) float M_rf[16]; /* float32[1, 16], shared, compacted from [32, 16] */
  int32_t c_0, ax0; /* loop variables */
  {
    const int32_t r = blockIdx.x;
    {
      const int32_t c_1 = threadIdx.x;
      { /* block M_rf_init */
        const int32_t v_r = r;
        const int32_t v_c_1 = c_1;
        M_rf[(v_r - r) * 16 + v_c_1] = -INFINITY;
      }
      __syncthreads();
      #pragma unroll
      for (c_0 = 0; c_0 < 8; ++c_0) {
        { /* block M_rf */
          const int32_t v_r = r;
          const int32_t v_c_0 = c_0;
          const int32_t v_c_1 = c_1;
          M_rf[(v_r - r) * 16 + v_c_1] = colt_maxf(M_rf[(v_r - r) * 16 + v_c_1], X[v_r * 128 + (v_c_0 * 16 + v_c_1)]);
        }
      }
    }
    if (threadIdx.x == 0) { /* block M_init: outside the thread loops, once per GPU block */
      const int32_t v_r = r;
      M[v_r] = -INFINITY;
    }
    __syncthreads();
    #pragma unroll
    for (ax0 = 0; ax0 < 16; ++ax0) {
      if (threadIdx.x == 0) { /* block M: outside the thread loops, once per GPU block */
        const int32_t v_r = r;
        const int32_t v_c_1 = ax0;
        M[v_r] = colt_maxf(M[v_r], M_rf[(v_r - r) * 16 + v_c_1]);
      }
    }
  }
}

/* Kernel softmax_kernel1 (block S_rf_init): grid (32, 1, 1), 2 threads per block. */
__global__ void __launch_bounds__(2) softmax_kernel1(const float* __restrict__ X, float* __restrict__ Y) {
  __shared__ __align__(16) float S_rf[2]; /* float32[1, 2], shared, compacted from [32, 2] */
  int32_t c_0, ax0; /* loop variables */
  {
    const int32_t r = blockIdx.x;
    {
      const int32_t c_1 = threadIdx.x;
      { /* block S_rf_init */
        const int32_t v_r = r;
        const int32_t v_c_1 = c_1;
        S_rf[(v_r - r) * 2 + v_c_1] = 0.0f;
      }
      __syncthreads();
      #pragma unroll
      for (c_0 = 0; c_0 < 64; ++c_0) {
        { /* block S_rf */
          const int32_t v_r = r;
          const int32_t v_c_0 = c_0;
          const int32_t v_c_1 = c_1;
          S_rf[(v_r - r) * 2 + v_c_1] += expf(X[v_r * 128 + (v_c_0 * 2 + v_c_1)] - M[v_r]);
        }
      }
    }
    if (threadIdx.x == 0) { /* block S_init: outside the thread loops, once per GPU block */
      const int32_t v_r = r;
      S[v_r] = 0.0f;
    }
    __syncthreads();
    #pragma unroll
    for (ax0 = 0; ax0 < 2; ++ax0) {
      if (threadIdx.x == 0) { /* block S: outside the thread loops, once per GPU block */
        const int32_t v_r = r;
        const int32_t v_c_1 = ax0;
        S[v_r] += S_rf[(v_r - r) * 2 + v_c_1];
      }
    }
  }
}

/* Kernel softmax_kernel2 (block Y): grid (64, 1, 1), 64 threads per block. */
__global__ void __launch_bounds__(64) softmax_kernel2(const float* __restrict__ X, float* __restrict__ Y) {
  {
    const int32_t r_c_fused_0 = blockIdx.x;
    {
      const int32_t r_c_fused_1 = threadIdx.x;
      { /* block Y */
        const int32_t v_r = (r_c_fused_0 * 64 + r_c_fused_1) / 128;
        const int32_t v_c = (r_c_fused_0 * 64 + r_c_fused_1) % 128;
        Y[v_r * 128 + v_c] = expf(X[v_r * 128 + v_c] - M[v_r]) / S[v_r];
      }
    }
  }
}

/* Host launcher: launches the kernels in order on the default stream; the pointers are device
 * pointers. It does not synchronize. */
void softmax(const float* X, float* Y) {
  softmax_kernel0<<<dim3(32, 1, 1), dim3(16, 1, 1)>>>(X, Y);
  softmax_kernel1<<<dim3(32, 1, 1), dim3(2, 1, 1)>>>(X, Y);
  softmax_kernel2<<<dim3(64, 1, 1), dim3(64, 1, 1)>>>(X, Y);
}
