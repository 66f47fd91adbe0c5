// MoE combine: the weighted un-permute. One block per token reads its top_k expert rows
// (16-byte vectors), sums in fp32 and writes one bf16 row.
#include <stdexcept>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kMaxTopK = 16;

__global__ void __launch_bounds__(128)
    combine_kernel(int top_k, int hidden_vec, const uint4* __restrict__ y_perm, const int* __restrict__ pos_of,
                   const float* __restrict__ topk_weight, uint4* __restrict__ out) {
  __shared__ int pos[kMaxTopK];
  __shared__ float w[kMaxTopK];
  const int t = blockIdx.x;
  if (threadIdx.x < top_k) {
    pos[threadIdx.x] = pos_of[static_cast<std::size_t>(t) * top_k + threadIdx.x];
    w[threadIdx.x] = topk_weight[static_cast<std::size_t>(t) * top_k + threadIdx.x];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < hidden_vec; i += blockDim.x) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < top_k; ++j) {
      const uint4 v = y_perm[static_cast<std::size_t>(pos[j]) * hidden_vec + i];
      const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const float2 f = __bfloat1622float2(h[q]);
        acc[2 * q] += w[j] * f.x;
        acc[2 * q + 1] += w[j] * f.y;
      }
    }
    uint4 o;
    __nv_bfloat162* oh = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int q = 0; q < 4; ++q) oh[q] = __floats2bfloat162_rn(acc[2 * q], acc[2 * q + 1]);
    out[static_cast<std::size_t>(t) * hidden_vec + i] = o;
  }
}

}  // namespace

void moe_combine(int tokens, int top_k, int hidden, const bf16* y_perm, const int* pos_of, const float* topk_weight,
                 bf16* out, cudaStream_t s) {
  if (hidden % 8 != 0 || top_k > kMaxTopK || top_k <= 0)
    throw std::invalid_argument("moe_combine: hidden % 8 and 1 <= top_k <= 16");
  if (tokens <= 0) return;
  combine_kernel<<<tokens, 128, 0, s>>>(top_k, hidden / 8, reinterpret_cast<const uint4*>(y_perm), pos_of, topk_weight,
                                        reinterpret_cast<uint4*>(out));
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
