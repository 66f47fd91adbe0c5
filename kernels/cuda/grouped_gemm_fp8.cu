// FP8 (E4M3) grouped GEMM over experts with DeepSeek-V3's fine-grained scaling: activations
// scaled per 1 x 128 tile, weights per 128 x 128 block, FP32 accumulation with the scales applied
// once per 128-wide K block (V3 report, Sec. 3.3.2: the tensor cores' FP8 accumulation keeps
// ~14 bits, so every K block's partial sum is promoted to an FP32 accumulator in registers).
//
// Grouped layout: the experts' token rows are concatenated in expert order (counts on the host,
// as GroupedGemmPlan takes them); the plan cuts every expert's rows into 128-row tiles (the last
// one short) and the grid is (N / 128, tiles), so an expert with no rows costs nothing and no
// tile mixes two experts. This file: the plan and the mma.sync kernel (sm_89+): 8 warps as 2 (M)
// x 4 (N), each 64 x 32 of the 128 x 128 tile; per K block 4 k-steps of m16n8k32 e4m3 into a
// fresh partial, then acc += partial * x_scale(row) * w_scale. Operand tiles are [128][128 B]
// rows padded to 144 B (conflict-free ldmatrix), 3 stages deep through cp.async; rows past the
// expert's end are zero-filled and never stored.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "cuda_check.h"
#include "grouped_gemm_fp8_internal.h"
#include "mma.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

using fp8_detail::cp_async16_zfill;
using fp8_detail::cp_async4_zfill;
using fp8_detail::GroupedParams;
using fp8_detail::kBlockK;
using fp8_detail::kTileM;
using fp8_detail::kTileN;

constexpr int kThreads = 256;
constexpr int kStages = 3;
constexpr int kRowBytes = kBlockK + 16;  // 144: 9 x 16 B, so 8 consecutive rows hit 8 distinct 16-B bank groups
constexpr int kOperandBytes = kTileM * kRowBytes;
constexpr int kStageBytes = 2 * kOperandBytes + kTileM * 4;  // A, B, the A rows' scales
constexpr std::size_t kSmemBytes = std::size_t(kStages) * kStageBytes;
static_assert(kTileM == kTileN, "A and B tiles share the loader");
static_assert(kSmemBytes <= 227 * 1024, "FP8 grouped GEMM shared memory over the sm_90 limit");

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

// D (16x8, fp32) += A (16x32, e4m3, row) * B (32x8, e4m3, col). Fragments (PTX ISA, m16n8k32 with
// 8-bit types), g = lane / 4, t = lane % 4, each register four consecutive K bytes:
//   a0 = A[g][4t..4t+3], a1 = A[g+8][4t..], a2 = A[g][16+4t..], a3 = A[g+8][16+4t..]
//   b0 = B[4t..4t+3][g], b1 = B[16+4t..][g];  C as for m16n8k16.
__device__ __forceinline__ void mma_e4m3_16832(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__global__ void __launch_bounds__(kThreads, 1) fp8_grouped_mma_kernel(const GroupedParams p) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int4 tile = p.tiles[blockIdx.y];
  const int expert = tile.x, row0 = tile.y, rows = tile.z;
  const int nblk = blockIdx.x, n0 = nblk * kTileN;
  const int kblocks = p.k / kBlockK;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int wm = warp / 4, wn = warp % 4;  // warp tile: rows [64 wm, +64), cols [32 wn, +32)

  const std::uint8_t* a_src = p.xq + static_cast<std::size_t>(row0) * p.k;
  const std::uint8_t* b_src = p.wq + (static_cast<std::size_t>(expert) * p.n + n0) * p.k;
  const float* ws_row = p.ws + (static_cast<std::size_t>(expert) * (p.n / kTileN) + nblk) * kblocks;

  auto load_stage = [&](int stage, int kb) {
    unsigned char* a_s = smem + stage * kStageBytes;
    unsigned char* b_s = a_s + kOperandBytes;
    float* xs_s = reinterpret_cast<float*>(b_s + kOperandBytes);
#pragma unroll
    for (int i = 0; i < kTileM * (kBlockK / 16) / kThreads; ++i) {
      const int c = tid + i * kThreads;
      const int r = c / (kBlockK / 16), ch = c % (kBlockK / 16);
      const int rr = min(r, rows - 1);  // a valid address even when nothing is read
      cp_async16_zfill(a_s + r * kRowBytes + ch * 16,
                       a_src + static_cast<std::size_t>(rr) * p.k + kb * kBlockK + ch * 16, r < rows ? 16 : 0);
      cp_async16_zfill(b_s + r * kRowBytes + ch * 16,
                       b_src + static_cast<std::size_t>(r) * p.k + kb * kBlockK + ch * 16, 16);
    }
    if (tid < kTileM)
      cp_async4_zfill(xs_s + tid, p.xs + static_cast<std::size_t>(row0 + min(tid, rows - 1)) * kblocks + kb,
                      tid < rows ? 4 : 0);
  };

  float acc[4][4][4];
#pragma unroll
  for (int mi = 0; mi < 4; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[mi][ni][c] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kblocks) load_stage(s, s);
    cp_async_commit();  // possibly empty: keeps the group count uniform
  }

  for (int kb = 0; kb < kblocks; ++kb) {
    cp_async_wait<kStages - 2>();  // this K block's group has landed (for this thread)
    __syncthreads();               // ... for every thread; and the stage refilled below is free
    if (kb + kStages - 1 < kblocks) load_stage((kb + kStages - 1) % kStages, kb + kStages - 1);
    cp_async_commit();

    const int stage = kb % kStages;
    const unsigned char* a_s = smem + stage * kStageBytes;
    const unsigned char* b_s = a_s + kOperandBytes;
    const float* xs_s = reinterpret_cast<const float*>(b_s + kOperandBytes);

    float part[4][4][4];
#pragma unroll
    for (int mi = 0; mi < 4; ++mi)
#pragma unroll
      for (int ni = 0; ni < 4; ++ni)
#pragma unroll
        for (int c = 0; c < 4; ++c) part[mi][ni][c] = 0.0f;

#pragma unroll
    for (int ks = 0; ks < kBlockK / 32; ++ks) {
      uint32_t a[4][4];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
        // Matrix j = lane / 8: (j & 1) picks rows +8, (j >> 1) picks K bytes +16.
        const int r = 64 * wm + 16 * mi + (lane & 7) + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(a[mi], a_s + r * kRowBytes + ks * 32 + (lane >> 4) * 16);
      }
#pragma unroll
      for (int nj = 0; nj < 2; ++nj) {
        // Matrix j = lane / 8: (j & 1) picks K bytes +16, (j >> 1) picks N rows +8, so
        // r[0], r[1] are n8 tile 2 nj's b0, b1 and r[2], r[3] tile 2 nj + 1's.
        const int r = 32 * wn + 16 * nj + (lane & 7) + (lane >> 4) * 8;
        uint32_t b[4];
        ldmatrix_x4(b, b_s + r * kRowBytes + ks * 32 + ((lane >> 3) & 1) * 16);
#pragma unroll
        for (int mi = 0; mi < 4; ++mi) {
          mma_e4m3_16832(part[mi][2 * nj], a[mi], b[0], b[1]);
          mma_e4m3_16832(part[mi][2 * nj + 1], a[mi], b[2], b[3]);
        }
      }
    }
    // Promote: acc += partial * x_scale(row, kb) * w_scale(n block, kb).
    const float sw = __ldg(ws_row + kb);
#pragma unroll
    for (int mi = 0; mi < 4; ++mi) {
      const float s0 = xs_s[64 * wm + 16 * mi + g] * sw, s1 = xs_s[64 * wm + 16 * mi + g + 8] * sw;
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        acc[mi][ni][0] = fmaf(part[mi][ni][0], s0, acc[mi][ni][0]);
        acc[mi][ni][1] = fmaf(part[mi][ni][1], s0, acc[mi][ni][1]);
        acc[mi][ni][2] = fmaf(part[mi][ni][2], s1, acc[mi][ni][2]);
        acc[mi][ni][3] = fmaf(part[mi][ni][3], s1, acc[mi][ni][3]);
      }
    }
  }
  cp_async_wait<0>();  // no copy may still target shared memory when the CTA exits

#pragma unroll
  for (int mi = 0; mi < 4; ++mi)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = 64 * wm + 16 * mi + g + 8 * half;
      if (r >= rows) continue;
      bf16* yr = p.y + static_cast<std::size_t>(row0 + r) * p.n + n0;
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        const int col = 32 * wn + 8 * ni + 2 * t4;
        *reinterpret_cast<__nv_bfloat162*>(yr + col) =
            __floats2bfloat162_rn(acc[mi][ni][2 * half], acc[mi][ni][2 * half + 1]);
      }
    }
}

}  // namespace

const char* fp8_grouped_variant_name(Fp8GroupedKernel k) {
  switch (k) {
    case Fp8GroupedKernel::kMmaSync:
      return "fp8_blockscaled_mma";
    case Fp8GroupedKernel::kWgmma:
      return "fp8_blockscaled_wgmma";
  }
  return "unknown";
}

Fp8GroupedGemmPlan::Fp8GroupedGemmPlan(const std::vector<int>& counts, int n, int k) : n_(n), k_(k) {
  if (n <= 0 || k <= 0 || n % kTileN != 0 || k % kBlockK != 0)
    throw std::invalid_argument("Fp8GroupedGemmPlan: N and K must be positive multiples of 128");
  std::vector<int4> tiles;
  int row = 0;
  for (std::size_t e = 0; e < counts.size(); ++e) {
    if (counts[e] < 0) throw std::invalid_argument("Fp8GroupedGemmPlan: negative expert count");
    for (int r = 0; r < counts[e]; r += kTileM)
      tiles.push_back(make_int4(static_cast<int>(e), row + r, std::min(kTileM, counts[e] - r), 0));
    row += counts[e];
  }
  rows_ = row;
  m_tiles_ = static_cast<int>(tiles.size());
  if (m_tiles_ > 65535) throw std::invalid_argument("Fp8GroupedGemmPlan: more than 65535 row tiles");
  if (m_tiles_ == 0) return;
  GWSIM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&tiles_), tiles.size() * sizeof(int4)));
  GWSIM_CUDA_CHECK(cudaMemcpy(tiles_, tiles.data(), tiles.size() * sizeof(int4), cudaMemcpyHostToDevice));
}

Fp8GroupedGemmPlan::~Fp8GroupedGemmPlan() {
  if (tiles_) (void)cudaFree(tiles_);
}

void Fp8GroupedGemmPlan::run(const std::uint8_t* xq, const float* x_scales, const std::uint8_t* wq,
                             const float* w_scales, bf16* y, cudaStream_t s, Fp8GroupedKernel kernel) const {
  if (m_tiles_ == 0) return;
  const GroupedParams p{xq, x_scales, wq, w_scales, y, tiles_, n_, k_};
  if (kernel == Fp8GroupedKernel::kWgmma) {
    fp8_detail::launch_grouped_wgmma(p, m_tiles_, s);
    return;
  }
  static bool attr_set = false;  // per process; the calibrator uses one device
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(fp8_grouped_mma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(kSmemBytes)));
    attr_set = true;
  }
  const dim3 grid(n_ / kTileN, m_tiles_);
  fp8_grouped_mma_kernel<<<grid, kThreads, kSmemBytes, s>>>(p);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
