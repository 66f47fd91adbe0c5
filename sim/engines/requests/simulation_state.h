#pragma once
// What the event loop (simulator.cpp) hands the report (simulation_report.cpp): the fleet it ran
// and what it observed. Internal to the request simulator.
#include <cstdint>
#include <string>
#include <vector>

#include "gwsim/sim/engines/des/trace_writer.h"
#include "gwsim/sim/requests/metrics.h"
#include "gwsim/sim/requests/request_state.h"

namespace gwsim::requests {

struct FleetSetup {
  bool disaggregated = false;
  int decode_instances = 0, prefill_instances = 0;
  int decode_gpus_per_instance = 0, prefill_gpus_per_instance = 0;
  double decode_kv_capacity_tokens = 0, prefill_kv_capacity_tokens = 0;
  double kept_per_step = 1;
  double max_context = 0;                          // the longest prompt + output a request can have
  double kv_bytes_per_token = 0;                   // one full copy, what a transfer moves
  std::vector<int> decode_active, prefill_active;  // autoscaling: instances per interval (empty: all)
  double autoscale_interval_s = 0;
  double capacity_kv_len = 0, capacity_prompt_len = 0;  // the mix's lengths the capacities are priced at
  double decode_capacity_tokens_per_s = 0, prefill_capacity_tokens_per_s = 0;  // per instance, at the SLO
};

struct Sample {
  double t_s = 0;
  std::int64_t queued = 0, running = 0, active_gpus = 0;
  double kv_utilization = 0;
};

struct RunObservations {
  std::vector<Request> requests;
  LogHistogram itl;
  std::int64_t preemptions = 0;
  std::vector<Sample> samples;
  double end_s = 0;
  double decode_gpu_s = 0, prefill_gpu_s = 0;
  std::int64_t peak_gpus = 0;
  std::vector<TraceSpan> step_spans;
  bool trace_truncated = false, series_truncated = false;
};

}  // namespace gwsim::requests
