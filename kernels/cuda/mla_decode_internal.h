// Shared between the MLA decode split kernels (mla_decode.cu: mma.sync; mla_decode_wgmma.cu:
// wgmma, built for sm_90a) and the host launcher in mla_decode.cu.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "ops.h"

namespace gwsim::cuda::mla_detail {

struct SplitParams {
  const bf16* q;
  const bf16* cache;
  const std::uint8_t* cache_fp8;  // FP8-KV variant (mma.sync kernel only): [pages][64][576] e4m3
  const float* cache_scales;      // [pages][64][9]: per token per 64 channels
  const int* block_table;
  const int* seq_lens;
  bf16* out;        // written directly when num_splits == 1
  float* o_part;    // [B][splits][H][512], normalised per split
  float* lse_part;  // [B][splits][H], log2 domain; -inf for an empty split
  int heads, max_pages, num_splits, split_tokens;
  float scale_log2;  // softmax scale * log2(e)
  float* debug;      // wgmma kernel only: CTA (0,0,0) dumps tile 0's S, P and O (see ops.h)
};

// The wgmma split kernel: grid (heads / 64, splits, batch), 256 threads. pv_n is the N of the
// P.V instruction: 256 (one m64n256k16 per k-step) or 64 (four m64n64k16); pipelined (N 256
// only) issues S of the next tile behind P.V of this one.
void launch_wgmma_split(const SplitParams& p, int batch, int pv_n, bool pipelined, cudaStream_t s);

}  // namespace gwsim::cuda::mla_detail
