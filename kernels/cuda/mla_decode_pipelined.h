// The warp-specialised MLA decode split kernel (mla_decode_pipelined.cu, sm_90a): grid
// (heads / 64, splits, batch), 256 threads (two warpgroups: S/softmax/left P.V, and right
// P.V plus the cp.async producer). Same SplitParams, split partials and debug dump as launch_wgmma_split.
#pragma once

#include "mla_decode_internal.h"

namespace gwsim::cuda::mla_detail {

void launch_wgmma_ws_split(const SplitParams& p, int batch, cudaStream_t s);

}  // namespace gwsim::cuda::mla_detail
