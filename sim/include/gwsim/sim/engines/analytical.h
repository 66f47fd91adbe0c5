#pragma once
// The analytical backend: op and collective times from the cost layer (gwsim/cost/cost.h), overlap where the schedule
// allows it, pipeline bubbles from the schedule's formula.
#include <map>
#include <string>
#include <vector>

#include "gwsim/cost/cost.h"
#include "gwsim/hwmodels/profile.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

struct CommEstimate {
  std::string name;
  CommKind kind;
  std::string op;
  std::string link;
  std::string algorithm;
  double bytes = 0;
  int group = 1;
  double time_s = 0;           // one execution
  double per_step_time_s = 0;  // all executions in a step on the critical stage
  double exposed_s = 0;        // of which on the critical path
  double busbw_bps = 0;
};

struct StepEstimate {
  // Per micro-batch on the critical stage.
  double forward_s = 0, backward_input_s = 0, backward_weight_s = 0, recompute_s = 0;
  std::map<OpClass, double> compute_by_class_s;  // per micro-batch, by profile op class
  struct OpTime {
    std::string name;
    OpClass op_class = OpClass::memory_bound;
    std::string precision;
    double time_s = 0, flops = 0, bytes = 0;  // per micro-batch, summed over the stage's layers
  };
  std::vector<OpTime> top_ops;  // the critical stage's most expensive ops, slowest first
  // Per step.
  double step_time_s = 0;
  std::map<std::string, double>
      breakdown_s;  // compute, recompute, bubble, optimizer, exposed_comm_<kind>, comm_sm_contention
  std::vector<CommEstimate> comms;
  double tokens_per_s = 0;
  double compute_fraction = 0;
  std::string bottleneck;  // the largest non-compute term, in words
  std::vector<std::string> notes;
};

// From est.step_time_s, est.breakdown_s and est.comms[].per_step_time_s (however a backend got
// them): each communication's exposed share of its kind, tokens/s, compute fraction, bottleneck.
void summarise_step(StepEstimate& est, const TrainingPlan& plan);

// `top_ops` false: est.top_ops stays empty (the planner, which ranks millions of layouts, needs
// none); every other figure is the same.
StepEstimate estimate_training_step(const TrainingPlan& plan, const ClusterSpec& cluster, const GpuSpec& gpu,
                                    const Profile& profile, bool top_ops = true);

}  // namespace gwsim
