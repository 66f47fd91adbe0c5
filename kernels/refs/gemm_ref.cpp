// Dense and grouped GEMM references (double accumulation).
#include "gwsim/kernels/refs.h"

namespace gwsim::kernels::ref {

void gemm_ref(int m, int n, int k, const float* x, const float* w, float* y) {
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<std::size_t>(i) * k;
    for (int j = 0; j < n; ++j) {
      const float* wr = w + static_cast<std::size_t>(j) * k;
      double acc = 0.0;
      for (int kk = 0; kk < k; ++kk) acc += static_cast<double>(xr[kk]) * wr[kk];
      y[static_cast<std::size_t>(i) * n + j] = static_cast<float>(acc);
    }
  }
}

void grouped_gemm_ref(int experts, const int* counts, int n, int k, const float* x, const float* w, float* y) {
  std::size_t row = 0;
  for (int e = 0; e < experts; ++e) {
    gemm_ref(counts[e], n, k, x + row * k, w + static_cast<std::size_t>(e) * n * k, y + row * n);
    row += static_cast<std::size_t>(counts[e]);
  }
}

}  // namespace gwsim::kernels::ref
