// MLA decode (DeepSeek-V3, absorbed up-projections) over the paged latent cache, split-KV.
//
// Each latent cache row (512 latent + 64 rope dims) is shared by all heads: that is what makes
// MLA decode cheap in bytes, so a CTA takes 64 heads of one sequence and one KV split, and each
// cache row it loads serves all 64 heads (the other 64-head CTA of the pair reads it mostly
// from L2). With 128 heads the work is ~242 FLOP per cache byte, above the H200's bf16 ridge
// (~206), so the tensor cores (mma.sync m16n8k16, fp32 accumulate) are needed, not FMAs.
//
// Per 32-token tile: S = Q K^T (64 x 32, K = 576) split over 4 K-quarters x 2 row-halves of
// warps into fp32 partials in shared memory; a softmax pass (4 threads per head row, online
// max/sum in log2 domain) writes P in bf16; then O += P V (64 x 512, V = first 512 dims of the
// same rows) with each warp owning 64 output columns, O in registers. Tiles are double-buffered
// with cp.async. A second kernel combines the splits with log-sum-exp weights.
//
// FP8-KV variant (kFp8): the cache is e4m3 with one float scale per token per 64 channels. Each
// thread cp.asyncs its 9 eight-byte chunks of the next tile (and their scales) into a staging
// buffer of its own, overlapping this tile's math; after P.V it dequantises them (e4m3 * scale,
// rounded to bf16) into the other bf16 tile buffer. A thread reads back only what it copied, so
// the staging needs no barrier. The S / softmax / P.V code is the bf16 kernel's, unchanged.
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cuda_check.h"
#include "mla_decode_internal.h"
#include "mla_decode_pipelined.h"
#include "mma.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kHeadsPerCta = 64;
constexpr int kTile = 32;  // tokens per pipeline stage
constexpr int kThreads = 256;
constexpr int kRow = kMlaDim + 8;           // smem row stride (elements): +16 B kills bank conflicts
constexpr int kChunksPerRow = kMlaDim / 8;  // 16-byte chunks per cache row
constexpr int kSStride = kTile + 4;         // fp32 score partial row stride
constexpr int kPStride = kTile + 8;         // bf16 P row stride
constexpr int kKQuarters = 4;

constexpr std::size_t kSmemQ = std::size_t(kHeadsPerCta) * kRow * 2;
constexpr std::size_t kSmemKV = std::size_t(2) * kTile * kRow * 2;
constexpr std::size_t kSmemS = std::size_t(kKQuarters) * kHeadsPerCta * kSStride * 4;
constexpr std::size_t kSmemP = std::size_t(kHeadsPerCta) * kPStride * 2;
constexpr std::size_t kSmemStats = std::size_t(2) * kHeadsPerCta * 4;
constexpr std::size_t kSmemBytes = kSmemQ + kSmemKV + kSmemS + kSmemP + kSmemStats;
static_assert(kSmemBytes <= 227 * 1024, "MLA decode shared memory over the sm_90 limit");
// FP8-KV staging: a tile of e4m3 rows, and 9 scales per thread (one per chunk it copies).
constexpr int kFp8ChunkBytes = 8;
constexpr int kFp8ChunksPerRow = kMlaDim / kFp8ChunkBytes;                // 72
constexpr int kFp8ChunksPerThread = kTile * kFp8ChunksPerRow / kThreads;  // 9
constexpr std::size_t kSmemFp8Stage = std::size_t(kTile) * kMlaDim;
constexpr std::size_t kSmemFp8Scales = std::size_t(kThreads) * kFp8ChunksPerThread * 4;
constexpr std::size_t kSmemBytesFp8 = kSmemBytes + kSmemFp8Stage + kSmemFp8Scales;
static_assert(kTile * kFp8ChunksPerRow % kThreads == 0, "FP8 tile chunks must split evenly over the threads");
static_assert(kMlaKvScaleBlock % kFp8ChunkBytes == 0, "a chunk must not straddle two scale blocks");
static_assert(kSmemBytesFp8 <= 227 * 1024, "MLA FP8-KV decode shared memory over the sm_90 limit");

using Params = mla_detail::SplitParams;

__device__ __forceinline__ void load_tile_async(bf16* dst, const Params& p, int b, int tok0, int valid, int tid) {
  // 32 rows x 72 chunks of 16 B = 2304 chunks over 256 threads (9 each). Rows past the end of
  // the sequence are zero-filled: P is 0 there, and 0 * garbage could still be NaN.
  const int page = p.block_table[static_cast<std::size_t>(b) * p.max_pages + tok0 / kMlaPage];
  const bf16* src = p.cache + (static_cast<std::size_t>(page) * kMlaPage + tok0 % kMlaPage) * kMlaDim;
#pragma unroll
  for (int i = 0; i < (kTile * kChunksPerRow) / kThreads; ++i) {
    const int c = tid + i * kThreads;
    const int row = c / kChunksPerRow, ch = c % kChunksPerRow;
    bf16* d = dst + row * kRow + ch * 8;
    if (row < valid)
      cp_async16(d, src + static_cast<std::size_t>(row) * kMlaDim + ch * 8);
    else
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
  }
}

// FP8-KV: this thread's chunks of tile rows [tok0, tok0 + valid) into the staging buffer (e4m3,
// same [row][576] layout) and their scales into the thread's 9 slots. Rows >= valid are skipped.
__device__ __forceinline__ void stage_fp8_tile_async(unsigned char* stage, float* stage_scales, const Params& p, int b,
                                                     int tok0, int valid, int tid) {
  const int page = p.block_table[static_cast<std::size_t>(b) * p.max_pages + tok0 / kMlaPage];
  const std::size_t tok = static_cast<std::size_t>(page) * kMlaPage + tok0 % kMlaPage;
#pragma unroll
  for (int i = 0; i < kFp8ChunksPerThread; ++i) {
    const int c = tid + i * kThreads;
    const int row = c / kFp8ChunksPerRow, ch = c % kFp8ChunksPerRow;
    if (row < valid) {
      const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(stage + row * kMlaDim + ch * kFp8ChunkBytes));
      asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(d),
                   "l"(p.cache_fp8 + (tok + row) * kMlaDim + ch * kFp8ChunkBytes)
                   : "memory");
      const uint32_t ds = static_cast<uint32_t>(__cvta_generic_to_shared(stage_scales + tid * kFp8ChunksPerThread + i));
      asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(ds),
                   "l"(p.cache_scales + (tok + row) * kMlaKvScales + ch * kFp8ChunkBytes / kMlaKvScaleBlock)
                   : "memory");
    }
  }
}

// FP8-KV: after this thread's staging copies completed (cp_async_wait), its chunks dequantised
// into the bf16 tile (padded rows of kRow); rows >= valid zero-filled.
__device__ __forceinline__ void dequant_fp8_tile(bf16* dst, const unsigned char* stage, const float* stage_scales,
                                                 int valid, int tid) {
#pragma unroll
  for (int i = 0; i < kFp8ChunksPerThread; ++i) {
    const int c = tid + i * kThreads;
    const int row = c / kFp8ChunksPerRow, ch = c % kFp8ChunksPerRow;
    uint4 out = make_uint4(0, 0, 0, 0);
    if (row < valid) {
      const uint2 v = *reinterpret_cast<const uint2*>(stage + row * kMlaDim + ch * kFp8ChunkBytes);
      const float sc = stage_scales[tid * kFp8ChunksPerThread + i];
      const uint32_t w[2] = {v.x, v.y};
      uint32_t o[4];
#pragma unroll
      for (int h = 0; h < 4; ++h) {
        // Two e4m3 -> two halves (exact: e4m3's range and 3 mantissa bits fit in fp16), -> floats.
        const __half2_raw hr = __nv_cvt_fp8x2_to_halfraw2(
            static_cast<__nv_fp8x2_storage_t>((w[h / 2] >> (16 * (h % 2))) & 0xffffu), __NV_E4M3);
        const float2 f = __half22float2(__half2(hr));
        o[h] = pack_bf16x2(f.x * sc, f.y * sc);
      }
      out = make_uint4(o[0], o[1], o[2], o[3]);
    }
    *reinterpret_cast<uint4*>(dst + row * kRow + ch * kFp8ChunkBytes) = out;
  }
}

template <bool kFp8>
__global__ void __launch_bounds__(kThreads, 1) mla_decode_split_kernel(const Params p) {
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* q_s = reinterpret_cast<bf16*>(smem);
  bf16* kv_s = reinterpret_cast<bf16*>(smem + kSmemQ);
  float* s_part = reinterpret_cast<float*>(smem + kSmemQ + kSmemKV);
  bf16* p_s = reinterpret_cast<bf16*>(smem + kSmemQ + kSmemKV + kSmemS);
  float* alpha_s = reinterpret_cast<float*>(smem + kSmemQ + kSmemKV + kSmemS + kSmemP);
  float* l_s = alpha_s + kHeadsPerCta;
  unsigned char* fp8_stage = smem + kSmemBytes;  // kFp8 only
  float* fp8_scales = reinterpret_cast<float*>(smem + kSmemBytes + kSmemFp8Stage);

  const int hg = blockIdx.x, split = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int head0 = hg * kHeadsPerCta;
  const int seq_len = p.seq_lens[b];
  const int t_begin = split * p.split_tokens;
  const int t_end = min(seq_len, t_begin + p.split_tokens);
  const int n_tiles = t_end > t_begin ? (t_end - t_begin + kTile - 1) / kTile : 0;
  const bool split_mode = p.num_splits > 1;

  if (n_tiles == 0) {  // empty split (or empty sequence): the combine skips -inf entries
    if (split_mode) {
      if (tid < kHeadsPerCta)
        p.lse_part[(static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0 + tid] = -INFINITY;
    } else {
      for (int i = tid; i < kHeadsPerCta * kMlaLatent; i += kThreads)
        p.out[(static_cast<std::size_t>(b) * p.heads + head0) * kMlaLatent + i] = __float2bfloat16_rn(0.0f);
    }
    return;
  }

  // Q of the 64 heads (async, same group as the first tile).
  {
    const bf16* qsrc = p.q + (static_cast<std::size_t>(b) * p.heads + head0) * kMlaDim;
    for (int c = tid; c < kHeadsPerCta * kChunksPerRow; c += kThreads) {
      const int row = c / kChunksPerRow, ch = c % kChunksPerRow;
      cp_async16(q_s + row * kRow + ch * 8, qsrc + static_cast<std::size_t>(row) * kMlaDim + ch * 8);
    }
  }
  if constexpr (kFp8) {
    stage_fp8_tile_async(fp8_stage, fp8_scales, p, b, t_begin, min(kTile, t_end - t_begin), tid);
    cp_async_commit();
    cp_async_wait<0>();
    dequant_fp8_tile(kv_s, fp8_stage, fp8_scales, min(kTile, t_end - t_begin), tid);
  } else {
    load_tile_async(kv_s, p, b, t_begin, min(kTile, t_end - t_begin), tid);
    cp_async_commit();
  }

  float o[4][8][4];
#pragma unroll
  for (int rb = 0; rb < 4; ++rb)
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) o[rb][nt][c] = 0.0f;

  // Softmax role: row = tid / 4 (one head), 8 of the 32 tile columns per thread.
  const int sm_row = tid / 4, sm_part = tid % 4;
  float m_run = -INFINITY, l_run = 0.0f;

  // S role: K-quarter kq (9 k-steps of 16), rows 32*rh .. 32*rh+31.
  const int kq = warp % 4, rh = warp / 4;

  for (int it = 0; it < n_tiles; ++it) {
    const int tok0 = t_begin + it * kTile;
    if constexpr (kFp8) {
      // The staging buffer is free: this thread dequantised its previous contents already.
      if (it + 1 < n_tiles) {
        const int ntok = tok0 + kTile;
        stage_fp8_tile_async(fp8_stage, fp8_scales, p, b, ntok, min(kTile, t_end - ntok), tid);
        cp_async_commit();
      }
    } else if (it + 1 < n_tiles) {
      const int ntok = tok0 + kTile;
      load_tile_async(kv_s + ((it + 1) & 1) * kTile * kRow, p, b, ntok, min(kTile, t_end - ntok), tid);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const bf16* kv = kv_s + (it & 1) * kTile * kRow;

    // ---- S partials ----
    {
      float sacc[2][4][4];
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt)
#pragma unroll
          for (int c = 0; c < 4; ++c) sacc[r][nt][c] = 0.0f;
#pragma unroll 3
      for (int ks = 0; ks < kMlaDim / 16 / kKQuarters; ++ks) {
        const int k0 = kq * (kMlaDim / kKQuarters) + ks * 16;
        uint32_t a[2][4];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const bf16* qr = q_s + (32 * rh + 16 * r + g) * kRow + k0 + 2 * t4;
          a[r][0] = lds32(qr);
          a[r][1] = lds32(qr + 8 * kRow);
          a[r][2] = lds32(qr + 8);
          a[r][3] = lds32(qr + 8 * kRow + 8);
        }
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          const bf16* kr = kv + (8 * nt + g) * kRow + k0 + 2 * t4;
          const uint32_t b0 = lds32(kr), b1 = lds32(kr + 8);
#pragma unroll
          for (int r = 0; r < 2; ++r) mma_bf16_16816(sacc[r][nt], a[r], b0, b1);
        }
      }
      float* sp = s_part + kq * kHeadsPerCta * kSStride;
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          const int row = 32 * rh + 16 * r + g, col = 8 * nt + 2 * t4;
          *reinterpret_cast<float2*>(sp + row * kSStride + col) = make_float2(sacc[r][nt][0], sacc[r][nt][1]);
          *reinterpret_cast<float2*>(sp + (row + 8) * kSStride + col) = make_float2(sacc[r][nt][2], sacc[r][nt][3]);
        }
    }
    __syncthreads();

    // ---- online softmax, P in bf16 ----
    {
      const int valid = min(kTile, t_end - tok0);
      float s[8];
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int col = sm_part * 8 + j;
        float v = 0.0f;
#pragma unroll
        for (int q = 0; q < kKQuarters; ++q) v += s_part[(q * kHeadsPerCta + sm_row) * kSStride + col];
        v = col < valid ? v * p.scale_log2 : -INFINITY;
        s[j] = v;
        mx = fmaxf(mx, v);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m_run, mx);
      const float m_ref = m_new == -INFINITY ? 0.0f : m_new;  // no inf - inf
      const float alpha = exp2f(m_run - m_ref);               // m_run = -inf -> 0
      float psum = 0.0f;
#pragma unroll
      for (int j = 0; j < 8; j += 2) {
        const float p0 = exp2f(s[j] - m_ref), p1 = exp2f(s[j + 1] - m_ref);
        const __nv_bfloat162 pb = __floats2bfloat162_rn(p0, p1);
        const float2 pr = __bfloat1622float2(pb);  // sum what the MMA will actually use
        psum += pr.x + pr.y;
        *reinterpret_cast<__nv_bfloat162*>(p_s + sm_row * kPStride + sm_part * 8 + j) = pb;
      }
      psum += __shfl_xor_sync(0xffffffffu, psum, 1);
      psum += __shfl_xor_sync(0xffffffffu, psum, 2);
      l_run = l_run * alpha + psum;
      m_run = m_new;
      if (sm_part == 0) alpha_s[sm_row] = alpha;
    }
    __syncthreads();

    // ---- O = O * alpha + P V ----
    {
#pragma unroll
      for (int rb = 0; rb < 4; ++rb) {
        const float a0 = alpha_s[16 * rb + g], a1 = alpha_s[16 * rb + g + 8];
#pragma unroll
        for (int nt = 0; nt < 8; ++nt) {
          o[rb][nt][0] *= a0;
          o[rb][nt][1] *= a0;
          o[rb][nt][2] *= a1;
          o[rb][nt][3] *= a1;
        }
      }
#pragma unroll
      for (int ks = 0; ks < kTile / 16; ++ks) {
        uint32_t pa[4][4];
#pragma unroll
        for (int rb = 0; rb < 4; ++rb) {
          const bf16* pr = p_s + (16 * rb + g) * kPStride + 16 * ks + 2 * t4;
          pa[rb][0] = lds32(pr);
          pa[rb][1] = lds32(pr + 8 * kPStride);
          pa[rb][2] = lds32(pr + 8);
          pa[rb][3] = lds32(pr + 8 * kPStride + 8);
        }
#pragma unroll
        for (int np = 0; np < 4; ++np) {
          // Matrix i = lane/8: (i & 1) picks tokens +8, (i >> 1) picks dims +8.
          const bf16* vr =
              kv + (16 * ks + (lane & 7) + ((lane >> 3) & 1) * 8) * kRow + 64 * warp + 16 * np + (lane >> 4) * 8;
          uint32_t r[4];
          ldmatrix_x4_trans(r, vr);
#pragma unroll
          for (int rb = 0; rb < 4; ++rb) {
            mma_bf16_16816(o[rb][2 * np], pa[rb], r[0], r[1]);
            mma_bf16_16816(o[rb][2 * np + 1], pa[rb], r[2], r[3]);
          }
        }
      }
    }
    if constexpr (kFp8) {
      // The other bf16 buffer was last read in the previous tile, before this tile's barriers.
      if (it + 1 < n_tiles) {
        const int ntok = tok0 + kTile;
        cp_async_wait<0>();
        dequant_fp8_tile(kv_s + ((it + 1) & 1) * kTile * kRow, fp8_stage, fp8_scales, min(kTile, t_end - ntok), tid);
      }
    }
    __syncthreads();  // this tile's buffer, S and P are free for the next tile
  }

  if (sm_part == 0) {
    l_s[sm_row] = l_run;
    if (split_mode)
      p.lse_part[(static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0 + sm_row] =
          l_run > 0.0f ? m_run + log2f(l_run) : -INFINITY;
  }
  __syncthreads();

#pragma unroll
  for (int rb = 0; rb < 4; ++rb)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = 16 * rb + g + 8 * half;
      const float l = l_s[row];
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const int col = 64 * warp + 8 * nt + 2 * t4;
        const float v0 = o[rb][nt][2 * half] * inv, v1 = o[rb][nt][2 * half + 1] * inv;
        if (split_mode) {
          float* dst = p.o_part +
                       ((static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0 + row) * kMlaLatent +
                       col;
          *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
        } else {
          bf16* dst = p.out + (static_cast<std::size_t>(b) * p.heads + head0 + row) * kMlaLatent + col;
          *reinterpret_cast<__nv_bfloat162*>(dst) = __floats2bfloat162_rn(v0, v1);
        }
      }
    }
}

// One block per (batch, head): weights 2^(lse_s - max) over the non-empty splits.
__global__ void __launch_bounds__(128)
    mla_decode_combine_kernel(int heads, int num_splits, const float* __restrict__ o_part,
                              const float* __restrict__ lse_part, bf16* __restrict__ out) {
  const int b = blockIdx.x / heads, h = blockIdx.x % heads;
  float mx = -INFINITY;
  for (int s = 0; s < num_splits; ++s)
    mx = fmaxf(mx, lse_part[(static_cast<std::size_t>(b) * num_splits + s) * heads + h]);
  float4 acc = make_float4(0, 0, 0, 0);
  float wsum = 0.0f;
  const int col = threadIdx.x * 4;
  if (mx != -INFINITY) {
    for (int s = 0; s < num_splits; ++s) {
      const float lse = lse_part[(static_cast<std::size_t>(b) * num_splits + s) * heads + h];
      if (lse == -INFINITY) continue;  // never read an empty split's (unwritten) partial
      const float w = exp2f(lse - mx);
      const float4 v = *reinterpret_cast<const float4*>(
          o_part + ((static_cast<std::size_t>(b) * num_splits + s) * heads + h) * kMlaLatent + col);
      acc.x += w * v.x;
      acc.y += w * v.y;
      acc.z += w * v.z;
      acc.w += w * v.w;
      wsum += w;
    }
  }
  const float inv = wsum > 0.0f ? 1.0f / wsum : 0.0f;
  bf16* dst = out + (static_cast<std::size_t>(b) * heads + h) * kMlaLatent + col;
  reinterpret_cast<__nv_bfloat162*>(dst)[0] = __floats2bfloat162_rn(acc.x * inv, acc.y * inv);
  reinterpret_cast<__nv_bfloat162*>(dst)[1] = __floats2bfloat162_rn(acc.z * inv, acc.w * inv);
}

int split_tokens_for(const MlaDecodeConfig& c, int splits) {
  const int per = (c.max_seq_len + splits - 1) / splits;
  return std::max(kMlaPage, (per + kMlaPage - 1) / kMlaPage * kMlaPage);  // page-aligned splits
}

}  // namespace

int mla_decode_num_splits(const MlaDecodeConfig& c) {
  // Fewest splits whose CTAs fill >= 85% of the last wave (one CTA per SM); else the best fill.
  // Splits are kept >= 128 tokens so the per-CTA Q load (72 KB) stays small next to the KV.
  const int base = c.batch * (c.heads / kHeadsPerCta);
  const int max_splits = std::max(1, std::min(64, c.max_seq_len / 128));
  int best = 1;
  double best_fill = 0.0;
  for (int s = 1; s <= max_splits; ++s) {
    const int ctas = base * s;
    const int waves = (ctas + c.num_sms - 1) / c.num_sms;
    const double fill = static_cast<double>(ctas) / (static_cast<double>(waves) * c.num_sms);
    if (fill >= 0.85) return s;
    if (fill > best_fill + 1e-9) {
      best_fill = fill;
      best = s;
    }
  }
  return best;
}

std::size_t mla_decode_workspace_bytes(const MlaDecodeConfig& c) {
  const int s = mla_decode_num_splits(c);
  if (s <= 1) return 0;
  return static_cast<std::size_t>(c.batch) * s * c.heads * (kMlaLatent + 1) * sizeof(float);
}

const char* mla_decode_variant_name(MlaDecodeKernel k) {
  switch (k) {
    case MlaDecodeKernel::kMmaSync:
      return "split_kv_mma";
    case MlaDecodeKernel::kWgmma:
      return "split_kv_wgmma";
    case MlaDecodeKernel::kWgmmaN64:
      return "split_kv_wgmma_n64";
    case MlaDecodeKernel::kWgmmaPipe:
      return "split_kv_wgmma_pipe";
    case MlaDecodeKernel::kWgmmaWs:
      return "split_kv_wgmma_ws";
  }
  return "unknown";
}

namespace {

Params make_params(const MlaDecodeConfig& c, const bf16* q, const int* block_table, const int* seq_lens, bf16* out,
                   void* workspace) {
  if (c.heads % kHeadsPerCta != 0 || c.batch <= 0 || c.max_seq_len <= 0)
    throw std::invalid_argument("mla_decode: heads % 64 == 0, batch > 0, max_seq_len > 0");
  const int splits = mla_decode_num_splits(c);
  Params p{};
  p.q = q;
  p.block_table = block_table;
  p.seq_lens = seq_lens;
  p.out = out;
  p.heads = c.heads;
  p.max_pages = c.max_pages;
  p.num_splits = splits;
  p.split_tokens = split_tokens_for(c, splits);
  p.scale_log2 = c.softmax_scale * 1.4426950408889634f;
  if (splits > 1) {
    if (workspace == nullptr) throw std::invalid_argument("mla_decode: workspace needed");
    p.o_part = static_cast<float*>(workspace);
    p.lse_part = p.o_part + static_cast<std::size_t>(c.batch) * splits * c.heads * kMlaLatent;
  }
  return p;
}

template <bool kFp8>
void launch_mma_split(const Params& p, int batch, cudaStream_t s) {
  constexpr std::size_t bytes = kFp8 ? kSmemBytesFp8 : kSmemBytes;
  static bool attr_set = false;  // per process and instantiation; the calibrator uses one device
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(mla_decode_split_kernel<kFp8>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
    attr_set = true;
  }
  const dim3 grid(p.heads / kHeadsPerCta, p.num_splits, batch);
  mla_decode_split_kernel<kFp8><<<grid, kThreads, bytes, s>>>(p);
  GWSIM_LAUNCH_CHECK();
}

void launch_combine(const Params& p, int batch, bf16* out, cudaStream_t s) {
  if (p.num_splits <= 1) return;
  mla_decode_combine_kernel<<<batch * p.heads, kMlaLatent / 4, 0, s>>>(p.heads, p.num_splits, p.o_part, p.lse_part,
                                                                       out);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace

void mla_decode(const MlaDecodeConfig& c, const bf16* q, const bf16* cache, const int* block_table, const int* seq_lens,
                bf16* out, void* workspace, cudaStream_t s, MlaDecodeKernel kernel, float* debug) {
  Params p = make_params(c, q, block_table, seq_lens, out, workspace);
  p.cache = cache;
  p.debug = debug;
  if (kernel == MlaDecodeKernel::kMmaSync) {
    launch_mma_split<false>(p, c.batch, s);
  } else if (kernel == MlaDecodeKernel::kWgmmaWs) {
    mla_detail::launch_wgmma_ws_split(p, c.batch, s);
  } else {
    mla_detail::launch_wgmma_split(p, c.batch, kernel == MlaDecodeKernel::kWgmmaN64 ? 64 : 256,
                                   kernel == MlaDecodeKernel::kWgmmaPipe, s);
  }
  launch_combine(p, c.batch, out, s);
}

void mla_decode_fp8kv(const MlaDecodeConfig& c, const bf16* q, const std::uint8_t* cache_fp8, const float* cache_scales,
                      const int* block_table, const int* seq_lens, bf16* out, void* workspace, cudaStream_t s) {
  Params p = make_params(c, q, block_table, seq_lens, out, workspace);
  p.cache_fp8 = cache_fp8;
  p.cache_scales = cache_scales;
  launch_mma_split<true>(p, c.batch, s);
  launch_combine(p, c.batch, out, s);
}

}  // namespace gwsim::cuda
