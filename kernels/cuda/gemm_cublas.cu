// Dense GEMM through cuBLAS: the roofline reference for the matrix units. Row-major
// y[M][N] = x[M][K] w[N][K]^T is, in cuBLAS's column-major terms, y^T = w^T(op T) x.
#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {

void gemm_bf16(cublasHandle_t h, int m, int n, int k, const bf16* x, int ldx, const bf16* w, bf16* y) {
  const float alpha = 1.0f, beta = 0.0f;
  GWSIM_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, CUDA_R_16BF, k, x, CUDA_R_16BF, ldx,
                                  &beta, y, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_bf16_f32out(cublasHandle_t h, int m, int n, int k, const bf16* x, int ldx, const bf16* w, float* y) {
  const float alpha = 1.0f, beta = 0.0f;
  GWSIM_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, CUDA_R_16BF, k, x, CUDA_R_16BF, ldx,
                                  &beta, y, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace gwsim::cuda
