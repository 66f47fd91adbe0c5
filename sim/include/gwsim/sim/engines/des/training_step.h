#pragma once
// One training step as a task graph on the network layer (`gwsim run --backend des|simgrid`).
//
// One representative GPU per pipeline stage is simulated (data-parallel replicas and expert-parallel
// ranks are symmetric): its compute as delays on a compute track, its communications as flows of
// the network layer's collectives on a topology holding each stage's groups, with the
// schedule's dependencies (each rank's order of F / B / W passes from pipeline_schedule.h: 1F1B,
// interleaved, ZB-H1, DualPipe; PP send/recv between stages, DP
// reduce-scatter and all-gather at the step's end). Beside the representative's instance of each
// collective, the other instances its stage runs at the same time (other DP replicas, EP and TP
// groups, every GPU's pipeline send) load the links as copies, as many as the stage's block of the
// simulated sub-cluster holds (`instances`). See training_step.cpp for the approximations.
#include <string>
#include <vector>

#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

struct LinkLoad {
  std::string name;         // "leaf3->spine1", "gpu0->nvs0" ...
  std::string link_class;   // scaleup | scaleout
  double bytes = 0;         // carried over the step (wire bytes: protocol efficiency included)
  double capacity_bps = 0;  // this direction
  double utilisation = 0;   // bytes / (capacity x step time)
};

// How many concurrent instances of one communication a pipeline stage runs, and how many of them
// the simulated step puts on the links (the representative's included; the others as copies whose
// flows load the shared links, CollectiveSpec::copies).
struct CommInstances {
  std::string name;      // the plan's comm: ep_dispatch, dp_grad_reduce_scatter, pp_send_recv ...
  std::string kind;      // tp | cp | ep | pp | dp
  int group = 0;         // GPUs in one instance (pp: 2, a send between two stages)
  int simulated = 0;     // instances per stage on the simulated links; 0: its analytical cost stands in
  double per_stage = 0;  // instances a real stage runs at once (gpus / pp / group; pp: gpus / pp sends)
};

struct DesStepResult {
  StepEstimate step;
  int simulated_ranks = 0;                     // GPUs whose work is simulated (one per stage)
  double ranks_represented = 0;                // GPUs they stand for
  std::vector<CommInstances> instances;        // per comm of the plan, in its order
  int sub_cluster_gpus = 0;                    // GPUs of the topology the step runs on
  double flows = 0;                            // member flows over all transfers (what a per-flow simulator would run)
  int traffic_gpus = 0;                        // GPUs of the sub-cluster whose collectives' flows are on the links
  long long events = 0;                        // engine events
  long long tasks = 0;                         // task-graph size
  std::vector<std::string> notes;              // approximations made
  std::vector<LinkLoad> busiest_links;         // of the simulated sub-cluster, busiest first (at most 10)
  std::vector<std::string> asymmetry_applied;  // scenario "asymmetry": what was changed, one line each
  std::string trace_json;                      // Chrome trace-event JSON (filled when asked for)
};

// backend: "des" or "simgrid". The simgrid backend refuses graphs above its flow limit (InputError).
DesStepResult simulate_training_step(const TrainingPlan& plan, const Scenario& sc, const std::string& backend,
                                     bool want_trace);

}  // namespace gwsim
