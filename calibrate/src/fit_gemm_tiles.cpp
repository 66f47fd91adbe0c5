// The tile model of dense GEMMs (hwmodels/gemm_tiles.h) fitted to measured GEMMs of known shape.
//
// gemm_tiled_time_s is a step function of its shape (waves, tiles and the split-K choice jump), so
// it has no useful gradient: a coordinate search on the three constants (tile efficiency, per-tile
// overhead, launch overhead) minimises the RMS relative error, each step tried up and down and
// halved when neither helps. Deterministic: the same points give the same model.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "gwsim/calibrate/fit.h"

namespace gwsim::calibrate {

namespace {

double rms_rel_error_of(const std::vector<TiledGemmPoint>& points, const GemmTileModel& model,
                        const TiledGemmTarget& target) {
  double sum = 0;
  // Operands stream at the memory-bound entry's asymptotic rate, as op_time_s prices them.
  const double memory_bps = target.hbm_bps * target.memory.efficiency;
  for (const auto& p : points) {
    const double predicted = gemm_tiled_time_s(p.shape, model, target.peak_flops, target.sms, p.bytes, memory_bps);
    const double rel = (predicted - p.measured_s) / p.measured_s;
    sum += rel * rel;
  }
  return std::sqrt(sum / static_cast<double>(points.size()));
}

}  // namespace

GemmTileModel fit_gemm_tile_model(const std::vector<TiledGemmPoint>& points, const TiledGemmTarget& target,
                                  double max_overhead_s) {
  GemmTileModel model;
  model.max_split_k = 8;  // cuBLAS splits K up to 8 ways and more rarely beyond; 16 changes no fit on the H200 sweep
  if (points.empty()) return model;
  // Parameters: tile efficiency, tile overhead (s), launch overhead (s), with their bounds.
  std::array<double, 3> x = {0.7, 1e-6, 5e-6};
  std::array<double, 3> step = {0.05, 0.5e-6, 2e-6};
  const std::array<double, 3> lo = {0.02, 0, 0}, hi = {1, 20e-6, max_overhead_s};
  const auto model_of = [&](const std::array<double, 3>& v) {
    GemmTileModel m = model;
    m.tile_efficiency = v[0];
    m.tile_overhead_s = v[1];
    m.launch_overhead_s = v[2];
    return m;
  };
  double best = rms_rel_error_of(points, model_of(x), target);
  for (int round = 0; round < 400 && step[0] > 1e-5; ++round) {
    bool improved = false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      for (const double sign : {1.0, -1.0}) {
        auto trial = x;
        trial[i] = std::clamp(trial[i] + sign * step[i], lo[i], hi[i]);
        const double err = rms_rel_error_of(points, model_of(trial), target);
        if (err < best) {
          best = err;
          x = trial;
          improved = true;
        }
      }
    }
    if (!improved)
      for (auto& s : step) s /= 2;
  }
  model = model_of(x);
  model.fit_rms_rel_error = best;
  return model;
}

}  // namespace gwsim::calibrate
