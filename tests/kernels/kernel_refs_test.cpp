// Hand-computed cases for the CPU references the GPU kernels are checked against.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gwsim/kernels/refs.h"

namespace ref = gwsim::kernels::ref;

TEST(KernelRefs, Bf16RoundsToNearestEven) {
  EXPECT_EQ(ref::bf16_round(1.0f), 1.0f);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(ref::bf16_round(1.0f + std::ldexp(1.0f, -8)), 1.0f);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up to 1+2^-6.
  EXPECT_EQ(ref::bf16_round(1.0f + 3.0f * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(ref::bf16_round(std::numeric_limits<float>::quiet_NaN())));
}

TEST(KernelRefs, RelErrorRejectsNaN) {
  const float r[2] = {1.0f, 2.0f};
  const float o[2] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_TRUE(std::isinf(ref::rel_l2_error(o, r, 2)));
  const float o2[2] = {1.0f, 2.0f};
  EXPECT_EQ(ref::rel_l2_error(o2, r, 2), 0.0);
}

TEST(KernelRefs, GemmByHand) {
  // x = [[1,2],[3,4]], w = [[1,0],[1,1],[0,2]] -> y = x w^T = [[1,3,4],[3,7,8]]
  const float x[4] = {1, 2, 3, 4};
  const float w[6] = {1, 0, 1, 1, 0, 2};
  float y[6];
  ref::gemm_ref(2, 3, 2, x, w, y);
  const float want[6] = {1, 3, 4, 3, 7, 8};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[i], want[i]);
}

TEST(KernelRefs, GroupedGemmWithIdentityAndScaledWeights) {
  // Expert 0 (2 rows) has the identity, expert 1 (0 rows) is skipped, expert 2 (1 row) doubles.
  const int counts[3] = {2, 0, 1};
  const float x[6] = {1, 2, 3, 4, 5, 6};
  const float w[12] = {1, 0, 0, 1, /*e1*/ 9, 9, 9, 9, /*e2*/ 2, 0, 0, 2};
  float y[6];
  ref::grouped_gemm_ref(3, counts, 2, 2, x, w, y);
  const float want[6] = {1, 2, 3, 4, 10, 12};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[i], want[i]);
}

TEST(KernelRefs, AttentionSingleKeyPassesValueThrough) {
  // One token, causal: the only key gets weight 1 whatever the score.
  const float q[3] = {5, -1, 2};
  const float k[3] = {1, 1, 1};
  const float v[2] = {7, -3};
  float out[2];
  ref::attention_prefill_ref(1, 1, 1, 3, 2, q, k, v, 0.5f, true, out);
  EXPECT_FLOAT_EQ(out[0], 7.0f);
  EXPECT_FLOAT_EQ(out[1], -3.0f);
}

TEST(KernelRefs, AttentionEqualScoresAverageValues) {
  // q = 0 gives equal scores: token 1 (causal) averages the values of tokens 0 and 1.
  const float q[4] = {0, 0, 0, 0};
  const float k[4] = {1, 2, 3, 4};
  const float v[2] = {2, 6};
  float out[2];
  ref::attention_prefill_ref(2, 1, 1, 2, 1, q, k, v, 1.0f, true, out);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 4.0f);
}

TEST(KernelRefs, AttentionTwoKeysByHand) {
  // Scores 0 and ln 3 -> weights 1/4, 3/4 -> 0.25*4 + 0.75*8 = 7.
  const float q[2] = {0, 0};  // token 0 query unused for token 1
  const float qs[2] = {0, 1};
  const float k[2] = {0, std::log(3.0f)};
  const float v[2] = {4, 8};
  (void)q;
  float out[2];
  ref::attention_prefill_ref(2, 1, 1, 1, 1, qs, k, v, 1.0f, true, out);
  EXPECT_FLOAT_EQ(out[0], 4.0f);
  EXPECT_NEAR(out[1], 7.0f, 1e-5);
}

TEST(KernelRefs, GqaSharesKvHeads) {
  // Two query heads share one KV head; one token: both outputs are that token's value.
  const float q[4] = {1, 0, 0, 1};
  const float k[2] = {3, 3};
  const float v[1] = {9};
  float out[2];
  ref::attention_prefill_ref(1, 2, 1, 2, 1, q, k, v, 1.0f, true, out);
  EXPECT_FLOAT_EQ(out[0], 9.0f);
  EXPECT_FLOAT_EQ(out[1], 9.0f);
}

TEST(KernelRefs, MlaPrefillRopeIsSharedAcrossHeads) {
  // d_nope 1, d_rope 1: scores for token 1 of head 0 are q.[k_nope, k_rope].
  const float q[2 * 2 * 2] = {0, 0, 0, 0, /*t1 h0*/ 0, 1, /*t1 h1*/ 0, 0};
  const float k_nope[2 * 2] = {0, 0, 0, 0};
  const float k_rope[2] = {0, std::log(3.0f)};
  const float v[2 * 2] = {4, 10, 8, 20};
  float out[4];
  ref::mla_prefill_ref(2, 2, 1, 1, 1, q, k_nope, k_rope, v, 1.0f, out);
  EXPECT_FLOAT_EQ(out[0], 4.0f);
  EXPECT_FLOAT_EQ(out[1], 10.0f);
  EXPECT_NEAR(out[2], 7.0f, 1e-5);   // head 0 weights 1/4, 3/4
  EXPECT_NEAR(out[3], 15.0f, 1e-5);  // head 1 equal scores: mean of 10 and 20
}

TEST(KernelRefs, MlaDecodeFollowsTheBlockTable) {
  // Page size 2, latent 1 + rope 1. Sequence 0 has 3 tokens on pages 2 then 0; q = 0 so the
  // output is the mean of the latent parts of those tokens: (page2 rows 0,1; page0 row 0).
  const int page = 2, d = 2;
  std::vector<float> cache(3 * page * d, 100.0f);  // page 1 is never referenced
  cache[(2 * page + 0) * d] = 1.0f;
  cache[(2 * page + 1) * d] = 2.0f;
  cache[(0 * page + 0) * d] = 6.0f;
  cache[(0 * page + 1) * d] = 1000.0f;  // beyond seq_len: must be ignored
  const int block_table[2] = {2, 0};
  const int seq_lens[1] = {3};
  const float q[2] = {0, 0};
  float out[1];
  ref::mla_decode_ref(1, 1, 1, 1, page, 2, q, cache.data(), block_table, seq_lens, 1.0f, out);
  EXPECT_FLOAT_EQ(out[0], 3.0f);
}

TEST(KernelRefs, MlaDecodeRopeDimsCountInScores) {
  // One page of 2 tokens; scores use the rope dim only: 0 and ln 3 -> 1/4, 3/4 weights.
  const float cache[4] = {4, 0, 8, std::log(3.0f)};
  const int block_table[1] = {0};
  const int seq_lens[1] = {2};
  const float q[2] = {0, 1};
  float out[1];
  ref::mla_decode_ref(1, 1, 1, 1, 2, 1, q, cache, block_table, seq_lens, 1.0f, out);
  EXPECT_NEAR(out[0], 7.0f, 1e-5);
}

TEST(KernelRefs, GatingNodeLimitedByHand) {
  // 8 experts in 4 groups of 2; keep 2 groups, top-2 experts. Logits 0 everywhere give
  // sigmoid 0.5, so the bias decides. Token 0: expert 7 has the best single biased score but
  // its group {6,7} sums lower than groups {0,1} and {2,3}: it must be excluded.
  ref::MoeGatingConfig cfg;
  cfg.experts = 8;
  cfg.groups = 4;
  cfg.topk_groups = 2;
  cfg.top_k = 2;
  cfg.routed_scaling = 2.5f;
  const float bias[8] = {0.3f, 0.3f, 0.25f, 0.25f, 0.0f, 0.0f, -1.0f, 0.5f};
  std::vector<float> logits(2 * 8, 0.0f);
  // Token 1: logits make expert 4 and 5 strong enough that group {4,5} is kept.
  logits[8 + 4] = 5.0f;
  logits[8 + 5] = 4.0f;
  int idx[4];
  float w[4];
  ref::moe_gating_ref(2, cfg, logits.data(), bias, idx, w);
  // Token 0: group sums {0,1}=1.6, {2,3}=1.5, {4,5}=1.0, {6,7}=0.5 -> keep groups 0 and 1.
  // Biased scores 0.8, 0.8, 0.75, 0.75: ties go to the lower index -> experts 0, 1.
  EXPECT_EQ(idx[0], 0);
  EXPECT_EQ(idx[1], 1);
  EXPECT_FLOAT_EQ(w[0], 1.25f);  // 0.5 / (0.5 + 0.5) * 2.5
  EXPECT_FLOAT_EQ(w[1], 1.25f);
  // Token 1: s4 = sigmoid(5), s5 = sigmoid(4); group {4,5} sums ~1.975 and group {0,1} 1.6 are
  // kept; best biased: 4 (0.9933), 5 (0.9820).
  const double s4 = 1.0 / (1.0 + std::exp(-5.0)), s5 = 1.0 / (1.0 + std::exp(-4.0));
  EXPECT_EQ(idx[2], 4);
  EXPECT_EQ(idx[3], 5);
  EXPECT_NEAR(w[2], s4 / (s4 + s5) * 2.5, 1e-6);
  EXPECT_NEAR(w[3], s5 / (s4 + s5) * 2.5, 1e-6);
}

TEST(KernelRefs, GatingWeightsUseUnbiasedScores) {
  // 4 experts, 2 groups of 2, keep 1 group, top-1: expert selection by biased score, weight
  // normalised over the one selected expert -> exactly routed_scaling.
  ref::MoeGatingConfig cfg;
  cfg.experts = 4;
  cfg.groups = 2;
  cfg.topk_groups = 1;
  cfg.top_k = 1;
  cfg.routed_scaling = 2.5f;
  const float bias[4] = {0.0f, 0.0f, 0.0f, 0.9f};
  const float logits[4] = {2.0f, 2.0f, -1.0f, -1.0f};
  int idx[1];
  float w[1];
  ref::moe_gating_ref(1, cfg, logits, bias, idx, w);
  // Group {0,1}: 2*sigmoid(2) = 1.76; group {2,3}: 2*sigmoid(-1) + 0.9 = 1.44 -> group 0 wins,
  // even though expert 3's biased score (1.169) beats expert 0's (0.881).
  EXPECT_EQ(idx[0], 0);
  EXPECT_FLOAT_EQ(w[0], 2.5f);
}

TEST(KernelRefs, PermuteIsExpertContiguousAndStable) {
  // 3 tokens, top-2, 3 experts.
  const int idx[6] = {2, 0, 0, 1, 2, 1};
  int counts[3], offsets[4], row_token[6], pos_of[6];
  ref::moe_permute_ref(3, 2, 3, idx, counts, offsets, row_token, pos_of);
  EXPECT_EQ(counts[0], 2);
  EXPECT_EQ(counts[1], 2);
  EXPECT_EQ(counts[2], 2);
  const int want_off[4] = {0, 2, 4, 6};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(offsets[i], want_off[i]);
  // Expert 0: (t0,j1), (t1,j0); expert 1: (t1,j1), (t2,j1); expert 2: (t0,j0), (t2,j0).
  const int want_row_token[6] = {0, 1, 1, 2, 0, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(row_token[i], want_row_token[i]);
  const int want_pos[6] = {4, 0, 1, 2, 5, 3};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pos_of[i], want_pos[i]);
}

TEST(KernelRefs, PermuteCombineRoundTripIsWeightedSum) {
  // Identity experts: combine(permute(x)) = sum_j w_j * x.
  const int tokens = 3, top_k = 2, hidden = 2;
  const int idx[6] = {1, 0, 0, 1, 1, 0};
  const float w[6] = {0.5f, 1.5f, 2.0f, -1.0f, 0.25f, 0.75f};
  const float x[6] = {1, 2, 3, 4, 5, 6};
  int counts[2], offsets[3], row_token[6], pos_of[6];
  ref::moe_permute_ref(tokens, top_k, 2, idx, counts, offsets, row_token, pos_of);
  float y[12];
  for (int r = 0; r < 6; ++r)
    for (int d = 0; d < hidden; ++d) y[r * hidden + d] = x[row_token[r] * hidden + d];
  float out[6];
  ref::moe_combine_ref(tokens, top_k, hidden, y, pos_of, w, out);
  const float want[6] = {2 * 1, 2 * 2, 1 * 3, 1 * 4, 1 * 5, 1 * 6};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(out[i], want[i]);
}

TEST(KernelRefs, SwigluByHand) {
  // silu(0) = 0; silu(1) = 1/(1+e^-1) = 0.7310586
  const float gu[4] = {0.0f, 1.0f, 5.0f, 2.0f};
  float out[2];
  ref::swiglu_ref(1, 2, gu, out);
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
}
