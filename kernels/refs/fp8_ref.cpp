// FP8 (E4M3) references: the rounding itself, DeepSeek-V3's fine-grained block quantisation
// (1 x 128 activation tiles, 128 x 128 weight blocks), the block-scaled grouped GEMM and MLA decode
// over an FP8 latent cache.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "gwsim/kernels/refs.h"

namespace gwsim::kernels::ref {

std::uint8_t float_to_e4m3_bits(float x) {
  const std::uint8_t sign = std::signbit(x) ? 0x80u : 0x00u;
  if (std::isnan(x)) return static_cast<std::uint8_t>(sign | 0x7fu);
  const double a = std::fabs(static_cast<double>(x));              // exact; every step below is exact in double
  if (a >= 448.0) return static_cast<std::uint8_t>(sign | 0x7eu);  // satfinite (also +-inf)
  if (a < std::ldexp(1.0, -6)) {
    // Subnormal range: multiples of 2^-9. std::nearbyint rounds ties to even in the default
    // rounding mode; m = 8 is the smallest normal, whose encoding 0x08 is exactly m.
    const double m = std::nearbyint(a * 512.0);
    return static_cast<std::uint8_t>(sign | static_cast<std::uint8_t>(m));
  }
  int e = 0;
  (void)std::frexp(a, &e);                            // a = f * 2^e, f in [0.5, 1): a in [2^(e-1), 2^e)
  const int exp = e - 1;                              // a in [2^exp, 2^(exp+1)), exp in [-6, 8]
  double m = std::nearbyint(std::ldexp(a, 3 - exp));  // 8 .. 16 eighths of 2^exp
  int biased = exp + 7;
  if (m == 16.0) {  // rounded up into the next binade
    m = 8.0;
    ++biased;
  }
  // a < 448 keeps us at or below 1.75 * 2^8 (biased 15, mantissa 6): never the NaN code.
  return static_cast<std::uint8_t>(sign | (biased << 3) | (static_cast<int>(m) - 8));
}

float e4m3_bits_to_float(std::uint8_t bits) {
  const float sign = (bits & 0x80u) ? -1.0f : 1.0f;
  const int biased = (bits >> 3) & 0xf;
  const int mant = bits & 0x7;
  if (biased == 15 && mant == 7) return std::nanf("");
  if (biased == 0) return sign * std::ldexp(static_cast<float>(mant), -9);
  return sign * std::ldexp(static_cast<float>(8 + mant), biased - 7 - 3);
}

float e4m3_block_scale(float amax) { return amax > 0.0f ? amax / kE4m3Max : 1.0f; }

namespace {

int blocks_of(int n, int block) { return (n + block - 1) / block; }

void check_block(int block) {
  if (block <= 0) throw std::invalid_argument("fp8 quantisation: block must be positive");
}

}  // namespace

void quantize_e4m3_row_blocks(int rows, int cols, int block, const float* x, std::uint8_t* q, float* scales) {
  check_block(block);
  const int nb = blocks_of(cols, block);
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < nb; ++b) {
      const int c0 = b * block, c1 = std::min(cols, c0 + block);
      const float* xr = x + static_cast<std::size_t>(r) * cols;
      float amax = 0.0f;
      for (int c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(xr[c]));
      const float s = e4m3_block_scale(amax);
      scales[static_cast<std::size_t>(r) * nb + b] = s;
      for (int c = c0; c < c1; ++c) q[static_cast<std::size_t>(r) * cols + c] = float_to_e4m3_bits(xr[c] / s);
    }
}

void quantize_e4m3_tile_blocks(int matrices, int rows, int cols, int block, const float* x, std::uint8_t* q,
                               float* scales) {
  check_block(block);
  const int rb = blocks_of(rows, block), cb = blocks_of(cols, block);
  for (int m = 0; m < matrices; ++m) {
    const std::size_t base = static_cast<std::size_t>(m) * rows * cols;
    for (int br = 0; br < rb; ++br)
      for (int bc = 0; bc < cb; ++bc) {
        const int r0 = br * block, r1 = std::min(rows, r0 + block);
        const int c0 = bc * block, c1 = std::min(cols, c0 + block);
        float amax = 0.0f;
        for (int r = r0; r < r1; ++r)
          for (int c = c0; c < c1; ++c)
            amax = std::max(amax, std::fabs(x[base + static_cast<std::size_t>(r) * cols + c]));
        const float s = e4m3_block_scale(amax);
        scales[(static_cast<std::size_t>(m) * rb + br) * cb + bc] = s;
        for (int r = r0; r < r1; ++r)
          for (int c = c0; c < c1; ++c) {
            const std::size_t i = base + static_cast<std::size_t>(r) * cols + c;
            q[i] = float_to_e4m3_bits(x[i] / s);
          }
      }
  }
}

void dequantize_e4m3_row_blocks(int rows, int cols, int block, const std::uint8_t* q, const float* scales, float* x) {
  check_block(block);
  const int nb = blocks_of(cols, block);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const std::size_t i = static_cast<std::size_t>(r) * cols + c;
      x[i] = e4m3_bits_to_float(q[i]) * scales[static_cast<std::size_t>(r) * nb + c / block];
    }
}

void dequantize_e4m3_tile_blocks(int matrices, int rows, int cols, int block, const std::uint8_t* q,
                                 const float* scales, float* x) {
  check_block(block);
  const int rb = blocks_of(rows, block), cb = blocks_of(cols, block);
  for (int m = 0; m < matrices; ++m)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const std::size_t i = (static_cast<std::size_t>(m) * rows + r) * cols + c;
        x[i] = e4m3_bits_to_float(q[i]) * scales[(static_cast<std::size_t>(m) * rb + r / block) * cb + c / block];
      }
}

void grouped_gemm_fp8_blockscaled_ref(int experts, const int* counts, int n, int k, const std::uint8_t* xq,
                                      const float* x_scales, const std::uint8_t* wq, const float* w_scales, float* y) {
  constexpr int kBlock = 128;
  const int kb = blocks_of(k, kBlock), nb = blocks_of(n, kBlock);
  // Decode the 256 codes once.
  float lut[256];
  for (int i = 0; i < 256; ++i) lut[i] = e4m3_bits_to_float(static_cast<std::uint8_t>(i));
  std::size_t row = 0;
  for (int e = 0; e < experts; ++e) {
    const std::uint8_t* we = wq + static_cast<std::size_t>(e) * n * k;
    const float* wse = w_scales + static_cast<std::size_t>(e) * nb * kb;
    for (int i = 0; i < counts[e]; ++i, ++row) {
      const std::uint8_t* xr = xq + row * k;
      const float* xs = x_scales + row * kb;
      for (int j = 0; j < n; ++j) {
        const std::uint8_t* wr = we + static_cast<std::size_t>(j) * k;
        double acc = 0.0;
        for (int b = 0; b < kb; ++b) {
          // Products of two e4m3 values are multiples of 2^-18 below 2^18: this partial is exact.
          double part = 0.0;
          for (int kk = b * kBlock; kk < std::min(k, (b + 1) * kBlock); ++kk)
            part += static_cast<double>(lut[xr[kk]]) * lut[wr[kk]];
          acc += part * (static_cast<double>(xs[b]) * wse[static_cast<std::size_t>(j / kBlock) * kb + b]);
        }
        y[row * n + j] = static_cast<float>(acc);
      }
    }
  }
}

void mla_decode_fp8kv_ref(int batch, int heads, int d_latent, int d_rope, int page_size, int max_pages, int total_pages,
                          int block, const float* q, const std::uint8_t* cache_q, const float* cache_scales,
                          const int* block_table, const int* seq_lens, float scale, float* out) {
  const int d = d_latent + d_rope;
  const int rows = total_pages * page_size;
  std::vector<float> cache(static_cast<std::size_t>(rows) * d);
  dequantize_e4m3_row_blocks(rows, d, block, cache_q, cache_scales, cache.data());
  mla_decode_ref(batch, heads, d_latent, d_rope, page_size, max_pages, q, cache.data(), block_table, seq_lens, scale,
                 out);
}

}  // namespace gwsim::kernels::ref
