// Shared between the FP8 block-scaled grouped GEMM kernels (grouped_gemm_fp8.cu: mma.sync and the
// host plan; grouped_gemm_fp8_wgmma.cu: wgmma, built for sm_90a only).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "ops.h"

namespace gwsim::cuda::fp8_detail {

constexpr int kTileM = 128, kTileN = 128, kBlockK = 128;  // the K block is the scale block

struct GroupedParams {
  const std::uint8_t* xq;  // [rows][k] e4m3
  const float* xs;         // [rows][k / 128]
  const std::uint8_t* wq;  // [experts][n][k] e4m3
  const float* ws;         // [experts][n / 128][k / 128]
  bf16* y;                 // [rows][n]
  const int4* tiles;       // per 128-row tile: {expert, first row, rows, 0}
  int n, k;
};

// grid (n / 128, m_tiles), 256 threads (two warpgroups of 64 rows x 128 columns).
void launch_grouped_wgmma(const GroupedParams& p, int m_tiles, cudaStream_t s);

// 16-byte / 4-byte global->shared copies that zero-fill when src_bytes is 0 (no global read).
__device__ __forceinline__ void cp_async16_zfill(void* smem_dst, const void* gmem_src, int src_bytes) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(addr), "l"(gmem_src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async4_zfill(void* smem_dst, const void* gmem_src, int src_bytes) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(addr), "l"(gmem_src), "r"(src_bytes) : "memory");
}

}  // namespace gwsim::cuda::fp8_detail
