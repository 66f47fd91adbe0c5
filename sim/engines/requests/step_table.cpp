#include "gwsim/sim/requests/step_table.h"

#include <algorithm>
#include <cmath>

#include "gwsim/sim/planning/serving.h"

namespace gwsim::requests {

Grid2::Grid2(std::vector<double> xs, std::vector<double> ys, std::vector<double> values)
    : xs_(std::move(xs)), ys_(std::move(ys)), v_(std::move(values)) {}

namespace {
// The cell holding x and where x lies in it (0..1), clamped to the axis.
std::pair<std::size_t, double> locate(const std::vector<double>& axis, double x) {
  if (axis.size() == 1 || x <= axis.front()) return {0, 0};
  if (x >= axis.back()) return {axis.size() - 2, 1};
  const auto hi = static_cast<std::size_t>(std::upper_bound(axis.begin(), axis.end(), x) - axis.begin());
  const std::size_t lo = hi - 1;
  return {lo, (x - axis[lo]) / (axis[hi] - axis[lo])};
}
}  // namespace

double Grid2::at(double x, double y) const {
  const auto [i, fx] = locate(xs_, x);
  const auto [j, fy] = locate(ys_, y);
  const std::size_t ny = ys_.size();
  auto v = [&](std::size_t a, std::size_t b) { return v_[std::min(a, xs_.size() - 1) * ny + std::min(b, ny - 1)]; };
  const double low = v(i, j) + fy * (v(i, j + 1) - v(i, j));
  const double high = v(i + 1, j) + fy * (v(i + 1, j + 1) - v(i + 1, j));
  return low + fx * (high - low);
}

std::vector<double> geometric_points(double lo, double hi, int per_octave) {
  std::vector<double> out{lo};
  const double ratio = std::pow(2.0, 1.0 / per_octave);
  while (out.back() * ratio < hi * (1 - 1e-9)) out.push_back(out.back() * ratio);
  if (hi > lo) out.push_back(hi);
  return out;
}

StepTable::StepTable(const ServingScenario& s, const InstanceLayout& prefill_layout, double max_sequences,
                     double max_prefill_tokens, double max_context) {
  decode_gpus_ = s.decode.layout.gpus;
  prefill_gpus_ = prefill_layout.gpus;
  const double top_context = std::max(16.0, max_context);
  // Decode: sequences on the instance; the step model takes them per GPU.
  auto batches = geometric_points(1, std::max(1.0, max_sequences), kPointsPerOctave);
  auto contexts = geometric_points(16, top_context, kPointsPerOctave);
  std::vector<double> values;
  for (double b : batches)
    for (double kv : contexts) values.push_back(decode_step_at(s, b / decode_gpus_, kv).step_s);
  decode_ = Grid2(batches, contexts, std::move(values));
  auto chunks = geometric_points(1, std::max(1.0, max_prefill_tokens), kPointsPerOctave);
  values.clear();
  for (double t : chunks)
    for (double ctx : contexts) values.push_back(prefill_step_at(s, prefill_layout, t / prefill_gpus_, ctx).step_s);
  prefill_ = Grid2(chunks, contexts, std::move(values));
}

double StepTable::decode_s(double sequences, double mean_kv) const { return decode_.at(sequences, mean_kv); }

double StepTable::prefill_s(double tokens, double context) const { return prefill_.at(tokens, context); }

}  // namespace gwsim::requests
