// MLA decode split kernel, warp-specialised (Kernels v3), sm_90a only.
//
// A CTA takes 64 heads of one sequence and one KV split (grid and split-KV as the other MLA
// kernels) and is two warpgroups (256 threads, up to 255 registers; a separate producer warp
// did not fit: 9 warps put 3 on one SM sub-partition, capping registers at 168, and ptxas does
// not allocate past that cap for setmaxnreg regions, so O spilled):
//   WG0: S = Q K^T for all 64 tokens (36 m64n64k16, full rows, so the row max needs no
//        cross-warpgroup exchange), online softmax in registers, P (bf16) written into the
//        tile's rope atom (columns 512-575, dead once S is done: P needs no buffer of its own),
//        the per-row rescale factor into smem, then O[:, 0:256] += P V (m64n256k16). It issues
//        S of the next tile right behind its own P.V, so the tensor pipe sees P.V(i) and S(i+1)
//        back to back.
//   WG1: waits for P of the tile (named barrier, one id per tile parity: bar.arrive by WG0,
//        bar.sync by WG1), does O[:, 256:512] += P V, overlapping WG0's S of the next tile, and
//        is the producer: Q and 64-token KV tiles (one page, 576 x 64 bf16 = 72 KB) into a
//        2-stage ring with 16-byte cp.async (zero-fill past the sequence end), each thread's
//        copies completing on the stage's "full" mbarrier (cp.async.mbarrier.arrive.noinc); a
//        stage is refilled (tile i+2) once its "empty" mbarrier has all 8 warps' arrivals.
// No block-wide barrier inside the tile loop. Shared memory: Q 72 KB + 2 x 72 KB + scales.
#include <cmath>

#include "cuda_check.h"
#include "mla_decode_internal.h"
#include "mla_decode_pipelined.h"
#include "wgmma.h"

namespace gwsim::cuda::mla_detail {
namespace {

constexpr int kHeadsPerCta = 64;
constexpr int kTile = 64;
constexpr int kThreads = 256;  // 2 warpgroups, up to 255 registers a thread
constexpr int kStages = 2;
constexpr int kAtoms = kMlaDim / 64;             // 9 column blocks of 64
constexpr int kAtomBytes = kTile * 128;          // [64 rows][64 bf16]
constexpr int kTileBytes = kAtoms * kAtomBytes;  // 73728
constexpr int kChunksPerRow = kMlaDim / 8;       // 72 chunks of 16 B
constexpr int kProdThreads = 128;                // WG1's threads issue the loads
constexpr std::size_t kSmemBytes = 1024 /* alignment slack */ + std::size_t(1 + kStages) * kTileBytes +
                                   (kStages + 2) * kHeadsPerCta * sizeof(float) + 64 /* mbarriers */;
static_assert(kSmemBytes <= 227 * 1024, "MLA pipelined decode shared memory over the sm_90 limit");
static_assert(kTile == kMlaPage, "a tile is one page");
constexpr int kBarPReady = 1;  // ids 1, 2 by tile parity
constexpr int kBarFinal = 3;

__device__ __forceinline__ uint32_t swz(int row, int chunk) {  // byte offset inside an atom
  return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
}

__device__ __forceinline__ void cp_async16_zfill(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0) : "memory");
}
__device__ __forceinline__ void cp_async_arrive_noinc(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_init(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void named_sync(int id, int count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int count) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
// D[64x64] (+)= A[64x16] * B[16x64], both from shared memory, B K-major.
__device__ __forceinline__ void wgmma_m64n64k16_ss(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%"
      "30,%31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// The same with D = A * B (scale-d 0) and D write-only, so nothing that defined D before (the
// softmax rewrites S in place) can be sunk by the compiler into the wgmma pipeline stage.
__device__ __forceinline__ void wgmma_m64n64k16_ss_first(float (&d)[32], uint64_t desc_a, uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 0, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%"
      "30,%31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3]), "=f"(d[4]), "=f"(d[5]), "=f"(d[6]), "=f"(d[7]), "=f"(d[8]),
        "=f"(d[9]), "=f"(d[10]), "=f"(d[11]), "=f"(d[12]), "=f"(d[13]), "=f"(d[14]), "=f"(d[15]), "=f"(d[16]),
        "=f"(d[17]), "=f"(d[18]), "=f"(d[19]), "=f"(d[20]), "=f"(d[21]), "=f"(d[22]), "=f"(d[23]), "=f"(d[24]),
        "=f"(d[25]), "=f"(d[26]), "=f"(d[27]), "=f"(d[28]), "=f"(d[29]), "=f"(d[30]), "=f"(d[31])
      : "l"(desc_a), "l"(desc_b));
}

__device__ __forceinline__ const bf16* page_ptr(const SplitParams& p, int b, int tok0) {
  const int page = p.block_table[static_cast<std::size_t>(b) * p.max_pages + tok0 / kMlaPage];
  return p.cache + static_cast<std::size_t>(page) * kMlaPage * kMlaDim;
}

// O (64 x 256 of this warpgroup) += P V, P in the tile's rope atom, V columns [256 wg, 256 wg + 256).
__device__ __forceinline__ void issue_pv(float (&o)[128], uint32_t buf, int wg) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < kTile / 16; ++ks) {
    const uint64_t da = wgmma_desc_sw128(buf + 8 * kAtomBytes + ks * 32, 16, 1024);
    const uint32_t vb = buf + wg * 4 * kAtomBytes + ks * 16 * 128;
    wgmma_m64n256k16_ss_tb(o, da, wgmma_desc_sw128(vb, kAtomBytes, 1024), 1);
  }
  wgmma_commit();
}

__global__ void __launch_bounds__(kThreads, 1) mla_decode_ws_kernel(const SplitParams p) {
  extern __shared__ unsigned char smem_raw[];
  unsigned char* base =
      reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  unsigned char* q_s = base;
  unsigned char* kv_s = base + kTileBytes;
  float* sc = reinterpret_cast<float*>(base + (1 + kStages) * kTileBytes);  // [kStages][64] rescale factors
  float* red_m = sc + kStages * kHeadsPerCta;                               // [64]
  float* red_l = red_m + kHeadsPerCta;                                      // [64]
  const uint32_t bars = static_cast<uint32_t>(__cvta_generic_to_shared(red_l + kHeadsPerCta));
  // full[s] at bars + 8 s, empty[s] at bars + 8 (kStages + s)
  const uint32_t q_addr = static_cast<uint32_t>(__cvta_generic_to_shared(q_s));
  const uint32_t kv_addr = static_cast<uint32_t>(__cvta_generic_to_shared(kv_s));

  const int hg = blockIdx.x, split = blockIdx.y, b = blockIdx.z;
  // wg through a shuffle: warp-uniform for ptxas, so the wgmma branches are not 'divergent paths'
  const int tid = threadIdx.x, wg = __shfl_sync(0xffffffffu, tid / 128, 0), wi = (tid % 128) / 32, lane = tid % 32,
            g = lane / 4, t4 = lane % 4;
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

  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbar_init(bars + 8 * s, kProdThreads);   // one noinc arrive per loading thread
      mbar_init(bars + 8 * (kStages + s), 8);  // one arrive per consumer warp
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  // ---------------- consumers ----------------
  float o[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) o[i] = 0.0f;
  const int r0 = 16 * wi + g, r1 = r0 + 8;  // this thread's two head rows (same in both warpgroups)
  float mf0, mf1, lt0, lt1;                 // final row max and sum (WG0's, shared with WG1 at the end)

  if (wg == 0) {
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
    float s[32];
    auto issue_s = [&](uint32_t buf) {
      // Q's address through an opaque move: otherwise the 36 loop-invariant Q descriptors are
      // hoisted out of the tile loop and hold 72 registers.
      uint32_t qa;
      asm volatile("mov.b32 %0, %1;\n" : "=r"(qa) : "r"(q_addr));
      const uint64_t dq = wgmma_desc_sw128(qa, 16, 1024), dk = wgmma_desc_sw128(buf, 16, 1024);
      wgmma_fence();
      wgmma_m64n64k16_ss_first(s, dq, dk);
#pragma unroll
      for (int kk = 1; kk < kMlaDim / 16; ++kk) {
        const uint32_t off = ((kk >> 2) * kAtomBytes + (kk & 3) * 32) >> 4;  // descriptor address field is in 16 B
        wgmma_m64n64k16_ss(s, dq + off, dk + off, 1);
      }
      wgmma_commit();
    };
    mbar_wait(bars, 0);
    fence_proxy_async_smem();
    issue_s(kv_addr);
    wgmma_wait<0>();
    wgmma_fence_regs(s);
    for (int it = 0; it < n_tiles; ++it) {
      const int st = it % kStages;
      const uint32_t buf = kv_addr + st * kTileBytes;
      unsigned char* p_s = kv_s + st * kTileBytes + 8 * kAtomBytes;  // P over the dead rope atom
      const int valid = min(kTile, t_end - (t_begin + it * kTile));
      if (dbg && it == 0) {
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int col = 8 * j + 2 * t4 + e;
            p.debug[r0 * 64 + col] = s[4 * j + e];
            p.debug[r1 * 64 + col] = s[4 * j + 2 + e];
          }
      }
      // ---- online softmax (log2 domain), full rows in this warpgroup ----
      float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const bool in = 8 * j + 2 * t4 + e < valid;
          s[4 * j + e] = in ? s[4 * j + e] * p.scale_log2 : -INFINITY;
          s[4 * j + 2 + e] = in ? s[4 * j + 2 + e] * p.scale_log2 : -INFINITY;
          mx0 = fmaxf(mx0, s[4 * j + e]);
          mx1 = fmaxf(mx1, s[4 * j + 2 + e]);
        }
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
      const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
      const float ref0 = mn0 == -INFINITY ? 0.0f : mn0, ref1 = mn1 == -INFINITY ? 0.0f : mn1;
      const float alpha0 = exp2f(m0 - ref0), alpha1 = exp2f(m1 - ref1);
      float ps0 = 0.0f, ps1 = 0.0f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int col = 8 * j + 2 * t4;  // even: one bf16x2 store per row
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
      if (t4 == 0) {
        sc[st * kHeadsPerCta + r0] = alpha0;
        sc[st * kHeadsPerCta + r1] = alpha1;
      }
      fence_proxy_async_smem();
      named_arrive(kBarPReady + (it & 1), 256);  // WG1 may now read P and the scales of this tile
      ps0 += __shfl_xor_sync(0xffffffffu, ps0, 1);
      ps0 += __shfl_xor_sync(0xffffffffu, ps0, 2);
      ps1 += __shfl_xor_sync(0xffffffffu, ps1, 1);
      ps1 += __shfl_xor_sync(0xffffffffu, ps1, 2);
      l0 = l0 * alpha0 + ps0;
      l1 = l1 * alpha1 + ps1;
      m0 = mn0;
      m1 = mn1;
#pragma unroll
      for (int j = 0; j < 32; ++j) {
        o[4 * j] *= alpha0;
        o[4 * j + 1] *= alpha0;
        o[4 * j + 2] *= alpha1;
        o[4 * j + 3] *= alpha1;
      }
      // wgmma reads P from smem written by this warpgroup's threads: all four warps must be past
      // their stores (and fences) first.
      named_sync(4, 128);
      issue_pv(o, buf, 0);
      {
        // On the last tile a redundant S over the current stage (still resident) keeps the wgmma
        // group structure branch-free: with S issued only when there is a next tile, ptxas
        // serialized every wgmma of the kernel (C7514).
        const bool more = it + 1 < n_tiles;
        const int sn = more ? (it + 1) % kStages : st;
        if (more) mbar_wait(bars + 8 * sn, ((it + 1) / kStages) & 1);
        fence_proxy_async_smem();
        issue_s(kv_addr + sn * kTileBytes);
        wgmma_wait<1>();  // P.V of this tile done; S of the next may still run (o not touched
                          // until that S is waited: reading it here serializes the pipeline)
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(bars + 8 * (kStages + st));
      if (dbg && it == 0) {
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          const int col = 8 * j + 2 * t4;
          p.debug[8192 + r0 * 512 + col] = o[4 * j];
          p.debug[8192 + r0 * 512 + col + 1] = o[4 * j + 1];
          p.debug[8192 + r1 * 512 + col] = o[4 * j + 2];
          p.debug[8192 + r1 * 512 + col + 1] = o[4 * j + 3];
        }
      }
      // S of the next tile: waited here, not at the loop top, so that no S is in flight across
      // the back edge (the loop's register moves would serialize the wgmma pipeline).
      wgmma_wait<0>();
      wgmma_fence_regs(s);
    }
    if (t4 == 0) {
      red_m[r0] = m0;
      red_m[r1] = m1;
      red_l[r0] = l0;
      red_l[r1] = l1;
    }
    named_arrive(kBarFinal, 256);
    mf0 = m0;
    mf1 = m1;
    lt0 = l0;
    lt1 = l1;
  } else {
    // WG1 is also the producer: 36 cp.async of 16 B a thread per tile, completing on full[st].
    const int pt = tid - 128;
    auto load_tile = [&](int it) {
      const int st = it % kStages;
      const int tok0 = t_begin + it * kTile;
      const int valid = min(kTile, t_end - tok0);
      const bf16* src = page_ptr(p, b, tok0);
      const uint32_t dst = kv_addr + st * kTileBytes;
#pragma unroll 4
      for (int i = 0; i < kTile * kChunksPerRow / kProdThreads; ++i) {
        const int c = pt + i * kProdThreads;
        const int row = c / kChunksPerRow, ch = c % kChunksPerRow;
        const bool ok = row < valid;  // rows past the end are zero-filled (P is 0 there, 0 * garbage may be NaN)
        cp_async16_zfill(dst + (ch >> 3) * kAtomBytes + swz(row, ch & 7), src + (ok ? row * kMlaDim + ch * 8 : 0), ok);
      }
      cp_async_arrive_noinc(bars + 8 * st);
    };
    {
      const bf16* qsrc = p.q + (static_cast<std::size_t>(b) * p.heads + head0) * kMlaDim;
#pragma unroll 4
      for (int i = 0; i < kTile * kChunksPerRow / kProdThreads; ++i) {
        const int c = pt + i * kProdThreads;
        const int row = c / kChunksPerRow, ch = c % kChunksPerRow;
        cp_async16_zfill(q_addr + (ch >> 3) * kAtomBytes + swz(row, ch & 7), qsrc + row * kMlaDim + ch * 8, true);
      }
    }
    for (int it = 0; it < kStages && it < n_tiles; ++it) load_tile(it);  // Q rides with tile 0
    for (int it = 0; it < n_tiles; ++it) {
      const int st = it % kStages;
      const uint32_t buf = kv_addr + st * kTileBytes;
      named_sync(kBarPReady + (it & 1), 256);
      mbar_wait(bars + 8 * st, (it / kStages) & 1);
      fence_proxy_async_smem();
      const float a0 = sc[st * kHeadsPerCta + r0], a1 = sc[st * kHeadsPerCta + r1];
#pragma unroll
      for (int j = 0; j < 32; ++j) {
        o[4 * j] *= a0;
        o[4 * j + 1] *= a0;
        o[4 * j + 2] *= a1;
        o[4 * j + 3] *= a1;
      }
      issue_pv(o, buf, 1);
      wgmma_wait<0>();
      wgmma_fence_regs(o);
      __syncwarp();
      if (lane == 0) mbar_arrive(bars + 8 * (kStages + st));
      if (dbg && it == 0) {
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          const int col = 256 + 8 * j + 2 * t4;
          p.debug[8192 + r0 * 512 + col] = o[4 * j];
          p.debug[8192 + r0 * 512 + col + 1] = o[4 * j + 1];
          p.debug[8192 + r1 * 512 + col] = o[4 * j + 2];
          p.debug[8192 + r1 * 512 + col + 1] = o[4 * j + 3];
        }
      }
      if (it + kStages < n_tiles) {  // refill this stage once WG0 is done with it too
        mbar_wait(bars + 8 * (kStages + st), (it / kStages) & 1);
        load_tile(it + kStages);
      }
    }
    named_sync(kBarFinal, 256);
    mf0 = red_m[r0];
    mf1 = red_m[r1];
    lt0 = red_l[r0];
    lt1 = red_l[r1];
  }
  if (split_mode && wg == 0 && t4 == 0) {
    const std::size_t lb = (static_cast<std::size_t>(b) * p.num_splits + split) * p.heads + head0;
    p.lse_part[lb + r0] = lt0 > 0.0f ? mf0 + log2f(lt0) : -INFINITY;
    p.lse_part[lb + r1] = lt1 > 0.0f ? mf1 + log2f(lt1) : -INFINITY;
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

}  // namespace

void launch_wgmma_ws_split(const SplitParams& p, int batch, cudaStream_t s) {
  static bool attr_set = false;  // per process; the calibrator uses one device
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(mla_decode_ws_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(kSmemBytes)));
    attr_set = true;
  }
  const dim3 grid(p.heads / kHeadsPerCta, p.num_splits, batch);
  mla_decode_ws_kernel<<<grid, kThreads, kSmemBytes, s>>>(p);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda::mla_detail
