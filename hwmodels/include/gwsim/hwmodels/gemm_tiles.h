#pragma once
// A dense GEMM's time from its shape, as GEMM libraries (cuBLAS, CUTLASS, DeepGEMM) run it: the
// output C (M x N) is cut into 128 x 128 tiles, one thread block each; the blocks run in waves over
// the GPU's SMs; each block walks K in a pipelined main loop and then writes its tile. When the
// tiles alone leave SMs idle (skinny M, or few tiles), the library splits K over several blocks and
// adds the partial tiles afterwards (split-K). Three effects a FLOPs-only efficiency curve cannot
// see follow from this:
//   - wave quantisation: 133 tiles on 132 SMs take two waves;
//   - tile quantisation: M = 64 still occupies 128-row tiles;
//   - short K: a block's fixed cost (pipeline fill, epilogue) is paid per tile, so K = 512 runs far
//     below K = 7168 at the same FLOPs.
// The model's constants are per GPU and precision (a profile's gemm entry, "tile_model"): fitted
// on measured GEMM sweeps (gwsim calibrate --fit), or a published best-case GEMM figure with the
// fixed costs of a measured sibling.
#include <string>

#include "gwsim/hwmodels/op_shape.h"

namespace gwsim {

struct GemmTileModel {
  // Fraction of one SM's share of peak FLOP/s that a block's main loop reaches.
  double tile_efficiency = 0;
  // Per tile, in seconds: pipeline fill and the epilogue (the tile's store), not hidden by the main loop.
  double tile_overhead_s = 0;
  // Per GEMM call: launch and tail.
  double launch_overhead_s = 0;
  int max_split_k = 8;           // split-K factors tried: 1, 2, 4 ... up to this
  double fit_rms_rel_error = 0;  // from the fit, 0 for published constants
  std::string source;
};

inline constexpr double kGemmTileRows = 128, kGemmTileCols = 128;

// Seconds for one GEMM of `shape`: the fastest split-K choice of
//   max(waves x (tile main loop + tile_overhead_s), bytes / memory_bps) + split-K reduction
// plus launch_overhead_s. `bytes` is the op's minimum HBM traffic, `memory_bps` the HBM bandwidth
// this GPU reaches for it, `peak_flops` the GPU's dense peak at the GEMM's precision, `sms` its SM
// (compute unit) count.
double gemm_tiled_time_s(const GemmShape& shape, const GemmTileModel& model, double peak_flops, double sms,
                         double bytes, double memory_bps);

}  // namespace gwsim
