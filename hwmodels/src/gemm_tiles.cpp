#include "gwsim/hwmodels/gemm_tiles.h"

#include <algorithm>
#include <cmath>

namespace gwsim {

double gemm_tiled_time_s(const GemmShape& shape, const GemmTileModel& model, double peak_flops, double sms,
                         double bytes, double memory_bps) {
  const double tiles = shape.batch * std::ceil(shape.m / kGemmTileRows) * std::ceil(shape.n / kGemmTileCols);
  const double sm_rate = peak_flops / sms * model.tile_efficiency;  // one block's FLOP/s
  const double memory_s = bytes / memory_bps;
  double best = INFINITY;
  for (int split = 1; split <= std::max(1, model.max_split_k); split *= 2) {
    const double k_part = shape.k / split;
    // A split shorter than one 128-deep K block is never chosen by a library: nothing left to pipeline.
    if (split > 1 && k_part < kGemmTileCols) break;
    const double waves = std::ceil(tiles * split / sms);
    const double compute_s = waves * (2 * kGemmTileRows * kGemmTileCols * k_part / sm_rate + model.tile_overhead_s);
    // Split-K writes `split` FP32 partial outputs and reads them back to add them: 8 bytes per
    // element and split, after the main kernel.
    const double reduce_s = split > 1 ? 8.0 * split * shape.m * shape.n * shape.batch / memory_bps : 0;
    best = std::min(best, std::max(compute_s, memory_s) + reduce_s);
  }
  return best + model.launch_overhead_s;
}

}  // namespace gwsim
