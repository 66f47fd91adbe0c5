// MoE references: DeepSeek-V3 gating, dispatch permutation, weighted combine, SwiGLU.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "gwsim/kernels/refs.h"

namespace gwsim::kernels::ref {

namespace {
// True when (va, ia) ranks before (vb, ib): higher value first, ties to the lower index.
bool ranks_before(float va, int ia, float vb, int ib) { return va > vb || (va == vb && ia < ib); }
}  // namespace

void moe_gating_ref(int tokens, const MoeGatingConfig& cfg, const float* logits, const float* bias, int* topk_idx,
                    float* topk_weight) {
  const int e_count = cfg.experts;
  if (cfg.groups <= 0 || e_count % cfg.groups != 0) throw std::invalid_argument("experts % groups");
  const int per_group = e_count / cfg.groups;
  std::vector<float> score(static_cast<std::size_t>(e_count));
  std::vector<float> biased(static_cast<std::size_t>(e_count));
  std::vector<float> group_score(static_cast<std::size_t>(cfg.groups));
  for (int t = 0; t < tokens; ++t) {
    const float* lg = logits + static_cast<std::size_t>(t) * e_count;
    for (int e = 0; e < e_count; ++e) {
      score[static_cast<std::size_t>(e)] = 1.0f / (1.0f + std::exp(-lg[e]));
      biased[static_cast<std::size_t>(e)] = score[static_cast<std::size_t>(e)] + bias[e];
    }
    // A group's score is the sum of its two best biased scores.
    for (int g = 0; g < cfg.groups; ++g) {
      float t1 = -std::numeric_limits<float>::infinity(), t2 = t1;
      for (int i = 0; i < per_group; ++i) {
        const float v = biased[static_cast<std::size_t>(g * per_group + i)];
        if (v > t1) {
          t2 = t1;
          t1 = v;
        } else if (v > t2) {
          t2 = v;
        }
      }
      group_score[static_cast<std::size_t>(g)] = t1 + t2;
    }
    std::vector<bool> group_kept(static_cast<std::size_t>(cfg.groups));
    for (int g = 0; g < cfg.groups; ++g) {
      int rank = 0;
      for (int o = 0; o < cfg.groups; ++o)
        if (ranks_before(group_score[static_cast<std::size_t>(o)], o, group_score[static_cast<std::size_t>(g)], g))
          ++rank;
      group_kept[static_cast<std::size_t>(g)] = rank < cfg.topk_groups;
    }
    // Top-k experts of the kept groups by biased score, in selection order.
    std::vector<int> cand;
    for (int e = 0; e < e_count; ++e)
      if (group_kept[static_cast<std::size_t>(e / per_group)]) cand.push_back(e);
    std::partial_sort(cand.begin(), cand.begin() + cfg.top_k, cand.end(), [&](int a, int b) {
      return ranks_before(biased[static_cast<std::size_t>(a)], a, biased[static_cast<std::size_t>(b)], b);
    });
    double sum = 0.0;
    for (int j = 0; j < cfg.top_k; ++j) sum += score[static_cast<std::size_t>(cand[static_cast<std::size_t>(j)])];
    for (int j = 0; j < cfg.top_k; ++j) {
      const int e = cand[static_cast<std::size_t>(j)];
      topk_idx[static_cast<std::size_t>(t) * cfg.top_k + j] = e;
      topk_weight[static_cast<std::size_t>(t) * cfg.top_k + j] =
          static_cast<float>(score[static_cast<std::size_t>(e)] / sum * cfg.routed_scaling);
    }
  }
}

void moe_permute_ref(int tokens, int top_k, int experts, const int* topk_idx, int* counts, int* offsets, int* row_token,
                     int* pos_of) {
  const int assignments = tokens * top_k;
  std::fill(counts, counts + experts, 0);
  for (int a = 0; a < assignments; ++a) ++counts[topk_idx[a]];
  offsets[0] = 0;
  for (int e = 0; e < experts; ++e) offsets[e + 1] = offsets[e] + counts[e];
  std::vector<int> next(offsets, offsets + experts);
  // Walking assignments in order keeps each expert's rows sorted by t*top_k + j.
  for (int a = 0; a < assignments; ++a) {
    const int pos = next[static_cast<std::size_t>(topk_idx[a])]++;
    pos_of[a] = pos;
    row_token[pos] = a / top_k;
  }
}

void moe_combine_ref(int tokens, int top_k, int hidden, const float* y_perm, const int* pos_of,
                     const float* topk_weight, float* out) {
  for (int t = 0; t < tokens; ++t) {
    for (int d = 0; d < hidden; ++d) {
      double acc = 0.0;
      for (int j = 0; j < top_k; ++j) {
        const std::size_t a = static_cast<std::size_t>(t) * top_k + j;
        acc += static_cast<double>(topk_weight[a]) * y_perm[static_cast<std::size_t>(pos_of[a]) * hidden + d];
      }
      out[static_cast<std::size_t>(t) * hidden + d] = static_cast<float>(acc);
    }
  }
}

void swiglu_ref(int rows, int inter, const float* gate_up, float* out) {
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < inter; ++i) {
      const double g = gate_up[static_cast<std::size_t>(r) * 2 * inter + i];
      const double u = gate_up[static_cast<std::size_t>(r) * 2 * inter + inter + i];
      out[static_cast<std::size_t>(r) * inter + i] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
}

}  // namespace gwsim::kernels::ref
