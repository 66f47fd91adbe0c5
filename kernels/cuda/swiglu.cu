// SwiGLU between the fused gate/up GEMM and the down GEMM: memory-bound elementwise,
// 16-byte vectors.
#include <stdexcept>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

__global__ void __launch_bounds__(256)
    swiglu_kernel(long rows, int inter_vec, const uint4* __restrict__ gu, uint4* __restrict__ out) {
  const long total = rows * inter_vec;
  for (long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    const long r = i / inter_vec;
    const int c = static_cast<int>(i % inter_vec);
    const uint4 g = gu[r * 2 * inter_vec + c];
    const uint4 u = gu[r * 2 * inter_vec + inter_vec + c];
    const __nv_bfloat162* gh = reinterpret_cast<const __nv_bfloat162*>(&g);
    const __nv_bfloat162* uh = reinterpret_cast<const __nv_bfloat162*>(&u);
    uint4 o;
    __nv_bfloat162* oh = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const float2 gf = __bfloat1622float2(gh[q]);
      const float2 uf = __bfloat1622float2(uh[q]);
      oh[q] = __floats2bfloat162_rn(gf.x / (1.0f + __expf(-gf.x)) * uf.x, gf.y / (1.0f + __expf(-gf.y)) * uf.y);
    }
    out[i] = o;
  }
}

}  // namespace

void swiglu(int rows, int inter, const bf16* gate_up, bf16* out, cudaStream_t s) {
  if (inter % 8 != 0) throw std::invalid_argument("swiglu: inter % 8 != 0");
  if (rows <= 0) return;
  const long total = static_cast<long>(rows) * (inter / 8);
  long blocks = (total + 255) / 256;
  if (blocks > 16384) blocks = 16384;
  swiglu_kernel<<<static_cast<unsigned>(blocks), 256, 0, s>>>(rows, inter / 8, reinterpret_cast<const uint4*>(gate_up),
                                                              reinterpret_cast<uint4*>(out));
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
