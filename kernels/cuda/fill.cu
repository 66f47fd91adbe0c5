// Pseudo-random device fills: a counter-based hash, so any element is reproducible from
// (seed, index) without state, and large buffers fill at memory speed.
#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

__device__ __forceinline__ float hash_uniform(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 0x632BE59BD9B4E019ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // 24 bits -> [0, 1)
}

__global__ void fill_bf16_kernel(bf16* dst, std::size_t n, std::uint64_t seed, float lo, float span) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16_rn(lo + span * hash_uniform(seed, i));
}
__global__ void fill_f32_kernel(float* dst, std::size_t n, std::uint64_t seed, float lo, float span) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dst[i] = lo + span * hash_uniform(seed, i);
}
__global__ void poison_u16_kernel(std::uint16_t* dst, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dst[i] = 0x7fffu;  // bf16 quiet NaN
}
__global__ void poison_u32_kernel(std::uint32_t* dst, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dst[i] = 0x7fc00000u;  // float quiet NaN
}

unsigned grid_for(std::size_t n) {
  const std::size_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 8192 ? (blocks == 0 ? 1 : blocks) : 8192);
}

}  // namespace

void fill_uniform_bf16(bf16* dst, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s) {
  fill_bf16_kernel<<<grid_for(n), 256, 0, s>>>(dst, n, seed, lo, hi - lo);
  GWSIM_LAUNCH_CHECK();
}
void fill_uniform_f32(float* dst, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s) {
  fill_f32_kernel<<<grid_for(n), 256, 0, s>>>(dst, n, seed, lo, hi - lo);
  GWSIM_LAUNCH_CHECK();
}
void poison_bf16(bf16* dst, std::size_t n, cudaStream_t s) {
  poison_u16_kernel<<<grid_for(n), 256, 0, s>>>(reinterpret_cast<std::uint16_t*>(dst), n);
  GWSIM_LAUNCH_CHECK();
}
void poison_f32(float* dst, std::size_t n, cudaStream_t s) {
  poison_u32_kernel<<<grid_for(n), 256, 0, s>>>(reinterpret_cast<std::uint32_t*>(dst), n);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
