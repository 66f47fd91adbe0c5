#pragma once
// One training step as a task graph on the network layer (`gwsim run --backend des|simgrid`).
//
// One representative GPU per pipeline stage is simulated (data-parallel replicas and expert-parallel
// ranks are symmetric): its compute as delays on a compute track, its communications as flows of
// the network layer's collectives on a topology holding one collective group per stage, with the
// schedule's dependencies (each rank's order of F / B / W passes from pipeline_schedule.h: 1F1B,
// interleaved, ZB-H1, DualPipe; PP send/recv between stages, DP
// reduce-scatter and all-gather at the step's end). See training_step.cpp for the approximations.
#include <string>
#include <vector>

#include "gwsim/sim/analytical.h"
#include "gwsim/sim/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

struct LinkLoad {
  std::string name;         // "leaf3->spine1", "gpu0->nvs0" ...
  std::string link_class;   // scaleup | scaleout
  double bytes = 0;         // carried over the step (wire bytes: protocol efficiency included)
  double capacity_bps = 0;  // this direction
  double utilisation = 0;   // bytes / (capacity x step time)
};

struct DesStepResult {
  StepEstimate step;
  int simulated_ranks = 0;             // GPUs whose work is simulated (one per stage)
  double ranks_represented = 0;        // GPUs they stand for
  long long events = 0;                // engine events
  long long tasks = 0;                 // task-graph size
  std::vector<std::string> notes;      // approximations made
  std::vector<LinkLoad> busiest_links;  // of the simulated sub-cluster, busiest first (at most 10)
  std::vector<std::string> asymmetry_applied;  // scenario "asymmetry": what was changed, one line each
  std::string trace_json;              // Chrome trace-event JSON (filled when asked for)
};

// backend: "des" or "simgrid". The simgrid backend refuses graphs above its flow limit (InputError).
DesStepResult simulate_training_step(const TrainingPlan& plan, const Scenario& sc, const std::string& backend,
                                     bool want_trace);

}  // namespace gwsim
