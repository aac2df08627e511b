/*
 * colt kernel "matmul", lowered from the GPU-scheduled IR by colt's CUDA backend for sm_90.
 * 1 kernel launch(es); buffers are flat row-major arrays indexed with int32_t.
 * Parameters (device pointers):
 *   A  float32[64, 64]  input
 *   B  float32[64, 64]  input
 *   C  float32[64, 64]  output
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

/* Kernel matmul_kernel0 (block C_init): grid (64, 1, 1), 16 threads per block. */
__global__ void __launch_bounds__(16) matmul_kernel0(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C) {
  __shared__ __align__(16) float A_shared[64]; /* float32[4, 16], shared, compacted from [64, 64] */
  __shared__ __align__(16) float B_shared[256]; /* float32[16, 16], shared, compacted from [64, 64] */
  float C_local[4]; /* float32[2, 2], local, compacted from [64, 64], per thread */
  int32_t i_1_j_1_fused, i_3_init, j_3_init, i_4_init, j_4_init, k_0, ax0_ax1_fused_0, k_1, i_3, j_3, k_2, i_4, j_4, ax0, ax1; /* loop variables */
  {
    const int32_t i_0_j_0_fused = blockIdx.x;
    #pragma unroll
    for (i_1_j_1_fused = 0; i_1_j_1_fused < 1; ++i_1_j_1_fused) {
      {
        const int32_t i_2_j_2_fused = threadIdx.x;
        #pragma unroll
        for (i_3_init = 0; i_3_init < 2; ++i_3_init) {
          #pragma unroll
          for (j_3_init = 0; j_3_init < 2; ++j_3_init) {
            for (i_4_init = 0; i_4_init < 1; ++i_4_init) {
              for (j_4_init = 0; j_4_init < 1; ++j_4_init) {
                { /* block C_init */
                  const int32_t v_i = i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2 + i_3_init + i_4_init;
                  const int32_t v_j = i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2 + j_3_init + j_4_init;
                  C_local[(v_i - (i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2)) * 2 + (v_j - (i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2))] = 0.0f;
                }
              }
            }
          }
        }
        for (k_0 = 0; k_0 < 4; ++k_0) {
          __syncthreads();
          for (ax0_ax1_fused_0 = 0; ax0_ax1_fused_0 < 1; ++ax0_ax1_fused_0) {
            {
              const int32_t ax0_ax1_fused_1 = threadIdx.x;
              { /* ax0_ax1_fused_2: one float4 copy */
                const int32_t ax0_ax1_fused_2 = 0;
                { /* block A_shared */
                  const int32_t v0 = i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + (ax0_ax1_fused_0 * 64 + ax0_ax1_fused_1 * 4 + ax0_ax1_fused_2) / 16;
                  const int32_t v1 = k_0 * 16 + (ax0_ax1_fused_0 * 64 + ax0_ax1_fused_1 * 4 + ax0_ax1_fused_2) % 16;
                  *(float4*)&A_shared[(v0 - (i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4)) * 16 + (v1 - k_0 * 16)] = *(const float4*)&A[v0 * 64 + v1];
                }
              }
            }
          }
          #pragma unroll
          for (ax0_ax1_fused_0 = 0; ax0_ax1_fused_0 < 8; ++ax0_ax1_fused_0) {
            {
              const int32_t ax0_ax1_fused_1 = threadIdx.x;
              { /* ax0_ax1_fused_2: one float2 copy */
                const int32_t ax0_ax1_fused_2 = 0;
                { /* block B_shared */
                  const int32_t v0 = k_0 * 16 + (ax0_ax1_fused_0 * 32 + ax0_ax1_fused_1 * 2 + ax0_ax1_fused_2) / 16;
                  const int32_t v1 = i_0_j_0_fused % 4 * 16 + (ax0_ax1_fused_0 * 32 + ax0_ax1_fused_1 * 2 + ax0_ax1_fused_2) % 16;
                  *(float2*)&B_shared[(v0 - k_0 * 16) * 16 + (v1 - i_0_j_0_fused % 4 * 16)] = *(const float2*)&B[v0 * 64 + v1];
                }
              }
            }
          }
          __syncthreads();
          #pragma unroll
          for (k_1 = 0; k_1 < 4; ++k_1) {
            #pragma unroll
            for (i_3 = 0; i_3 < 2; ++i_3) {
              #pragma unroll
              for (j_3 = 0; j_3 < 2; ++j_3) {
                #pragma unroll
                for (k_2 = 0; k_2 < 4; ++k_2) {
                  for (i_4 = 0; i_4 < 1; ++i_4) {
                    for (j_4 = 0; j_4 < 1; ++j_4) {
                      { /* block C */
                        const int32_t v_i = i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2 + i_3 + i_4;
                        const int32_t v_j = i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2 + j_3 + j_4;
                        const int32_t v_k = k_0 * 16 + k_1 * 4 + k_2;
                        C_local[(v_i - (i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2)) * 2 + (v_j - (i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2))] += A_shared[(v_i - (i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4)) * 16 + (v_k - k_0 * 16)] * B_shared[(v_k - k_0 * 16) * 16 + (v_j - i_0_j_0_fused % 4 * 16)];
                      }
                    }
                  }
                }
              }
            }
          }
        }
        #pragma unroll
        for (ax0 = 0; ax0 < 2; ++ax0) {
          #pragma unroll
          for (ax1 = 0; ax1 < 2; ++ax1) {
            { /* block C_local */
              const int32_t v0 = i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2 + ax0;
              const int32_t v1 = i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2 + ax1;
              C[v0 * 64 + v1] = C_local[(v0 - (i_0_j_0_fused / 4 * 4 + i_1_j_1_fused * 4 + i_2_j_2_fused / 8 * 2)) * 2 + (v1 - (i_0_j_0_fused % 4 * 16 + i_2_j_2_fused % 8 * 2))];
            }
          }
        }
      }
    }
  }
}

/* Host launcher: launches the kernels in order on the default stream; the pointers are device
 * pointers. It does not synchronize. */
void matmul(const float* A, const float* B, float* C) {
  matmul_kernel0<<<dim3(64, 1, 1), dim3(16, 1, 1)>>>(A, B, C);
}
