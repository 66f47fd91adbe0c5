// Hand-computed cases for the FP8 (E4M3) CPU references: the rounding, DeepSeek-V3's block
// quantisation, the block-scaled grouped GEMM and MLA decode over an FP8 latent cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "gwsim/kernels/refs.h"

namespace ref = gwsim::kernels::ref;

namespace {

// e4m3's unit roundoff: 3 stored mantissa bits, so the spacing just above 1 is 2^-3 and round to
// nearest is off by at most half of it relative to the value's leading bit: 2^-4.
constexpr double kU = 0.0625;
// Below 2^-6 (the smallest normal) values are multiples of 2^-9: at most 2^-10 off, absolute, in
// the scaled domain (times the block's scale in real units).
constexpr double kSubnormalHalfStep = 1.0 / 1024.0;

float p2(int e) { return std::ldexp(1.0f, e); }

std::vector<float> bf16_uniform(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = ref::bf16_round(d(rng));
  return v;
}

}  // namespace

TEST(KernelFp8Refs, E4m3EncodesHandValues) {
  EXPECT_EQ(ref::float_to_e4m3_bits(1.0f), 0x38);  // 0 0111 000
  EXPECT_EQ(ref::float_to_e4m3_bits(-1.0f), 0xb8);
  EXPECT_EQ(ref::float_to_e4m3_bits(0.0f), 0x00);
  EXPECT_EQ(ref::float_to_e4m3_bits(-0.0f), 0x80);
  EXPECT_EQ(ref::float_to_e4m3_bits(240.0f), 0x77);      // 1.875 * 2^7
  EXPECT_EQ(ref::float_to_e4m3_bits(p2(-6)), 0x08);      // smallest normal
  EXPECT_EQ(ref::float_to_e4m3_bits(7 * p2(-9)), 0x07);  // largest subnormal
  EXPECT_EQ(ref::e4m3_bits_to_float(0x7e), 448.0f);
  EXPECT_EQ(ref::e4m3_bits_to_float(0x01), p2(-9));
  EXPECT_TRUE(std::isnan(ref::e4m3_bits_to_float(0x7f)));
  EXPECT_TRUE(std::isnan(ref::e4m3_bits_to_float(0xff)));
}

TEST(KernelFp8Refs, E4m3SaturatesAt448) {
  EXPECT_EQ(ref::float_to_e4m3_bits(448.0f), 0x7e);
  EXPECT_EQ(ref::float_to_e4m3_bits(449.0f), 0x7e);
  EXPECT_EQ(ref::float_to_e4m3_bits(464.0f), 0x7e);  // halfway to the (absent) 480: still 448
  EXPECT_EQ(ref::float_to_e4m3_bits(1e6f), 0x7e);
  EXPECT_EQ(ref::float_to_e4m3_bits(std::numeric_limits<float>::infinity()), 0x7e);  // satfinite
  EXPECT_EQ(ref::float_to_e4m3_bits(-1000.0f), 0xfe);
  EXPECT_EQ(ref::float_to_e4m3_bits(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(ref::e4m3_round(-5000.0f), -448.0f);
  // NaN stays NaN (0x7f with its sign), never saturates.
  EXPECT_EQ(ref::float_to_e4m3_bits(std::numeric_limits<float>::quiet_NaN()) & 0x7f, 0x7f);
  EXPECT_TRUE(std::isnan(ref::e4m3_round(std::numeric_limits<float>::quiet_NaN())));
}

TEST(KernelFp8Refs, E4m3SubnormalsRoundTiesToEven) {
  const float s = p2(-9);  // smallest subnormal
  EXPECT_EQ(ref::float_to_e4m3_bits(s), 0x01);
  EXPECT_EQ(ref::float_to_e4m3_bits(0.5f * s), 0x00);   // tie between 0 and 1: even is 0
  EXPECT_EQ(ref::float_to_e4m3_bits(-0.5f * s), 0x80);  // -0
  EXPECT_EQ(ref::float_to_e4m3_bits(0.25f * s), 0x00);
  EXPECT_EQ(ref::float_to_e4m3_bits(0.75f * s), 0x01);
  EXPECT_EQ(ref::float_to_e4m3_bits(1.5f * s), 0x02);  // tie between 1 and 2: 2
  EXPECT_EQ(ref::float_to_e4m3_bits(2.5f * s), 0x02);  // tie between 2 and 3: 2
  EXPECT_EQ(ref::float_to_e4m3_bits(7.5f * s), 0x08);  // tie between 7 and 8 (= 2^-6, normal): 8
}

TEST(KernelFp8Refs, E4m3NormalsRoundTiesToEven) {
  EXPECT_EQ(ref::e4m3_round(1.0f + p2(-4)), 1.0f);              // tie between 1 and 1.125: 1
  EXPECT_EQ(ref::e4m3_round(1.0f + 3 * p2(-4)), 1.25f);         // tie between 1.125 and 1.25: 1.25
  EXPECT_EQ(ref::e4m3_round(1.0f + p2(-4) + p2(-10)), 1.125f);  // just above the tie
  EXPECT_EQ(ref::e4m3_round(1.9375f), 2.0f);                    // tie 1.875 / 2: carries into the next binade
  EXPECT_EQ(ref::e4m3_round(400.0f), 384.0f);                   // tie 384 (mantissa 4) / 416 (5)
  EXPECT_EQ(ref::e4m3_round(432.0f), 448.0f);                   // tie 416 (5) / 448 (6)
  EXPECT_EQ(ref::e4m3_round(-0.3f), -0.3125f);                  // 0.3 / 2^-5 = 9.6 steps -> 10: 0.3125
}

TEST(KernelFp8Refs, E4m3RoundTripsEveryCode) {
  float prev = -1.0f;
  for (int b = 0; b < 256; ++b) {
    const auto bits = static_cast<std::uint8_t>(b);
    if ((bits & 0x7f) == 0x7f) continue;  // NaN codes
    const float v = ref::e4m3_bits_to_float(bits);
    EXPECT_EQ(ref::float_to_e4m3_bits(v), bits) << "code " << b;
    if (b < 0x7f) {  // positive codes increase strictly
      EXPECT_GT(v, prev) << "code " << b;
      prev = v;
    }
  }
  EXPECT_EQ(prev, 448.0f);
}

TEST(KernelFp8Refs, BlockScaleMapsAmaxTo448) {
  EXPECT_EQ(ref::e4m3_block_scale(448.0f), 1.0f);
  EXPECT_EQ(ref::e4m3_block_scale(3.5f), p2(-7));
  EXPECT_EQ(ref::e4m3_block_scale(0.0f), 1.0f);  // all-zero block: any scale gives zeros
  // Per row per block of 3 columns, last block shorter.
  const float x[2 * 4] = {3.5f, -1.0f, 0.0f, 7.0f, /*row 1*/ 0.0f, 0.0f, 0.0f, -0.875f};
  std::uint8_t q[8];
  float s[4];
  ref::quantize_e4m3_row_blocks(2, 4, 3, x, q, s);
  EXPECT_EQ(s[0], p2(-7));
  EXPECT_EQ(s[1], p2(-6));  // 7 / 448
  EXPECT_EQ(s[2], 1.0f);
  EXPECT_EQ(s[3], p2(-9));  // 0.875 / 448
  EXPECT_EQ(q[0], 0x7e);    // 3.5 / 2^-7 = 448
  EXPECT_EQ(q[1], 0xf0);    // -128 = -1.0 * 2^7: 1 1110 000
  EXPECT_EQ(q[3], 0x7e);
  EXPECT_EQ(q[7], 0xfe);
  float back[8];
  ref::dequantize_e4m3_row_blocks(2, 4, 3, q, s, back);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(back[i], x[i]) << i;  // all exactly representable here
}

TEST(KernelFp8Refs, BlockScaledGroupedGemmByHand) {
  // K = 256 (two 128-wide K blocks), N = 2, three experts with 1, 0 and 2 rows. Block maxima are
  // 448 * 2^j so every scale is a power of two and the expected values are exact.
  const int k = 256, n = 2;
  const int counts[3] = {1, 0, 2};
  std::vector<float> x(3 * k), w(3 * n * k, 9.0f);  // expert 1's weights are never used
  // Row 0 (expert 0): block 0 = [3.5, 1, 1, ...]: scale 2^-7, exact. Block 1 = [1.75, 0.3, 0.5, ...]:
  // scale 2^-8; 0.3 / 2^-8 = 76.8 rounds to 80 (step 8 in [64, 128)), so it comes back as 0.3125.
  for (int i = 0; i < 128; ++i) x[i] = 1.0f;
  x[0] = 3.5f;
  for (int i = 128; i < 256; ++i) x[i] = 0.5f;
  x[128] = 1.75f;
  x[129] = 0.3f;
  // Row 1 (expert 2): all 0.875 (scale 2^-9). Row 2 (expert 2): block 0 all -1.75, block 1 zero.
  for (int i = 0; i < k; ++i) x[k + i] = 0.875f;
  for (int i = 0; i < 128; ++i) x[2 * k + i] = -1.75f;
  for (int i = 128; i < 256; ++i) x[2 * k + i] = 0.0f;
  // Expert 0: row 0 = [0.5 x128 | 0.25 x128], row 1 = [-3.5 x128 | 1.75 x128].
  for (int i = 0; i < k; ++i) {
    w[i] = i < 128 ? 0.5f : 0.25f;
    w[k + i] = i < 128 ? -3.5f : 1.75f;
  }
  // Expert 2: row 0 = 1.75 everywhere, row 1 = [0 x128 | -0.4375 x128].
  float* w2 = w.data() + 2 * n * k;
  for (int i = 0; i < k; ++i) {
    w2[i] = 1.75f;
    w2[k + i] = i < 128 ? 0.0f : -0.4375f;
  }
  std::vector<std::uint8_t> xq(x.size()), wq(w.size());
  std::vector<float> xs(3 * 2), ws(3 * 1 * 2);
  ref::quantize_e4m3_row_blocks(3, k, 128, x.data(), xq.data(), xs.data());
  ref::quantize_e4m3_tile_blocks(3, n, k, 128, w.data(), wq.data(), ws.data());
  EXPECT_EQ(xs[0], p2(-7));
  EXPECT_EQ(xs[1], p2(-8));
  EXPECT_EQ(xs[4], p2(-8));
  EXPECT_EQ(xs[5], 1.0f);  // the all-zero block
  EXPECT_EQ(ws[0], p2(-7));
  EXPECT_EQ(ws[1], p2(-8));
  float y[3 * 2];
  ref::grouped_gemm_fp8_blockscaled_ref(3, counts, n, k, xq.data(), xs.data(), wq.data(), ws.data(), y);
  // Row 0: 0.5 * (3.5 + 127) + 0.25 * (1.75 + 0.3125 + 126 * 0.5) = 65.25 + 16.265625.
  EXPECT_EQ(y[0], 81.515625f);
  // -3.5 * 130.5 + 1.75 * 65.0625
  EXPECT_EQ(y[1], -342.890625f);
  EXPECT_EQ(y[2], 392.0f);   // 256 * 0.875 * 1.75
  EXPECT_EQ(y[3], -49.0f);   // 128 * 0.875 * -0.4375
  EXPECT_EQ(y[4], -392.0f);  // 128 * -1.75 * 1.75
  EXPECT_EQ(y[5], 0.0f);
}

TEST(KernelFp8Refs, BlockScaledGroupedGemmUnevenExpertsWithinDerivedBound) {
  // Uneven experts (one empty, one with a single row, one spanning two 128-row tiles), N = 256
  // (two weight blocks), K = 384 (three K blocks). Against the dequantised operands the result is
  // exact up to double rounding; against the unquantised operands it obeys the elementwise bound
  // |dy| <= sum_k (ex_k |w_k| + |x_k| ew_k + ex_k ew_k), with ex_k = u |x_k| + 2^-10 s_x the largest
  // e4m3 error of x_k (u = 2^-4 relative in the normal range, half a subnormal step times the
  // block scale below it), ew_k likewise.
  const int experts = 6, n = 256, k = 384;
  const int counts[experts] = {5, 0, 1, 150, 17, 3};
  const int rows = std::accumulate(counts, counts + experts, 0);
  auto x = bf16_uniform(std::size_t(rows) * k, 11, -2.0f, 2.0f);
  auto w = bf16_uniform(std::size_t(experts) * n * k, 12, -0.05f, 0.05f);
  x[7] = 60.0f;  // an outlier: its block's other values go down to few mantissa bits
  std::vector<std::uint8_t> xq(x.size()), wq(w.size());
  std::vector<float> xs(std::size_t(rows) * 3), ws(std::size_t(experts) * 2 * 3);
  ref::quantize_e4m3_row_blocks(rows, k, 128, x.data(), xq.data(), xs.data());
  ref::quantize_e4m3_tile_blocks(experts, n, k, 128, w.data(), wq.data(), ws.data());
  std::vector<float> xd(x.size()), wd(w.size());
  ref::dequantize_e4m3_row_blocks(rows, k, 128, xq.data(), xs.data(), xd.data());
  ref::dequantize_e4m3_tile_blocks(experts, n, k, 128, wq.data(), ws.data(), wd.data());

  std::vector<float> y8(std::size_t(rows) * n), yd(y8.size()), y(y8.size());
  ref::grouped_gemm_fp8_blockscaled_ref(experts, counts, n, k, xq.data(), xs.data(), wq.data(), ws.data(), y8.data());
  ref::grouped_gemm_ref(experts, counts, n, k, xd.data(), wd.data(), yd.data());
  ref::grouped_gemm_ref(experts, counts, n, k, x.data(), w.data(), y.data());
  EXPECT_LT(ref::rel_l2_error(y8.data(), yd.data(), y8.size()), 1e-6);

  int row = 0;
  double worst = 0.0;
  for (int e = 0; e < experts; ++e)
    for (int i = 0; i < counts[e]; ++i, ++row)
      for (int j = 0; j < n; ++j) {
        double bound = 0.0;
        for (int kk = 0; kk < k; ++kk) {
          const double xv = x[std::size_t(row) * k + kk];
          const double wv = w[(std::size_t(e) * n + j) * k + kk];
          const double ex = kU * std::fabs(xv) + kSubnormalHalfStep * xs[std::size_t(row) * 3 + kk / 128];
          const double ew = kU * std::fabs(wv) + kSubnormalHalfStep * ws[(std::size_t(e) * 2 + j / 128) * 3 + kk / 128];
          bound += ex * std::fabs(wv) + std::fabs(xv) * ew + ex * ew;
        }
        const double err = std::fabs(double(y8[std::size_t(row) * n + j]) - y[std::size_t(row) * n + j]);
        EXPECT_LE(err, bound * (1 + 1e-6) + 1e-6) << "row " << row << " col " << j;
        worst = std::max(worst, err / bound);
      }
  EXPECT_EQ(row, rows);
  EXPECT_GT(worst, 0.0);  // quantisation did change the result
  // And it is a real loss of precision, at the few-percent level e4m3 implies.
  const double rel = ref::rel_l2_error(y8.data(), y.data(), y.size());
  EXPECT_GT(rel, 1e-3);
  EXPECT_LT(rel, kU);
}

TEST(KernelFp8Refs, MlaDecodeFp8KvFollowsTheBlockTable) {
  // The FP8 reference uses the same paging as the bf16 one. Rows [latent, rope] = [v, 7] with v in
  // {1, 2, 6} have amax 7, scale 7 / 448 = 2^-6, and v / 2^-6 in {64, 128, 384} is exact in e4m3, so
  // (q = 0: output = mean of the latent parts) the bf16 reference's answer comes back exactly.
  const int page = 2, d = 2;
  std::vector<float> cache(3 * page * d, 7.0f);
  cache[(2 * page + 0) * d] = 1.0f;
  cache[(2 * page + 1) * d] = 2.0f;
  cache[(0 * page + 0) * d] = 6.0f;
  cache[(0 * page + 1) * d] = 1000.0f;  // beyond seq_len
  std::vector<std::uint8_t> cq(cache.size());
  std::vector<float> cs(3 * page * 1);
  ref::quantize_e4m3_row_blocks(3 * page, d, 64, cache.data(), cq.data(), cs.data());
  const int block_table[2] = {2, 0};
  const int seq_lens[1] = {3};
  const float q[2] = {0, 0};
  float out[1];
  ref::mla_decode_fp8kv_ref(1, 1, 1, 1, page, 2, 3, 64, q, cq.data(), cs.data(), block_table, seq_lens, 1.0f, out);
  EXPECT_FLOAT_EQ(out[0], 3.0f);
}

TEST(KernelFp8Refs, MlaDecodeFp8KvWithinDerivedBoundOfBf16) {
  // DeepSeek-V3 dims (latent 512 + rope 64, pages of 64), cache quantised per token per 64
  // channels. Derivation of the bound, with c the bf16 cache, c' = c + delta the dequantised FP8
  // cache, p and p' the softmax weights over the tokens of one (sequence, head):
  //   |delta_ji| <= eta_ji = u |c_ji| + 2^-10 s_j,b(i)      (u = 2^-4: 3 mantissa bits, RNE)
  //   |s'_j - s_j| = scale |q . delta_j| <= D_j = scale sum_i |q_i| eta_ji,  D = max_j D_j
  //   p'_j / p_j = exp(ds_j) / sum_l p_l exp(ds_l) lies in [e^-2D, e^2D]
  //   O'_d - O_d = sum_j p'_j delta_jd + sum_j (p'_j - p_j) c_jd, so
  //   |O'_d - O_d| <= e^2D sum_j p_j eta_jd + (e^2D - 1) sum_j p_j |c_jd|      (rigorous)
  // That bound is loose (it lets every rounding push the same way). The typical error: each
  // dequantised value is off by a rounding error independent of its neighbours, RMS about
  // 2^-3 / sqrt(12) / 1.44 ~ 0.025 of its size (uniform error over one step, values spread over a
  // binade); O and its error are both averages over the same softmax weights, so their ratio stays
  // near 0.025, and the score errors (RMS scale * sqrt(576) * |q| * |c| * 0.025 ~ 0.014) move the
  // weights by ~1.4 %. Together ~0.03: asserted below u = 2^-4 in relative L2, i.e. the FP8-cache
  // output is off by less than one worst-case e4m3 rounding of itself.
  const int batch = 2, heads = 4, dl = 512, dr = 64, dim = dl + dr, page = 64;
  const std::vector<int> seq_lens = {100, 37};
  const int max_pages = 2, total_pages = 4;
  const std::vector<int> table = {3, 0, 1, 2};  // sequence 0 on pages 3, 0; sequence 1 on page 1
  const auto cache = bf16_uniform(std::size_t(total_pages) * page * dim, 21, -1.0f, 1.0f);
  const auto q = bf16_uniform(std::size_t(batch) * heads * dim, 22, -1.0f, 1.0f);
  const float scale = 1.0f / std::sqrt(192.0f);
  std::vector<std::uint8_t> cq(cache.size());
  std::vector<float> cs(std::size_t(total_pages) * page * (dim / 64));
  ref::quantize_e4m3_row_blocks(total_pages * page, dim, 64, cache.data(), cq.data(), cs.data());
  std::vector<float> want(std::size_t(batch) * heads * dl), got(want.size());
  ref::mla_decode_ref(batch, heads, dl, dr, page, max_pages, q.data(), cache.data(), table.data(), seq_lens.data(),
                      scale, want.data());
  ref::mla_decode_fp8kv_ref(batch, heads, dl, dr, page, max_pages, total_pages, 64, q.data(), cq.data(), cs.data(),
                            table.data(), seq_lens.data(), scale, got.data());

  for (int b = 0; b < batch; ++b) {
    auto row = [&](int j) { return std::size_t(table[std::size_t(b) * max_pages + j / page]) * page + j % page; };
    for (int h = 0; h < heads; ++h) {
      const float* qh = q.data() + (std::size_t(b) * heads + h) * dim;
      const int len = seq_lens[std::size_t(b)];
      std::vector<double> s(static_cast<std::size_t>(len)), p(static_cast<std::size_t>(len));
      double dmax = 0.0, smax = -1e300;
      for (int j = 0; j < len; ++j) {
        const float* c = cache.data() + row(j) * dim;
        const float* sc = cs.data() + row(j) * (dim / 64);
        double acc = 0.0, dj = 0.0;
        for (int i = 0; i < dim; ++i) {
          acc += double(qh[i]) * c[i];
          dj += std::fabs(double(qh[i])) * (kU * std::fabs(double(c[i])) + kSubnormalHalfStep * sc[i / 64]);
        }
        s[std::size_t(j)] = acc * scale;
        smax = std::max(smax, s[std::size_t(j)]);
        dmax = std::max(dmax, dj * scale);
      }
      double den = 0.0;
      for (int j = 0; j < len; ++j) den += (p[std::size_t(j)] = std::exp(s[std::size_t(j)] - smax));
      for (auto& v : p) v /= den;
      const double grow = std::exp(2.0 * dmax);
      for (int dd = 0; dd < dl; ++dd) {
        double sum_eta = 0.0, sum_abs = 0.0;
        for (int j = 0; j < len; ++j) {
          const double c = cache[row(j) * dim + dd];
          sum_eta += p[std::size_t(j)] * (kU * std::fabs(c) + kSubnormalHalfStep * cs[row(j) * (dim / 64) + dd / 64]);
          sum_abs += p[std::size_t(j)] * std::fabs(c);
        }
        const double bound = grow * sum_eta + (grow - 1.0) * sum_abs;
        const std::size_t o = (std::size_t(b) * heads + h) * dl + dd;
        EXPECT_LE(std::fabs(double(got[o]) - want[o]), bound * (1 + 1e-6) + 1e-6)
            << "b " << b << " h " << h << " d " << dd;
      }
    }
  }
  const double rel = ref::rel_l2_error(got.data(), want.data(), got.size());
  EXPECT_GT(rel, 1e-3);  // the FP8 path really quantised
  EXPECT_LT(rel, kU);
  std::printf("FP8-KV MLA decode reference vs bf16 reference: relative L2 error %.4f (bound %.4f)\n", rel, kU);
}
