// Device-to-device copy: the memory-bandwidth ceiling every memory-bound kernel is judged by.
// 16-byte vectors, four loads in flight per thread before the first store, grid-stride.
#include <stdexcept>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kUnroll = 4;

__global__ void __launch_bounds__(256)
    copy_vec16_kernel(uint4* __restrict__ dst, const uint4* __restrict__ src, std::size_t n_vec) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  for (; i + (kUnroll - 1) * stride < n_vec; i += kUnroll * stride) {
    uint4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = __ldcs(src + i + u * stride);  // streaming: read once
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) __stcs(dst + i + u * stride, v[u]);
  }
  for (; i < n_vec; i += stride) dst[i] = src[i];
}

}  // namespace

void copy_kernel(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes % 16 != 0) throw std::invalid_argument("copy_kernel: bytes must be a multiple of 16");
  int device = 0, sms = 0;
  GWSIM_CUDA_CHECK(cudaGetDevice(&device));
  GWSIM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const std::size_t n_vec = bytes / 16;
  std::size_t blocks = (n_vec + 255) / 256;
  const std::size_t max_blocks = static_cast<std::size_t>(sms) * 8;  // a few waves, then stride
  if (blocks > max_blocks) blocks = max_blocks;
  if (blocks == 0) blocks = 1;
  copy_vec16_kernel<<<static_cast<unsigned>(blocks), 256, 0, s>>>(static_cast<uint4*>(dst),
                                                                  static_cast<const uint4*>(src), n_vec);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
