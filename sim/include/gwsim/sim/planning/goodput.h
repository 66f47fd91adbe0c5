#pragma once
// Goodput of a training job under failures: expected interruptions, job MTBF,
// checkpoint interval (Young/Daly), time lost to recomputation and restarts,
// and the wall-clock days the run needs. Rates and defaults:
// hwmodels/reliability.h (Llama 3 405B's 54-day record).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gwsim/sim/input/scenario.h"

namespace gwsim {

struct GoodputEstimate {
  std::int64_t gpus = 0;
  double failure_free_s = 0;  // the run without failures or checkpoints
  double step_time_s = 0;
  double per_gpu_rate_per_h = 0;  // unexpected interruptions per GPU-hour (all components)
  double job_mtbf_h = 0;
  double checkpoint_bytes = 0;
  double checkpoint_write_s = 0;
  double young_interval_s = 0;
  double daly_interval_s = 0;
  double checkpoint_interval_s = 0;  // used: optimum or stated, whole steps
  double restart_s = 0;
  double wall_s = 0;                  // expected wall clock, failures, checkpoints and restarts included
  double expected_interruptions = 0;  // unexpected, over the wall clock
  double planned_interruptions = 0;
  std::map<std::string, double> interruptions_by_component;
  double checkpoint_overhead_s = 0;  // writing checkpoints
  double lost_hours = 0;             // wall clock beyond the failure-free run
  double goodput_fraction = 0;       // failure_free_s / wall_s
  double wall_clock_days = 0;
};

// checkpoint_bytes: the whole job's checkpoint (parameters x bytes per
// parameter).
GoodputEstimate estimate_goodput(std::int64_t gpus, double failure_free_s, double step_time_s, double checkpoint_bytes,
                                 const ReliabilityAssumptions& r);

// The same job at other cluster sizes, the failure-free time scaled as 1/N
// (perfect scaling): how goodput falls as the cluster grows.
std::vector<GoodputEstimate> goodput_vs_cluster_size(const std::vector<std::int64_t>& sizes, std::int64_t gpus,
                                                     double failure_free_s, double step_time_s, double checkpoint_bytes,
                                                     const ReliabilityAssumptions& r);

nlohmann::json goodput_to_json(const GoodputEstimate& g, const ReliabilityAssumptions& r);

}  // namespace gwsim
