#pragma once
// Step times of one instance, tabulated once per run from the calibrated per-step model that
// `gwsim serve` prices (decode_step_at / prefill_step_at, op by op through the cost layer) and
// interpolated in the event loop (docs/serving.md, "Step table").
//
// Decode: a grid over the sequences decoding on the instance (geometric, 1 .. max_batch) x their
// mean cached tokens (geometric, 16 .. max context); prefill: a grid over the prompt tokens of one
// step's chunk (geometric, 1 .. the token budget) x the context those tokens attend over. Between
// points, bilinear interpolation in the two coordinates.
#include <vector>

#include "gwsim/sim/input/serving_scenario.h"

namespace gwsim::requests {

class Grid2 {
 public:
  Grid2() = default;
  Grid2(std::vector<double> xs, std::vector<double> ys, std::vector<double> values);
  double at(double x, double y) const;  // clamped to the grid's edges
  const std::vector<double>& xs() const { return xs_; }
  const std::vector<double>& ys() const { return ys_; }

 private:
  std::vector<double> xs_, ys_, v_;  // v_[i * ys.size() + j] at (xs[i], ys[j])
};

// Geometric points from lo to hi, `per_octave` per doubling, both ends included.
std::vector<double> geometric_points(double lo, double hi, int per_octave);

class StepTable {
 public:
  // decode_layout's instances decode (and, when `prefill_layout` is the same, prefill too).
  StepTable(const ServingScenario& s, const InstanceLayout& prefill_layout, double max_sequences,
            double max_prefill_tokens, double max_context);
  // Seconds one decode step takes with `sequences` decoding on the instance at `mean_kv` cached tokens.
  double decode_s(double sequences, double mean_kv) const;
  // Seconds one prefill chunk of `tokens` prompt tokens (on the instance) takes, attending over `context`.
  double prefill_s(double tokens, double context) const;
  // Points per doubling of each grid axis; also what the tests hold the interpolation to.
  static constexpr int kPointsPerOctave = 8;
  const Grid2& decode_grid() const { return decode_; }
  const Grid2& prefill_grid() const { return prefill_; }

 private:
  Grid2 decode_, prefill_;
  double decode_gpus_ = 1, prefill_gpus_ = 1;
};

}  // namespace gwsim::requests
