// Grouped GEMM over experts with uneven token counts, through cuBLAS: one grouped call
// (cublasGemmGroupedBatchedEx, one group per active expert) and, as a baseline, a loop of
// cublasGemmEx. Experts with no tokens are left out: cuBLAS would see m = 0 problems.
#include <algorithm>
#include <numeric>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {

GroupedGemmPlan::GroupedGemmPlan(const std::vector<int>& counts, int n, int k, const bf16* x, const bf16* w, bf16* y) {
  std::size_t row = 0;
  for (std::size_t e = 0; e < counts.size(); ++e) {
    const int rows = counts[e];
    if (rows > 0) {
      // Column-major view: C (n x rows) = W_e^T (op T on a k x n matrix) * X_e (k x rows).
      ta_.push_back(CUBLAS_OP_T);
      tb_.push_back(CUBLAS_OP_N);
      m_.push_back(n);
      n_.push_back(rows);
      k_.push_back(k);
      lda_.push_back(k);
      ldb_.push_back(k);
      ldc_.push_back(n);
      alpha_.push_back(1.0f);
      beta_.push_back(0.0f);
      group_size_.push_back(1);
      a_host_.push_back(w + e * static_cast<std::size_t>(n) * k);
      b_host_.push_back(x + row * k);
      c_host_.push_back(y + row * n);
    }
    row += static_cast<std::size_t>(rows > 0 ? rows : 0);
  }
  const std::size_t p = a_host_.size();
  if (p == 0) return;
  GWSIM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&a_dev_), p * sizeof(void*)));
  GWSIM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&b_dev_), p * sizeof(void*)));
  GWSIM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&c_dev_), p * sizeof(void*)));
  GWSIM_CUDA_CHECK(cudaMemcpy(a_dev_, a_host_.data(), p * sizeof(void*), cudaMemcpyHostToDevice));
  GWSIM_CUDA_CHECK(cudaMemcpy(b_dev_, b_host_.data(), p * sizeof(void*), cudaMemcpyHostToDevice));
  GWSIM_CUDA_CHECK(cudaMemcpy(c_dev_, c_host_.data(), p * sizeof(void*), cudaMemcpyHostToDevice));
}

GroupedGemmPlan::~GroupedGemmPlan() {
  // Destructors must not throw: errors here are ignored (the pointers are ours).
  if (a_dev_) (void)cudaFree(a_dev_);
  if (b_dev_) (void)cudaFree(b_dev_);
  if (c_dev_) (void)cudaFree(c_dev_);
}

void GroupedGemmPlan::run_grouped(cublasHandle_t h) const {
  if (m_.empty()) return;
  GWSIM_CUBLAS_CHECK(cublasGemmGroupedBatchedEx(h, ta_.data(), tb_.data(), m_.data(), n_.data(), k_.data(),
                                                alpha_.data(), a_dev_, CUDA_R_16BF, lda_.data(), b_dev_, CUDA_R_16BF,
                                                ldb_.data(), beta_.data(), c_dev_, CUDA_R_16BF, ldc_.data(),
                                                static_cast<int>(m_.size()), group_size_.data(), CUBLAS_COMPUTE_32F));
}

void GroupedGemmPlan::run_loop(cublasHandle_t h) const {
  for (std::size_t i = 0; i < m_.size(); ++i) {
    GWSIM_CUBLAS_CHECK(cublasGemmEx(h, ta_[i], tb_[i], m_[i], n_[i], k_[i], &alpha_[i], a_host_[i], CUDA_R_16BF,
                                    lda_[i], b_host_[i], CUDA_R_16BF, ldb_[i], &beta_[i], c_host_[i], CUDA_R_16BF,
                                    ldc_[i], CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
}

void GroupedGemmPlan::run_streams(const StreamPool& pool, cudaStream_t origin) const {
  if (m_.empty()) return;
  const int ns = pool.size();
  std::vector<int> order(m_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return n_[a] > n_[b]; });
  std::vector<long long> load(ns, 0);
  pool.fork(origin);
  for (const int i : order) {
    const int s = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[s] += n_[i];
    GWSIM_CUBLAS_CHECK(cublasGemmEx(pool.handle(s), ta_[i], tb_[i], m_[i], n_[i], k_[i], &alpha_[i], a_host_[i],
                                    CUDA_R_16BF, lda_[i], b_host_[i], CUDA_R_16BF, ldb_[i], &beta_[i], c_host_[i],
                                    CUDA_R_16BF, ldc_[i], CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
  pool.join(origin);
}

StreamPool::StreamPool(int n) {
  GWSIM_CUDA_CHECK(cudaEventCreateWithFlags(&start_, cudaEventDisableTiming));
  for (int i = 0; i < n; ++i) {
    cudaStream_t s = nullptr;
    GWSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    streams_.push_back(s);
    cublasHandle_t h = nullptr;
    GWSIM_CUBLAS_CHECK(cublasCreate(&h));
    handles_.push_back(h);
    GWSIM_CUBLAS_CHECK(cublasSetStream(h, s));
    cudaEvent_t e = nullptr;
    GWSIM_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    done_.push_back(e);
  }
}

StreamPool::~StreamPool() {
  for (auto h : handles_) (void)cublasDestroy(h);
  for (auto e : done_) (void)cudaEventDestroy(e);
  for (auto s : streams_) (void)cudaStreamDestroy(s);
  if (start_) (void)cudaEventDestroy(start_);
}

void StreamPool::fork(cudaStream_t origin) const {
  GWSIM_CUDA_CHECK(cudaEventRecord(start_, origin));
  for (auto s : streams_) GWSIM_CUDA_CHECK(cudaStreamWaitEvent(s, start_, 0));
}

void StreamPool::join(cudaStream_t origin) const {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    GWSIM_CUDA_CHECK(cudaEventRecord(done_[i], streams_[i]));
    GWSIM_CUDA_CHECK(cudaStreamWaitEvent(origin, done_[i], 0));
  }
}

}  // namespace gwsim::cuda
