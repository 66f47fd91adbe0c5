// FP8 (E4M3) GEMM through cuBLASLt, bf16 output, fp32 accumulate, per-tensor scales given as
// device pointers (CUBLASLT_MATMUL_DESC_{A,B}_SCALE_POINTER). On sm_90 cuBLASLt runs FP8 only in
// the "TN" form: in its column-major terms A transposed and B not, i.e. both operands K-major.
// Row-major y[M][N] = x[M][K] w[N][K]^T is exactly that: y^T (n x m) = w^T(op T on k x n) x.
// K must be a multiple of 16 (16-byte aligned rows of FP8).
#include <cuda_fp8.h>

#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "ops.h"

#define GWSIM_CUBLASLT_CHECK(call)                                                            \
  do {                                                                                        \
    const cublasStatus_t gwsim_st_ = (call);                                                  \
    if (gwsim_st_ != CUBLAS_STATUS_SUCCESS)                                                   \
      ::gwsim::cuda::throw_cuda(#call, __FILE__, __LINE__, cublasGetStatusString(gwsim_st_)); \
  } while (0)

namespace gwsim::cuda {

namespace {
__global__ void bf16_to_fp8_kernel(const bf16* __restrict__ src, __nv_fp8_e4m3* __restrict__ dst, std::size_t n,
                                   float inv_scale) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    dst[i] = __nv_fp8_e4m3(__bfloat162float(src[i]) * inv_scale);  // saturating to +-448
}
}  // namespace

void convert_bf16_to_fp8_e4m3(const bf16* src, void* dst, std::size_t n, float inv_scale, cudaStream_t s) {
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<std::size_t>((n + 255) / 256, 4096));
  bf16_to_fp8_kernel<<<blocks, 256, 0, s>>>(src, static_cast<__nv_fp8_e4m3*>(dst), n, inv_scale);
  GWSIM_LAUNCH_CHECK();
}

Fp8Gemm::Fp8Gemm() {
  GWSIM_CUBLASLT_CHECK(cublasLtCreate(&lt_));
  GWSIM_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
}

Fp8Gemm::~Fp8Gemm() {
  for (auto& kv : plans_) {
    (void)cublasLtMatmulDescDestroy(kv.second.op);
    (void)cublasLtMatrixLayoutDestroy(kv.second.a);
    (void)cublasLtMatrixLayoutDestroy(kv.second.b);
    (void)cublasLtMatrixLayoutDestroy(kv.second.c);
  }
  if (workspace_) (void)cudaFree(workspace_);
  if (lt_) (void)cublasLtDestroy(lt_);
}

void Fp8Gemm::run(int m, int n, int k, const void* x, const void* w, const float* scale_x, const float* scale_w,
                  bf16* y, cudaStream_t s) {
  if (k % 16 != 0) throw std::invalid_argument("Fp8Gemm: K must be a multiple of 16");
  const auto key = std::make_tuple(m, n, k);
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    Plan pl{};
    GWSIM_CUBLASLT_CHECK(cublasLtMatmulDescCreate(&pl.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    GWSIM_CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    GWSIM_CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    // A = w (k x n, column-major, ld k), B = x (k x m, ld k), C = D = y (n x m, ld n).
    GWSIM_CUBLASLT_CHECK(cublasLtMatrixLayoutCreate(&pl.a, CUDA_R_8F_E4M3, k, n, k));
    GWSIM_CUBLASLT_CHECK(cublasLtMatrixLayoutCreate(&pl.b, CUDA_R_8F_E4M3, k, m, k));
    GWSIM_CUBLASLT_CHECK(cublasLtMatrixLayoutCreate(&pl.c, CUDA_R_16BF, n, m, n));
    cublasLtMatmulPreference_t pref = nullptr;
    GWSIM_CUBLASLT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const std::size_t ws = kWorkspaceBytes;
    GWSIM_CUBLASLT_CHECK(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    // The scale pointers must be set before the heuristic query (they select the scaled kernels).
    GWSIM_CUBLASLT_CHECK(
        cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale_w, sizeof scale_w));
    GWSIM_CUBLASLT_CHECK(
        cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale_x, sizeof scale_x));
    cublasLtMatmulHeuristicResult_t res[8]{};
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt_, pl.op, pl.a, pl.b, pl.c, pl.c, pref, 8, res, &found);
    (void)cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0)
      throw std::runtime_error("Fp8Gemm: no cuBLASLt FP8 algorithm for " + std::to_string(m) + "x" + std::to_string(n) +
                               "x" + std::to_string(k) + " (" + cublasGetStatusString(st) + ")");
    // The first candidate that runs (the 2026-11-28 run saw the heuristic's first answer refused
    // by cublasLtMatmul as "not supported", with 4-byte-aligned scale pointers).
    const float alpha = 1.0f, beta = 0.0f;
    cublasStatus_t last = CUBLAS_STATUS_NOT_SUPPORTED;
    int chosen = -1;
    for (int i = 0; i < found && chosen < 0; ++i) {
      if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
      last = cublasLtMatmul(lt_, pl.op, &alpha, w, pl.a, x, pl.b, &beta, y, pl.c, y, pl.c, &res[i].algo, workspace_,
                            kWorkspaceBytes, s);
      if (last == CUBLAS_STATUS_SUCCESS) chosen = i;
    }
    if (chosen < 0) {
      (void)cublasLtMatmulDescDestroy(pl.op);
      (void)cublasLtMatrixLayoutDestroy(pl.a);
      (void)cublasLtMatrixLayoutDestroy(pl.b);
      (void)cublasLtMatrixLayoutDestroy(pl.c);
      throw std::runtime_error("Fp8Gemm: none of " + std::to_string(found) + " cuBLASLt FP8 algorithms ran for " +
                               std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " (" +
                               cublasGetStatusString(last) + ")");
    }
    pl.algo = res[chosen].algo;
    plans_.emplace(key, pl);
    return;  // this call's product is done
  }
  Plan& pl = it->second;
  GWSIM_CUBLASLT_CHECK(
      cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale_w, sizeof scale_w));
  GWSIM_CUBLASLT_CHECK(
      cublasLtMatmulDescSetAttribute(pl.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale_x, sizeof scale_x));
  const float alpha = 1.0f, beta = 0.0f;
  GWSIM_CUBLASLT_CHECK(cublasLtMatmul(lt_, pl.op, &alpha, w, pl.a, x, pl.b, &beta, y, pl.c, y, pl.c, &pl.algo,
                                      workspace_, kWorkspaceBytes, s));
}

}  // namespace gwsim::cuda
