#include "gwsim/sim/planning/goodput.h"

#include <cmath>
#include <limits>

#include "gwsim/common/text_and_numbers.h"
#include "gwsim/hwmodels/reliability.h"

namespace gwsim {

namespace {}  // namespace

GoodputEstimate estimate_goodput(std::int64_t gpus, double failure_free_s, double step_time_s, double checkpoint_bytes,
                                 const ReliabilityAssumptions& r) {
  const auto& d = reliability_defaults();
  GoodputEstimate g;
  g.gpus = gpus;
  g.failure_free_s = failure_free_s;
  g.step_time_s = step_time_s;
  const double n = static_cast<double>(gpus);
  g.per_gpu_rate_per_h = d.unexpected_per_gpu_hour() * r.failure_rate_scale;
  const double job_rate_per_s = g.per_gpu_rate_per_h * n / 3600;
  const double mtbf_s = job_rate_per_s > 0 ? 1 / job_rate_per_s : std::numeric_limits<double>::infinity();
  g.job_mtbf_h = mtbf_s / 3600;
  g.checkpoint_bytes = checkpoint_bytes;
  g.checkpoint_write_s =
      r.checkpoint_write_s >= 0 ? r.checkpoint_write_s : checkpoint_bytes / (r.checkpoint_write_gbs * 1e9);
  g.restart_s = r.restart_s;
  if (std::isfinite(mtbf_s)) {
    g.young_interval_s = young_interval_s(g.checkpoint_write_s, mtbf_s);
    g.daly_interval_s = daly_interval_s(g.checkpoint_write_s, mtbf_s);
  }
  double tau = r.checkpoint_interval_s > 0 ? r.checkpoint_interval_s
                                           : optimal_interval_s(g.checkpoint_write_s, g.restart_s, mtbf_s);
  if (!std::isfinite(tau)) tau = failure_free_s;
  // Checkpoints are taken between optimizer steps: a whole number of steps, at
  // least one.
  if (step_time_s > 0) tau = std::max(1.0, std::round(tau / step_time_s)) * step_time_s;
  g.checkpoint_interval_s = tau;
  double wall = expected_wall_s(failure_free_s, tau, g.checkpoint_write_s, g.restart_s, mtbf_s);
  g.checkpoint_overhead_s = failure_free_s / std::min(tau, failure_free_s) * g.checkpoint_write_s;
  // Planned maintenance: a restart each, no work lost (a checkpoint is taken
  // first).
  if (r.include_planned) {
    const double planned_rate_per_s = d.planned_per_gpu_hour * r.failure_rate_scale * n / 3600;
    // wall' = wall + planned_rate x wall' x R  =>  wall' = wall / (1 -
    // planned_rate x R)
    const double busy = planned_rate_per_s * g.restart_s;
    if (busy < 1)
      wall /= 1 - busy;
    else
      wall = std::numeric_limits<double>::infinity();
    g.planned_interruptions = planned_rate_per_s * wall;
  }
  g.wall_s = wall;
  g.expected_interruptions = job_rate_per_s * wall;
  for (const auto& c : d.components)
    g.interruptions_by_component[c.name] = c.per_gpu_hour * r.failure_rate_scale * n / 3600 * wall;
  g.lost_hours = (wall - failure_free_s) / 3600;
  g.goodput_fraction = wall > 0 && std::isfinite(wall) ? failure_free_s / wall : 0;
  g.wall_clock_days = wall / 86400;
  return g;
}

std::vector<GoodputEstimate> goodput_vs_cluster_size(const std::vector<std::int64_t>& sizes, std::int64_t gpus,
                                                     double failure_free_s, double step_time_s, double checkpoint_bytes,
                                                     const ReliabilityAssumptions& r) {
  std::vector<GoodputEstimate> out;
  for (auto n : sizes) {
    const double scale = static_cast<double>(gpus) / static_cast<double>(n);
    out.push_back(estimate_goodput(n, failure_free_s * scale, step_time_s * scale, checkpoint_bytes, r));
  }
  return out;
}

nlohmann::json goodput_to_json(const GoodputEstimate& g, const ReliabilityAssumptions& r) {
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [k, v] : g.interruptions_by_component) by[k] = round_significant(v);
  return {{"expected_interruptions", round_significant(g.expected_interruptions)},
          {"planned_interruptions", round_significant(g.planned_interruptions)},
          {"interruptions_by_component", by},
          {"per_gpu_interruptions_per_hour", round_significant(g.per_gpu_rate_per_h)},
          {"per_gpu_mtbf_h", round_significant(g.per_gpu_rate_per_h > 0 ? 1 / g.per_gpu_rate_per_h : 0)},
          {"job_mtbf_h", round_significant(g.job_mtbf_h)},
          {"checkpoint_bytes", round_significant(g.checkpoint_bytes)},
          {"checkpoint_write_s", round_significant(g.checkpoint_write_s)},
          {"checkpoint_interval_s", round_significant(g.checkpoint_interval_s)},
          {"young_interval_s", round_significant(g.young_interval_s)},
          {"daly_interval_s", round_significant(g.daly_interval_s)},
          {"restart_s", round_significant(g.restart_s)},
          {"checkpoint_overhead_hours", round_significant(g.checkpoint_overhead_s / 3600)},
          {"lost_hours", round_significant(g.lost_hours)},
          {"goodput_fraction", round_significant(g.goodput_fraction)},
          {"failure_free_days", round_significant(g.failure_free_s / 86400)},
          {"wall_clock_days", round_significant(g.wall_clock_days)},
          {"model",
           "Daly (2006) renewal model, exponential failures at "
           "per-GPU-hour rates x GPUs; planned "
           "maintenance costs a restart without lost work"},
          {"sources", r.sources}};
}

}  // namespace gwsim
