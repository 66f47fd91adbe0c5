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
void grouped_gemm_ref(int experts, const int* counts, int n, int k, const float* x, const float* w, float* y);

// MLA decode with absorbed up-projections. Per batch b and head h:
//   s_j = scale * q[b][h][:] . c_j[:]  over all d_latent + d_rope dims of cache token j < seq_lens[b]
//   out[b][h][:] = sum_j softmax(s)_j * c_j[0:d_latent]
// The cache is paged: token j of sequence b lives in page block_table[b*max_pages + j/page_size],
// row j % page_size; each row holds d_latent + d_rope values.
void mla_decode_ref(int batch, int heads, int d_latent, int d_rope, int page_size, int max_pages, const float* q,
                    const float* cache, const int* block_table, const int* seq_lens, float scale, float* out);

// Causal (or full) attention with grouped KV heads: q[T][H][d_qk], k[T][HKV][d_qk],
// v[T][HKV][d_v], out[T][H][d_v]; head h uses KV head h / (H / HKV).
void attention_prefill_ref(int tokens, int heads, int kv_heads, int d_qk, int d_v, const float* q, const float* k,
                           const float* v, float scale, bool causal, float* out);

// MLA prefill in the non-absorbed form: per head the key is [k_nope[t][h][0:d_nope], k_rope[t][:]]
// (the rope part is shared by all heads), q[T][H][d_nope + d_rope], v[T][H][d_v]; causal.
void mla_prefill_ref(int tokens, int heads, int d_nope, int d_rope, int d_v, const float* q, const float* k_nope,
                     const float* k_rope, const float* v, float scale, float* out);

// DeepSeek-V3 routing: sigmoid scores, bias-adjusted node-limited top-k.
struct MoeGatingConfig {
  int experts = 256;
  int groups = 8;       // experts are split into this many equal groups (one per node)
  int topk_groups = 4;  // groups kept, ranked by the sum of their top-2 biased scores
  int top_k = 8;        // experts kept per token, from the kept groups, by biased score
  float routed_scaling = 2.5f;
};

// logits[T][E], bias[E] -> topk_idx[T][top_k] (in selection order: descending biased score,
// ties to the lower index) and topk_weight[T][top_k] = sigmoid / sum of the selected sigmoids
// * routed_scaling. Ties between groups also go to the lower index.
void moe_gating_ref(int tokens, const MoeGatingConfig& cfg, const float* logits, const float* bias, int* topk_idx,
                    float* topk_weight);

// Dispatch order: assignments (t, j) sorted by expert, then by t*top_k + j. Outputs the expert
// counts[E] and offsets[E+1], the source token of each permuted row row_token[T*top_k], and the
// permuted position of each assignment pos_of[T*top_k].
void moe_permute_ref(int tokens, int top_k, int experts, const int* topk_idx, int* counts, int* offsets, int* row_token,
                     int* pos_of);

// out[t][:] = sum_j topk_weight[t][j] * y_perm[pos_of[t*top_k + j]][:]
void moe_combine_ref(int tokens, int top_k, int hidden, const float* y_perm, const int* pos_of,
                     const float* topk_weight, float* out);

// out[r][i] = silu(gate_up[r][i]) * gate_up[r][inter + i]
void swiglu_ref(int rows, int inter, const float* gate_up, float* out);

// ---- FP8 (OCP E4M3: 1 sign, 4 exponent bits with bias 7, 3 mantissa bits; no infinities; NaN is
// S.1111.111; largest finite 448 = 1.75 * 2^8; smallest normal 2^-6; subnormals m * 2^-9, m = 1..7) ----

// float -> e4m3 bits, round to nearest with ties to even, saturating: |x| > 448 (and +-inf) gives
// +-448, NaN gives NaN (0x7f, sign kept). What cvt.rn.satfinite.e4m3x2.f32 does on the GPU.
std::uint8_t float_to_e4m3_bits(float x);
float e4m3_bits_to_float(std::uint8_t bits);
inline float e4m3_round(float x) { return e4m3_bits_to_float(float_to_e4m3_bits(x)); }
constexpr float kE4m3Max = 448.0f;

// The DeepSeek-V3 fine-grained quantisation scale of one block: amax / 448 in float (so the
// block's largest magnitude maps to 448), or 1 for an all-zero block. q = e4m3(x / scale) with a
// float division; the GPU quantisers compute the same two float operations, so they are
// bit-exact with these references.
float e4m3_block_scale(float amax);

// Per row, per group of `block` consecutive columns (the last group may be shorter):
// scales[rows][ceil(cols / block)], q[rows][cols]. Activations: block 128 ("1 x 128 tiles").
void quantize_e4m3_row_blocks(int rows, int cols, int block, const float* x, std::uint8_t* q, float* scales);
// `matrices` consecutive [rows][cols] matrices, each in block x block tiles (edge tiles may be
// smaller): scales[matrices][ceil(rows / block)][ceil(cols / block)]. Weights: block 128.
void quantize_e4m3_tile_blocks(int matrices, int rows, int cols, int block, const float* x, std::uint8_t* q,
                               float* scales);
// The inverses: x[i] = e4m3(q[i]) * scale of its block (float product).
void dequantize_e4m3_row_blocks(int rows, int cols, int block, const std::uint8_t* q, const float* scales, float* x);
void dequantize_e4m3_tile_blocks(int matrices, int rows, int cols, int block, const std::uint8_t* q,
                                 const float* scales, float* x);

// Grouped GEMM over experts with DeepSeek-V3 block scaling (Sec. 3.3.2 of the V3 report): per
// expert e, y_e = x_e w_e^T with x_e = rows [off_e, off_e + counts[e]) of xq (e4m3, scales per
// row per 128 columns: x_scales[rows][ceil(k/128)]) and w_e the e-th [n][k] matrix of wq (e4m3,
// w_scales[experts][ceil(n/128)][ceil(k/128)]). Each 128-wide K block's partial sum of e4m3
// products is formed exactly (double) and promoted with x_scale * w_scale, as the GPU kernels
// do in FP32 every K block; y[rows][n] is the exact dequantised product up to double rounding.
void grouped_gemm_fp8_blockscaled_ref(int experts, const int* counts, int n, int k, const std::uint8_t* xq,
                                      const float* x_scales, const std::uint8_t* wq, const float* w_scales, float* y);

// MLA decode over an FP8 latent cache: cache_q[pages*page_size][d_latent + d_rope] in e4m3 with
// one scale per token per `block` channels (scales[pages*page_size][ceil(d / block)]); the
// reference dequantises (e4m3 * scale, float) and runs mla_decode_ref on the result.
void mla_decode_fp8kv_ref(int batch, int heads, int d_latent, int d_rope, int page_size, int max_pages, int total_pages,
                          int block, const float* q, const std::uint8_t* cache_q, const float* cache_scales,
                          const int* block_table, const int* seq_lens, float scale, float* out);

// ||out - ref|| / ||ref|| in double; NaN or Inf anywhere in out gives +infinity.
double rel_l2_error(const float* out, const float* ref, std::size_t n);

}  // namespace gwsim::kernels::ref
