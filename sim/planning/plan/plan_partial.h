#pragma once
// What one worker of the plan search (a thread, or every thread of one MPI rank) found: its
// counts, its best layouts and its Pareto front. Partials merge in any order to the same outcome,
// so threads and ranks can split the layouts freely. A partial also travels between MPI ranks as
// text (serialize_partial / parse_partial): lossless, doubles as their bit patterns, so a plan
// split over ranks prints the same bytes as one process.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/sim/planning/plan.h"

namespace gwsim {

struct PlanPartial {
  PlanCounts counts;              // evaluated, feasible, infeasible by rule, pruned by rule
  std::vector<PlanResult> top;    // at most top_k (rank keys are recomputed where they are merged)
  std::vector<PlanResult> front;  // non-dominated layouts (several objectives)
  std::int64_t better_than_probe = 0;
};

std::string serialize_partial(const PlanPartial& p);
// Throws std::runtime_error on text that serialize_partial did not write.
PlanPartial parse_partial(const std::string& text);

}  // namespace gwsim
