// Attention references: MLA decode over the paged latent cache, and causal prefill.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gwsim/kernels/refs.h"

namespace gwsim::kernels::ref {

namespace {
// out[0:dv] = sum_j softmax(scores)_j * value(j)[0:dv], with the max subtracted for stability.
template <class ValueRow>
void softmax_weighted_sum(const std::vector<double>& scores, int dv, ValueRow value, float* out) {
  double mx = -std::numeric_limits<double>::infinity();
  for (double s : scores) mx = std::max(mx, s);
  std::vector<double> acc(static_cast<std::size_t>(dv), 0.0);
  double den = 0.0;
  for (std::size_t j = 0; j < scores.size(); ++j) {
    const double p = std::exp(scores[j] - mx);
    den += p;
    const float* v = value(static_cast<int>(j));
    for (int d = 0; d < dv; ++d) acc[static_cast<std::size_t>(d)] += p * v[d];
  }
  for (int d = 0; d < dv; ++d) out[d] = den > 0.0 ? static_cast<float>(acc[static_cast<std::size_t>(d)] / den) : 0.0f;
}
}  // namespace

void mla_decode_ref(int batch, int heads, int d_latent, int d_rope, int page_size, int max_pages, const float* q,
                    const float* cache, const int* block_table, const int* seq_lens, float scale, float* out) {
  const int d = d_latent + d_rope;
  for (int b = 0; b < batch; ++b) {
    const int len = seq_lens[b];
    auto row = [&](int j) {
      const int page = block_table[static_cast<std::size_t>(b) * max_pages + j / page_size];
      return cache + (static_cast<std::size_t>(page) * page_size + j % page_size) * d;
    };
    for (int h = 0; h < heads; ++h) {
      const float* qh = q + (static_cast<std::size_t>(b) * heads + h) * d;
      std::vector<double> scores(static_cast<std::size_t>(len));
      for (int j = 0; j < len; ++j) {
        const float* c = row(j);
        double s = 0.0;
        for (int i = 0; i < d; ++i) s += static_cast<double>(qh[i]) * c[i];
        scores[static_cast<std::size_t>(j)] = s * scale;
      }
      softmax_weighted_sum(scores, d_latent, row, out + (static_cast<std::size_t>(b) * heads + h) * d_latent);
    }
  }
}

void attention_prefill_ref(int tokens, int heads, int kv_heads, int d_qk, int d_v, const float* q, const float* k,
                           const float* v, float scale, bool causal, float* out) {
  const int group = heads / kv_heads;
  for (int t = 0; t < tokens; ++t) {
    for (int h = 0; h < heads; ++h) {
      const int kvh = h / group;
      const float* qh = q + (static_cast<std::size_t>(t) * heads + h) * d_qk;
      const int len = causal ? t + 1 : tokens;
      std::vector<double> scores(static_cast<std::size_t>(len));
      for (int j = 0; j < len; ++j) {
        const float* kj = k + (static_cast<std::size_t>(j) * kv_heads + kvh) * d_qk;
        double s = 0.0;
        for (int i = 0; i < d_qk; ++i) s += static_cast<double>(qh[i]) * kj[i];
        scores[static_cast<std::size_t>(j)] = s * scale;
      }
      auto value = [&](int j) { return v + (static_cast<std::size_t>(j) * kv_heads + kvh) * d_v; };
      softmax_weighted_sum(scores, d_v, value, out + (static_cast<std::size_t>(t) * heads + h) * d_v);
    }
  }
}

void mla_prefill_ref(int tokens, int heads, int d_nope, int d_rope, int d_v, const float* q, const float* k_nope,
                     const float* k_rope, const float* v, float scale, float* out) {
  // Materialise the per-head keys [k_nope | k_rope] and reuse the generic reference.
  const int d_qk = d_nope + d_rope;
  std::vector<float> k(static_cast<std::size_t>(tokens) * heads * d_qk);
  for (int t = 0; t < tokens; ++t)
    for (int h = 0; h < heads; ++h) {
      float* dst = k.data() + (static_cast<std::size_t>(t) * heads + h) * d_qk;
      const float* kn = k_nope + (static_cast<std::size_t>(t) * heads + h) * d_nope;
      std::copy(kn, kn + d_nope, dst);
      const float* kr = k_rope + static_cast<std::size_t>(t) * d_rope;
      std::copy(kr, kr + d_rope, dst + d_nope);
    }
  attention_prefill_ref(tokens, heads, heads, d_qk, d_v, q, k.data(), v, scale, true, out);
}

}  // namespace gwsim::kernels::ref
