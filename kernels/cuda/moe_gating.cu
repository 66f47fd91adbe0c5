// DeepSeek-V3 router on the GPU: one warp per token. Lane l holds experts 8l..8l+7, so the
// four lanes 4g..4g+3 hold group g (32 experts) and every reduction is a few shuffles.
#include <cmath>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kExperts = 256, kGroups = 8, kTopkGroups = 4, kTopK = 8, kPerLane = 8;

// (va, ia) ranks before (vb, ib): higher value, ties to the lower index (as the CPU reference).
__device__ __forceinline__ bool ranks_before(float va, int ia, float vb, int ib) {
  return va > vb || (va == vb && ia < ib);
}

__global__ void __launch_bounds__(256)
    moe_gating_kernel(int tokens, const float* __restrict__ logits, const float* __restrict__ bias, float scaling,
                      int* __restrict__ topk_idx, float* __restrict__ topk_weight) {
  const int lane = threadIdx.x & 31;
  const int token = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  if (token >= tokens) return;  // whole warps leave together
  const float* lg = logits + static_cast<std::size_t>(token) * kExperts + lane * kPerLane;
  const float4 l0 = reinterpret_cast<const float4*>(lg)[0];
  const float4 l1 = reinterpret_cast<const float4*>(lg)[1];
  const float lv[kPerLane] = {l0.x, l0.y, l0.z, l0.w, l1.x, l1.y, l1.z, l1.w};
  float score[kPerLane], biased[kPerLane];
  float t1 = -INFINITY, t2 = -INFINITY;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    score[i] = 1.0f / (1.0f + expf(-lv[i]));
    biased[i] = score[i] + bias[lane * kPerLane + i];
    if (biased[i] > t1) {
      t2 = t1;
      t1 = biased[i];
    } else if (biased[i] > t2) {
      t2 = biased[i];
    }
  }
  // Merge the top-2 lists of the group's four lanes.
#pragma unroll
  for (int off = 1; off <= 2; off <<= 1) {
    const float o1 = __shfl_xor_sync(0xffffffffu, t1, off);
    const float o2 = __shfl_xor_sync(0xffffffffu, t2, off);
    const float n1 = fmaxf(t1, o1);
    const float n2 = fmaxf(fminf(t1, o1), fmaxf(t2, o2));
    t1 = n1;
    t2 = n2;
  }
  const float my_group_score = t1 + t2;
  const int my_group = lane / 4;
  int rank = 0;
#pragma unroll
  for (int g = 0; g < kGroups; ++g) {
    const float gs = __shfl_sync(0xffffffffu, my_group_score, g * 4);
    if (ranks_before(gs, g, my_group_score, my_group)) ++rank;
  }
  const bool kept = rank < kTopkGroups;
  float cand[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) cand[i] = kept ? biased[i] : -INFINITY;

  int sel_idx[kTopK];
  float sel_score[kTopK];
  float sum = 0.0f;
#pragma unroll
  for (int r = 0; r < kTopK; ++r) {
    float best = -INFINITY;
    int best_i = 0;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      if (cand[i] > best) {  // strict: the lower index wins ties inside a lane
        best = cand[i];
        best_i = i;
      }
    int best_e = lane * kPerLane + best_i;
    float best_s = score[0];
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      if (i == best_i) best_s = score[i];
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, off);
      const int oe = __shfl_xor_sync(0xffffffffu, best_e, off);
      const float os = __shfl_xor_sync(0xffffffffu, best_s, off);
      if (ranks_before(ov, oe, best, best_e)) {
        best = ov;
        best_e = oe;
        best_s = os;
      }
    }
    // The owner retires the winner so the next round finds the next best.
    if (best_e / kPerLane == lane) {
#pragma unroll
      for (int i = 0; i < kPerLane; ++i)
        if (i == best_e % kPerLane) cand[i] = -INFINITY;
    }
    sel_idx[r] = best_e;
    sel_score[r] = best_s;
    sum += best_s;
  }
  if (lane == 0) {
    const float norm = scaling / sum;
#pragma unroll
    for (int r = 0; r < kTopK; ++r) {
      topk_idx[static_cast<std::size_t>(token) * kTopK + r] = sel_idx[r];
      topk_weight[static_cast<std::size_t>(token) * kTopK + r] = sel_score[r] * norm;
    }
  }
}

}  // namespace

void moe_gating(int tokens, const float* logits, const float* bias, float routed_scaling, int* topk_idx,
                float* topk_weight, cudaStream_t s) {
  if (tokens <= 0) return;
  const int warps_per_block = 8;
  const int blocks = (tokens + warps_per_block - 1) / warps_per_block;
  moe_gating_kernel<<<blocks, warps_per_block * 32, 0, s>>>(tokens, logits, bias, routed_scaling, topk_idx,
                                                            topk_weight);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
