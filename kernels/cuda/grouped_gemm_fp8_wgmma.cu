// FP8 block-scaled grouped GEMM on Hopper warpgroup MMA (wgmma m64n128k32 e4m3), built for sm_90a
// only. Same grid, tiles and scaling as the mma.sync kernel (grouped_gemm_fp8.cu); the CTA is
// two warpgroups, warpgroup w computing output rows [64 w, 64 w + 64) x all 128 columns.
//
// Shared memory: per stage an A tile [128 rows][128 B] and a B tile [128 rows][128 B] in the
// 128-byte-swizzled layout of wgmma.h (row r at r * 128, 16-byte chunk j at j ^ (r % 8); one
// K block of e4m3 is exactly one 128-byte atom row), plus the A rows' scales; 4 stages through
// cp.async (all 256 threads copy), completed with wait_group + fence.proxy.async + a CTA barrier.
// Per K block: 4 wgmmas (k32 each, +32 B on both descriptors' start addresses, SBO 1024, the same
// descriptors the MLA decode S = Q K^T uses on bf16 k16 steps) into a fresh FP32 partial
// (the first write-only, scale-d 0), the next stage's copies issued behind them, wait, then
// acc += partial * x_scale(row) * w_scale. Correctness first: the promotion is not overlapped
// with the next block's wgmmas (that needs two partials, 64 more registers).
#include <cmath>

#include "cuda_check.h"
#include "grouped_gemm_fp8_internal.h"
#include "mma.h"
#include "wgmma.h"

namespace gwsim::cuda::fp8_detail {
namespace {

constexpr int kThreads = 256;
constexpr int kStages = 4;
constexpr int kOperandBytes = kTileM * kBlockK;  // 16384, a multiple of 1024
constexpr int kStageBytes = 2 * kOperandBytes;   // A then B
constexpr std::size_t kSmemBytes =
    1024 /* alignment slack */ + std::size_t(kStages) * kStageBytes + kStages * kTileM * 4;
static_assert(kSmemBytes <= 227 * 1024, "FP8 wgmma grouped GEMM shared memory over the sm_90 limit");
static_assert(kBlockK == 128, "one K block must be one 128-byte swizzle atom row");

__device__ __forceinline__ uint32_t swz(int row, int chunk) {  // byte offset inside a [rows][128 B] tile
  return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
}

__global__ void __launch_bounds__(kThreads, 1) fp8_grouped_wgmma_kernel(const GroupedParams p) {
  extern __shared__ unsigned char smem_raw[];
  unsigned char* base =
      reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  float* xs_all = reinterpret_cast<float*>(base + kStages * kStageBytes);  // [stages][128]
  const uint32_t base_addr = static_cast<uint32_t>(__cvta_generic_to_shared(base));

  const int4 tile = p.tiles[blockIdx.y];
  const int expert = tile.x, row0 = tile.y, rows = tile.z;
  const int nblk = blockIdx.x, n0 = nblk * kTileN;
  const int kblocks = p.k / kBlockK;
  const int tid = threadIdx.x, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  // The warpgroup index through a shuffle, so ptxas can prove it warp-uniform (else it
  // serialises the wgmmas; see docs/calibration.md, kernels v3).
  const int wg = __shfl_sync(0xffffffffu, tid / 128, 0);
  const int wi = (tid % 128) / 32;

  const std::uint8_t* a_src = p.xq + static_cast<std::size_t>(row0) * p.k;
  const std::uint8_t* b_src = p.wq + (static_cast<std::size_t>(expert) * p.n + n0) * p.k;
  const float* ws_row = p.ws + (static_cast<std::size_t>(expert) * (p.n / kTileN) + nblk) * kblocks;

  auto load_stage = [&](int stage, int kb) {
    unsigned char* a_s = base + stage * kStageBytes;
    unsigned char* b_s = a_s + kOperandBytes;
#pragma unroll
    for (int i = 0; i < kTileM * (kBlockK / 16) / kThreads; ++i) {
      const int c = tid + i * kThreads;
      const int r = c / (kBlockK / 16), ch = c % (kBlockK / 16);
      const int rr = min(r, rows - 1);
      cp_async16_zfill(a_s + swz(r, ch), a_src + static_cast<std::size_t>(rr) * p.k + kb * kBlockK + ch * 16,
                       r < rows ? 16 : 0);
      cp_async16_zfill(b_s + swz(r, ch), b_src + static_cast<std::size_t>(r) * p.k + kb * kBlockK + ch * 16, 16);
    }
    if (tid < kTileM)
      cp_async4_zfill(xs_all + stage * kTileM + tid,
                      p.xs + static_cast<std::size_t>(row0 + min(tid, rows - 1)) * kblocks + kb, tid < rows ? 4 : 0);
  };

  float acc[64], part[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = 0.0f;
  const int r0 = 64 * wg + 16 * wi + g, r1 = r0 + 8;  // this thread's two output rows

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kblocks) load_stage(s, s);
    cp_async_commit();
  }

  for (int kb = 0; kb < kblocks; ++kb) {
    const int stage = kb % kStages;
    cp_async_wait<kStages - 2>();
    fence_proxy_async_smem();  // this thread's cp.async writes -> visible to the wgmma (async proxy)
    __syncthreads();           // every thread's copies; and the stage refilled below was consumed
    const uint32_t a_addr = base_addr + stage * kStageBytes + wg * 64 * 128;
    const uint32_t b_addr = base_addr + stage * kStageBytes + kOperandBytes;
    wgmma_fence();
    wgmma_m64n128k32_e4m3_ss_first(part, wgmma_desc_sw128(a_addr, 16, 1024), wgmma_desc_sw128(b_addr, 16, 1024));
#pragma unroll
    for (int ks = 1; ks < kBlockK / 32; ++ks)
      wgmma_m64n128k32_e4m3_ss(part, wgmma_desc_sw128(a_addr + ks * 32, 16, 1024),
                               wgmma_desc_sw128(b_addr + ks * 32, 16, 1024), 1);
    wgmma_commit();
    wgmma_fence_regs(part);
    if (kb + kStages - 1 < kblocks) load_stage((kb + kStages - 1) % kStages, kb + kStages - 1);
    cp_async_commit();
    wgmma_wait<0>();
    wgmma_fence_regs(part);
    const float sw = __ldg(ws_row + kb);
    const float s0 = xs_all[stage * kTileM + r0] * sw, s1 = xs_all[stage * kTileM + r1] * sw;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      acc[4 * j] = fmaf(part[4 * j], s0, acc[4 * j]);
      acc[4 * j + 1] = fmaf(part[4 * j + 1], s0, acc[4 * j + 1]);
      acc[4 * j + 2] = fmaf(part[4 * j + 2], s1, acc[4 * j + 2]);
      acc[4 * j + 3] = fmaf(part[4 * j + 3], s1, acc[4 * j + 3]);
    }
  }
  cp_async_wait<0>();

  // Accumulator layout of m64nNk*: d[4j + e] is row r0, column 8j + 2 t4 + e; d[4j + 2 + e] row r1.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = half ? r1 : r0;
    if (r >= rows) continue;
    bf16* yr = p.y + static_cast<std::size_t>(row0 + r) * p.n + n0;
#pragma unroll
    for (int j = 0; j < 16; ++j)
      *reinterpret_cast<__nv_bfloat162*>(yr + 8 * j + 2 * t4) =
          __floats2bfloat162_rn(acc[4 * j + 2 * half], acc[4 * j + 2 * half + 1]);
  }
}

}  // namespace

void launch_grouped_wgmma(const GroupedParams& p, int m_tiles, cudaStream_t s) {
  static bool attr_set = false;  // per process; the calibrator uses one device
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(fp8_grouped_wgmma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(kSmemBytes)));
    attr_set = true;
  }
  const dim3 grid(p.n / kTileN, m_tiles);
  fp8_grouped_wgmma_kernel<<<grid, kThreads, kSmemBytes, s>>>(p);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda::fp8_detail
