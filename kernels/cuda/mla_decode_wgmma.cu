// MLA decode split kernel on Hopper warpgroup MMA (wgmma), built for sm_90a only.
//
// A CTA is two warpgroups (256 threads) and takes 64 heads of one sequence and one KV split, as
// the mma.sync kernel does; the second 64-head CTA of the pair reads the same cache rows mostly
// from L2. Shared memory holds Q (64 x 576), two 64-token KV tiles (double-buffered with
// cp.async, one page each) and P (64 x 64), all in 128-byte-swizzled atoms of [rows][64] (see
// wgmma.h): 226 KB, one CTA per SM. Per tile:
//   S = Q K^T: warpgroup w computes the 32 tokens [32w, 32w+32) with 36 m64n32k16 wgmmas
//              (A = Q, B = the K-major cache rows), fp32 in registers;
//   softmax:   row maxima exchanged between the two warpgroups through shared memory, P in bf16
//              written into the swizzled P tile;
//   O += P V:  warpgroup w owns output columns [256w, 256w+256): O is 64 x 256 fp32, 128
//              registers a thread; V is the first 512 columns of the same cache rows, read as an
//              N-major B operand (trans-b) straight from the tile S used.
// Splits and the log-sum-exp combine are shared with the mma.sync kernel (mla_decode.cu).
#include <cmath>

#include "cuda_check.h"
#include "mla_decode_internal.h"
#include "mma.h"
#include "wgmma.h"

namespace gwsim::cuda::mla_detail {
namespace {

constexpr int kHeadsPerCta = 64;
constexpr int kTile = 64;
constexpr int kThreads = 256;
constexpr int kAtoms = kMlaDim / 64;             // 9 column blocks of 64
constexpr int kAtomBytes = kTile * 128;          // [64 rows][64 bf16]
constexpr int kTileBytes = kAtoms * kAtomBytes;  // 73728
constexpr int kPBytes = kHeadsPerCta * 128;      // [64 rows][64 tokens] bf16
constexpr int kChunksPerRow = kMlaDim / 8;       // 72 chunks of 16 B
constexpr std::size_t kSmemBytes =
    1024 /* alignment slack */ + 3 * std::size_t(kTileBytes) + kPBytes + 4 * kHeadsPerCta * sizeof(float);
static_assert(kSmemBytes <= 227 * 1024, "MLA wgmma decode shared memory over the sm_90 limit");
static_assert(kTile == kMlaPage, "a tile is one page");

__device__ __forceinline__ uint32_t swz(int row, int chunk) {  // byte offset inside an atom
  return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
}

// rows x 72 chunks of a [rows][576] row-major source into the swizzled layout; rows >= valid
// are zero-filled (P is 0 there, and 0 * garbage could be NaN).
__device__ __forceinline__ void load_rows_async(unsigned char* dst, const bf16* src, int valid, int tid) {
#pragma unroll 6
  for (int i = 0; i < kTile * kChunksPerRow / kThreads; ++i) {
    const int c = tid + i * kThreads;
    const int row = c / kChunksPerRow, ch = c % kChunksPerRow;
    unsigned char* d = dst + (ch >> 3) * kAtomBytes + swz(row, ch & 7);
    if (row < valid)
      cp_async16(d, src + static_cast<std::size_t>(row) * kMlaDim + ch * 8);
    else
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
  }
}

__device__ __forceinline__ const bf16* page_ptr(const SplitParams& p, int b, int tok0) {
  const int page = p.block_table[static_cast<std::size_t>(b) * p.max_pages + tok0 / kMlaPage];
  return p.cache + static_cast<std::size_t>(page) * kMlaPage * kMlaDim;
}

// kPipe: software-pipelined. S of tile it+1 is issued right behind P.V of tile it (wait_group 1
// then lets P.V finish while S runs), so the tensor cores see the two back to back and the KV
// barrier and the next tile's cp.async issue overlap S.
template <int kPvN, bool kPipe>
__global__ void __launch_bounds__(kThreads, 1) mla_decode_wgmma_kernel(const SplitParams p) {
  extern __shared__ unsigned char smem_raw[];
  unsigned char* base =
      reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  unsigned char* q_s = base;
  unsigned char* kv_s = base + kTileBytes;
  unsigned char* p_s = base + 3 * kTileBytes;
  float* red_max = reinterpret_cast<float*>(p_s + kPBytes);  // [2][64]
  float* red_l = red_max + 2 * kHeadsPerCta;                 // [2][64]
  const uint32_t q_addr = static_cast<uint32_t>(__cvta_generic_to_shared(q_s));
  const uint32_t kv_addr = static_cast<uint32_t>(__cvta_generic_to_shared(kv_s));
  const uint32_t p_addr = static_cast<uint32_t>(__cvta_generic_to_shared(p_s));

  const int hg = blockIdx.x, split = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, wg = tid / 128, wi = (tid % 128) / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int head0 = hg * kHeadsPerCta;
  const int seq_len = p.seq_lens[b];
  const int t_begin = split * p.split_tokens;
  const int t_end = min(seq_len, t_begin + p.split_tokens);
  const int n_tiles = t_end > t_begin ? (t_end - t_begin + kTile - 1) / kTile : 0;
  const bool split_mode = p.num_splits > 1;
  const bool dbg = p.debug != nullptr && blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0;

  if (n_tiles == 0) {
    if (split_mode) {
      if (tid < kHeadsPerCta)
        p.lse_part[(static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0 + tid] = -INFINITY;
    } else {
      for (int i = tid; i < kHeadsPerCta * kMlaLatent; i += kThreads)
        p.out[(static_cast<std::size_t>(b) * p.heads + head0) * kMlaLatent + i] = __float2bfloat16_rn(0.0f);
    }
    return;
  }

  load_rows_async(q_s, p.q + (static_cast<std::size_t>(b) * p.heads + head0) * kMlaDim, kHeadsPerCta, tid);
  load_rows_async(kv_s, page_ptr(p, b, t_begin), min(kTile, t_end - t_begin), tid);
  cp_async_commit();
  if (n_tiles > 1)
    load_rows_async(kv_s + kTileBytes, page_ptr(p, b, t_begin + kTile), min(kTile, t_end - t_begin - kTile), tid);
  cp_async_commit();

  float o[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) o[i] = 0.0f;
  const int r0 = 16 * wi + g, r1 = r0 + 8;  // this thread's two head rows (same in both warpgroups)
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  // ---- S = Q K^T for tokens [32 wg, 32 wg + 32) of the tile in buffer `buf` (issued, not waited) ----
  float s[16];
  auto issue_s = [&](uint32_t buf) {
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kMlaDim / 16; ++kk) {
      const uint32_t off = (kk >> 2) * kAtomBytes + (kk & 3) * 32;
      wgmma_m64n32k16_ss(s, wgmma_desc_sw128(q_addr + off, 16, 1024),
                         wgmma_desc_sw128(buf + off + wg * 32 * 128, 16, 1024), kk > 0);
    }
    wgmma_commit();
    wgmma_fence_regs(s);
  };
  if constexpr (kPipe) {
    cp_async_wait<1>();
    fence_proxy_async_smem();
    __syncthreads();
    issue_s(kv_addr);
  }

  for (int it = 0; it < n_tiles; ++it) {
    const int tok0 = t_begin + it * kTile;
    const int valid = min(kTile, t_end - tok0);
    const uint32_t buf = kv_addr + (it & 1) * kTileBytes;
    if constexpr (!kPipe) {
      cp_async_wait<1>();
      fence_proxy_async_smem();
      __syncthreads();
      issue_s(buf);
    }
    wgmma_wait<0>();
    wgmma_fence_regs(s);
    if (dbg && it == 0) {
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int col = 32 * wg + 8 * j + 2 * t4 + e;
          p.debug[r0 * 64 + col] = s[4 * j + e];
          p.debug[r1 * 64 + col] = s[4 * j + 2 + e];
        }
    }

    // ---- online softmax (log2 domain); row max shared between the warpgroups ----
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const bool in = 32 * wg + 8 * j + 2 * t4 + e < valid;
        s[4 * j + e] = in ? s[4 * j + e] * p.scale_log2 : -INFINITY;
        s[4 * j + 2 + e] = in ? s[4 * j + 2 + e] * p.scale_log2 : -INFINITY;
        mx0 = fmaxf(mx0, s[4 * j + e]);
        mx1 = fmaxf(mx1, s[4 * j + 2 + e]);
      }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    if (t4 == 0) {
      red_max[wg * kHeadsPerCta + r0] = mx0;
      red_max[wg * kHeadsPerCta + r1] = mx1;
    }
    __syncthreads();
    const float mn0 = fmaxf(m0, fmaxf(red_max[r0], red_max[kHeadsPerCta + r0]));
    const float mn1 = fmaxf(m1, fmaxf(red_max[r1], red_max[kHeadsPerCta + r1]));
    const float ref0 = mn0 == -INFINITY ? 0.0f : mn0, ref1 = mn1 == -INFINITY ? 0.0f : mn1;
    const float alpha0 = exp2f(m0 - ref0), alpha1 = exp2f(m1 - ref1);
    float ps0 = 0.0f, ps1 = 0.0f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = 32 * wg + 8 * j + 2 * t4;  // even: one bf16x2 store per row
      const __nv_bfloat162 pa = __floats2bfloat162_rn(exp2f(s[4 * j] - ref0), exp2f(s[4 * j + 1] - ref0));
      const __nv_bfloat162 pb = __floats2bfloat162_rn(exp2f(s[4 * j + 2] - ref1), exp2f(s[4 * j + 3] - ref1));
      const float2 fa = __bfloat1622float2(pa), fb = __bfloat1622float2(pb);  // sum what the MMA uses
      ps0 += fa.x + fa.y;
      ps1 += fb.x + fb.y;
      *reinterpret_cast<__nv_bfloat162*>(p_s + swz(r0, col >> 3) + (col & 7) * 2) = pa;
      *reinterpret_cast<__nv_bfloat162*>(p_s + swz(r1, col >> 3) + (col & 7) * 2) = pb;
      if (dbg && it == 0) {
        p.debug[4096 + r0 * 64 + col] = fa.x;
        p.debug[4096 + r0 * 64 + col + 1] = fa.y;
        p.debug[4096 + r1 * 64 + col] = fb.x;
        p.debug[4096 + r1 * 64 + col + 1] = fb.y;
      }
    }
    ps0 += __shfl_xor_sync(0xffffffffu, ps0, 1);
    ps0 += __shfl_xor_sync(0xffffffffu, ps0, 2);
    ps1 += __shfl_xor_sync(0xffffffffu, ps1, 1);
    ps1 += __shfl_xor_sync(0xffffffffu, ps1, 2);
    l0 = l0 * alpha0 + ps0;  // this warpgroup's half of the tokens; halves summed at the end
    l1 = l1 * alpha1 + ps1;
    m0 = mn0;
    m1 = mn1;
    fence_proxy_async_smem();
    __syncthreads();

    // ---- O = O * alpha + P V over this warpgroup's 256 columns ----
#pragma unroll
    for (int j = 0; j < 32; ++j) {
      o[4 * j] *= alpha0;
      o[4 * j + 1] *= alpha0;
      o[4 * j + 2] *= alpha1;
      o[4 * j + 3] *= alpha1;
    }
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < kTile / 16; ++ks) {
      const uint64_t da = wgmma_desc_sw128(p_addr + ks * 32, 16, 1024);
      const uint32_t vb = buf + wg * 4 * kAtomBytes + ks * 16 * 128;
      if constexpr (kPvN == 256) {
        wgmma_m64n256k16_ss_tb(o, da, wgmma_desc_sw128(vb, kAtomBytes, 1024), 1);
      } else {
#pragma unroll
        for (int nb = 0; nb < 4; ++nb)
          wgmma_m64n64k16_ss_tb(*reinterpret_cast<float(*)[32]>(o + 32 * nb), da,
                                wgmma_desc_sw128(vb + nb * kAtomBytes, 1024, 1024), 1);
      }
    }
    wgmma_commit();
    wgmma_fence_regs(o);
    if (kPipe && it + 1 < n_tiles) {
      cp_async_wait<0>();  // tile it+1 (its group is the newest committed)
      fence_proxy_async_smem();
      __syncthreads();
      issue_s(kv_addr + ((it + 1) & 1) * kTileBytes);
      wgmma_wait<1>();  // P.V of tile it done; S of tile it+1 may still run
    } else {
      wgmma_wait<0>();
    }
    wgmma_fence_regs(o);
    if (dbg && it == 0) {
#pragma unroll
      for (int j = 0; j < 32; ++j) {
        const int col = 256 * wg + 8 * j + 2 * t4;
        p.debug[8192 + r0 * 512 + col] = o[4 * j];
        p.debug[8192 + r0 * 512 + col + 1] = o[4 * j + 1];
        p.debug[8192 + r1 * 512 + col] = o[4 * j + 2];
        p.debug[8192 + r1 * 512 + col + 1] = o[4 * j + 3];
      }
    }
    __syncthreads();  // both warpgroups are done with this KV buffer and with P
    if (it + 2 < n_tiles) {
      const int ntok = tok0 + 2 * kTile;
      load_rows_async(kv_s + (it & 1) * kTileBytes, page_ptr(p, b, ntok), min(kTile, t_end - ntok), tid);
    }
    cp_async_commit();  // possibly empty: keeps wait_group<1> uniform
  }

  if (t4 == 0) {
    red_l[wg * kHeadsPerCta + r0] = l0;
    red_l[wg * kHeadsPerCta + r1] = l1;
  }
  __syncthreads();
  const float lt0 = red_l[r0] + red_l[kHeadsPerCta + r0], lt1 = red_l[r1] + red_l[kHeadsPerCta + r1];
  if (split_mode && wg == 0 && t4 == 0) {
    const std::size_t lb = (static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0;
    p.lse_part[lb + r0] = lt0 > 0.0f ? m0 + log2f(lt0) : -INFINITY;
    p.lse_part[lb + r1] = lt1 > 0.0f ? m1 + log2f(lt1) : -INFINITY;
  }
  const float inv0 = lt0 > 0.0f ? 1.0f / lt0 : 0.0f, inv1 = lt1 > 0.0f ? 1.0f / lt1 : 0.0f;
#pragma unroll
  for (int j = 0; j < 32; ++j) {
    const int col = 256 * wg + 8 * j + 2 * t4;
    if (split_mode) {
      const std::size_t rb = (static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0;
      *reinterpret_cast<float2*>(p.o_part + (rb + r0) * kMlaLatent + col) =
          make_float2(o[4 * j] * inv0, o[4 * j + 1] * inv0);
      *reinterpret_cast<float2*>(p.o_part + (rb + r1) * kMlaLatent + col) =
          make_float2(o[4 * j + 2] * inv1, o[4 * j + 3] * inv1);
    } else {
      const std::size_t rb = static_cast<std::size_t>(b) * p.heads + head0;
      *reinterpret_cast<__nv_bfloat162*>(p.out + (rb + r0) * kMlaLatent + col) =
          __floats2bfloat162_rn(o[4 * j] * inv0, o[4 * j + 1] * inv0);
      *reinterpret_cast<__nv_bfloat162*>(p.out + (rb + r1) * kMlaLatent + col) =
          __floats2bfloat162_rn(o[4 * j + 2] * inv1, o[4 * j + 3] * inv1);
    }
  }
}

template <int kPvN, bool kPipe>
void launch(const SplitParams& p, int batch, cudaStream_t s) {
  static bool attr_set = false;  // per process and instantiation; the calibrator uses one device
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(mla_decode_wgmma_kernel<kPvN, kPipe>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmemBytes)));
    attr_set = true;
  }
  const dim3 grid(p.heads / kHeadsPerCta, p.num_splits, batch);
  mla_decode_wgmma_kernel<kPvN, kPipe><<<grid, kThreads, kSmemBytes, s>>>(p);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace

void launch_wgmma_split(const SplitParams& p, int batch, int pv_n, bool pipelined, cudaStream_t s) {
  if (pipelined)
    launch<256, true>(p, batch, s);
  else if (pv_n == 256)
    launch<256, false>(p, batch, s);
  else
    launch<64, false>(p, batch, s);
}

}  // namespace gwsim::cuda::mla_detail
