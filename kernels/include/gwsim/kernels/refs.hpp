// CPU reference implementations of the DeepSeek building blocks that kernels/ implements on the
// GPU. Pure C++ (no CUDA): the calibration binary checks every GPU kernel against these, and the
// unit tests in tests/kernels/ check these against hand-computed values. Accumulation is in
// double so the references are more precise than any GPU variant they judge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gwsim::kernels::ref {

// bf16 helpers: round-to-nearest-even, as __float2bfloat16_rn does on the GPU.
std::uint16_t float_to_bf16_bits(float x);
float bf16_bits_to_float(std::uint16_t bits);
inline float bf16_round(float x) { return bf16_bits_to_float(float_to_bf16_bits(x)); }

// y[M][N] = x[M][K] * w[N][K]^T (row-major; w is stored like a Linear layer's weight).
void gemm_ref(int m, int n, int k, const float* x, const float* w, float* y);

// Per expert e: y_e[counts[e]][n] = x_e[counts[e]][k] * w_e[n][k]^T, where x and y hold the
// experts' rows contiguously in expert order and w holds `experts` matrices of n x k.
void grouped_gemm_ref(int experts, const int* counts, int n, int k, const float* x, const float* w,
                      float* y);

// MLA decode with absorbed up-projections. Per batch b and head h:
//   s_j = scale * q[b][h][:] . c_j[:]  over all d_latent + d_rope dims of cache token j < seq_lens[b]
//   out[b][h][:] = sum_j softmax(s)_j * c_j[0:d_latent]
// The cache is paged: token j of sequence b lives in page block_table[b*max_pages + j/page_size],
// row j % page_size; each row holds d_latent + d_rope values.
void mla_decode_ref(int batch, int heads, int d_latent, int d_rope, int page_size, int max_pages,
                    const float* q, const float* cache, const int* block_table, const int* seq_lens,
                    float scale, float* out);

// Causal (or full) attention with grouped KV heads: q[T][H][d_qk], k[T][HKV][d_qk],
// v[T][HKV][d_v], out[T][H][d_v]; head h uses KV head h / (H / HKV).
void attention_prefill_ref(int tokens, int heads, int kv_heads, int d_qk, int d_v, const float* q,
                           const float* k, const float* v, float scale, bool causal, float* out);

// MLA prefill in the non-absorbed form: per head the key is [k_nope[t][h][0:d_nope], k_rope[t][:]]
// (the rope part is shared by all heads), q[T][H][d_nope + d_rope], v[T][H][d_v]; causal.
void mla_prefill_ref(int tokens, int heads, int d_nope, int d_rope, int d_v, const float* q,
                     const float* k_nope, const float* k_rope, const float* v, float scale,
                     float* out);

// DeepSeek-V3 routing: sigmoid scores, bias-adjusted node-limited top-k.
struct MoeGatingConfig {
  int experts = 256;
  int groups = 8;        // experts are split into this many equal groups (one per node)
  int topk_groups = 4;   // groups kept, ranked by the sum of their top-2 biased scores
  int top_k = 8;         // experts kept per token, from the kept groups, by biased score
  float routed_scaling = 2.5f;
};

// logits[T][E], bias[E] -> topk_idx[T][top_k] (in selection order: descending biased score,
// ties to the lower index) and topk_weight[T][top_k] = sigmoid / sum of the selected sigmoids
// * routed_scaling. Ties between groups also go to the lower index.
void moe_gating_ref(int tokens, const MoeGatingConfig& cfg, const float* logits, const float* bias,
                    int* topk_idx, float* topk_weight);

// Dispatch order: assignments (t, j) sorted by expert, then by t*top_k + j. Outputs the expert
// counts[E] and offsets[E+1], the source token of each permuted row row_token[T*top_k], and the
// permuted position of each assignment pos_of[T*top_k].
void moe_permute_ref(int tokens, int top_k, int experts, const int* topk_idx, int* counts,
                     int* offsets, int* row_token, int* pos_of);

// out[t][:] = sum_j topk_weight[t][j] * y_perm[pos_of[t*top_k + j]][:]
void moe_combine_ref(int tokens, int top_k, int hidden, const float* y_perm, const int* pos_of,
                     const float* topk_weight, float* out);

// out[r][i] = silu(gate_up[r][i]) * gate_up[r][inter + i]
void swiglu_ref(int rows, int inter, const float* gate_up, float* out);

// ||out - ref|| / ||ref|| in double; NaN or Inf anywhere in out gives +infinity.
double rel_l2_error(const float* out, const float* ref, std::size_t n);

}  // namespace gwsim::kernels::ref
