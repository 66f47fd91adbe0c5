// DeepSeek-V3 fine-grained FP8 (E4M3) quantisation on the GPU: per row per block of columns
// (activations 1 x 128, MLA KV cache 1 x 64) and per 128 x 128 block (expert weights).
// scale = amax / 448 (1 for an all-zero block), q = e4m3(x / scale) with IEEE float division
// and cvt.rn.satfinite: the same two float operations as the CPU reference, so the results
// are bit-exact with kernels::ref::quantize_e4m3_row_blocks / _tile_blocks.
#include <cuda_fp8.h>

#include <stdexcept>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }

__device__ __forceinline__ float block_scale(float amax) { return amax > 0.0f ? __fdiv_rn(amax, 448.0f) : 1.0f; }

__device__ __forceinline__ std::uint8_t quant(float x, float scale) {
  return static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3));
}

// One warp per (row, block); lane l holds the kPer contiguous columns [l * kPer, l * kPer + kPer)
// of the block (block = 32 * kPer).
template <int kPer, class T>
__global__ void __launch_bounds__(256) quant_rows_kernel(const T* __restrict__ x, int rows, int cols,
                                                         std::uint8_t* __restrict__ q, float* __restrict__ scales) {
  constexpr int kBlock = 32 * kPer;
  const int nb = (cols + kBlock - 1) / kBlock;
  const long long items = static_cast<long long>(rows) * nb;
  const int lane = threadIdx.x % 32;
  for (long long it = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; it < items;
       it += static_cast<long long>(gridDim.x) * blockDim.x / 32) {
    const int r = static_cast<int>(it / nb), b = static_cast<int>(it % nb);
    const int c0 = b * kBlock + lane * kPer;
    const T* xr = x + static_cast<std::size_t>(r) * cols;
    float v[kPer];
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      v[i] = c0 + i < cols ? to_f32(xr[c0 + i]) : 0.0f;
      amax = fmaxf(amax, fabsf(v[i]));
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    const float s = block_scale(amax);
    if (lane == 0) scales[it] = s;
    std::uint8_t* qr = q + static_cast<std::size_t>(r) * cols;
#pragma unroll
    for (int i = 0; i < kPer; ++i)
      if (c0 + i < cols) qr[c0 + i] = quant(v[i], s);
  }
}

// One CTA of 256 threads per 128 x 128 block: grid (col blocks, row blocks, matrices).
template <class T>
__global__ void __launch_bounds__(256) quant_tiles_kernel(const T* __restrict__ x, int rows, int cols,
                                                          std::uint8_t* __restrict__ q, float* __restrict__ scales) {
  __shared__ float red[8];
  const int bc = blockIdx.x, br = blockIdx.y, m = blockIdx.z;
  const std::size_t base = static_cast<std::size_t>(m) * rows * cols;
  const int r0 = br * 128, c0 = bc * 128;
  float amax = 0.0f;
  for (int i = threadIdx.x; i < 128 * 128; i += 256) {
    const int r = r0 + i / 128, c = c0 + i % 128;
    if (r < rows && c < cols) amax = fmaxf(amax, fabsf(to_f32(x[base + static_cast<std::size_t>(r) * cols + c])));
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = amax;
  __syncthreads();
  amax = red[0];
#pragma unroll
  for (int w = 1; w < 8; ++w) amax = fmaxf(amax, red[w]);
  const float s = block_scale(amax);
  if (threadIdx.x == 0) scales[(static_cast<std::size_t>(m) * gridDim.y + br) * gridDim.x + bc] = s;
  for (int i = threadIdx.x; i < 128 * 128; i += 256) {
    const int r = r0 + i / 128, c = c0 + i % 128;
    if (r < rows && c < cols) {
      const std::size_t idx = base + static_cast<std::size_t>(r) * cols + c;
      q[idx] = quant(to_f32(x[idx]), s);
    }
  }
}

template <class T>
void quant_rows(const T* x, int rows, int cols, int block, std::uint8_t* q, float* scales, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  const long long items = static_cast<long long>(rows) * ((cols + block - 1) / block);
  const int grid = static_cast<int>(std::min<long long>((items + 7) / 8, 65536));
  switch (block) {
    case 32:
      quant_rows_kernel<1, T><<<grid, 256, 0, s>>>(x, rows, cols, q, scales);
      break;
    case 64:
      quant_rows_kernel<2, T><<<grid, 256, 0, s>>>(x, rows, cols, q, scales);
      break;
    case 128:
      quant_rows_kernel<4, T><<<grid, 256, 0, s>>>(x, rows, cols, q, scales);
      break;
    default:
      throw std::invalid_argument("quantize_fp8_row_blocks: block must be 32, 64 or 128");
  }
  GWSIM_LAUNCH_CHECK();
}

template <class T>
void quant_tiles(const T* x, int matrices, int rows, int cols, std::uint8_t* q, float* scales, cudaStream_t s) {
  if (matrices <= 0 || rows <= 0 || cols <= 0) return;
  if (matrices > 65535 || (rows + 127) / 128 > 65535)
    throw std::invalid_argument("quantize_fp8_128x128: too many blocks");
  const dim3 grid((cols + 127) / 128, (rows + 127) / 128, matrices);
  quant_tiles_kernel<T><<<grid, 256, 0, s>>>(x, rows, cols, q, scales);
  GWSIM_LAUNCH_CHECK();
}

}  // namespace

void quantize_fp8_row_blocks(const bf16* x, int rows, int cols, int block, std::uint8_t* q, float* scales,
                             cudaStream_t s) {
  quant_rows(x, rows, cols, block, q, scales, s);
}
void quantize_fp8_row_blocks(const float* x, int rows, int cols, int block, std::uint8_t* q, float* scales,
                             cudaStream_t s) {
  quant_rows(x, rows, cols, block, q, scales, s);
}
void quantize_fp8_128x128(const bf16* x, int matrices, int rows, int cols, std::uint8_t* q, float* scales,
                          cudaStream_t s) {
  quant_tiles(x, matrices, rows, cols, q, scales, s);
}
void quantize_fp8_128x128(const float* x, int matrices, int rows, int cols, std::uint8_t* q, float* scales,
                          cudaStream_t s) {
  quant_tiles(x, matrices, rows, cols, q, scales, s);
}

}  // namespace gwsim::cuda
