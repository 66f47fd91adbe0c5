#pragma once
// The analytical backend: op times from a roofline with the profile's efficiency, collectives from
// α-β costs, overlap where the schedule allows it, pipeline bubbles from the schedule's formula.
#include <map>
#include <string>
#include <vector>

#include "gwsim/hwmodels/profile.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

// Time of one op on one GPU: max(compute, memory) roofline, each at the profile's efficiency.
double op_time_s(const Op& op, const GpuSpec& gpu, const Profile& profile);

// Communication kernels take SMs from compute (DeepSeek-V3 Sec 3.2.2: 20 of the H800's 132 SMs
// for all-to-all), so compute beside them runs on the rest: the extra time per second of such
// compute, comm_sms / (sm_count - comm_sms); 0 when the scenario's framework reserves none
// (training.comm_sms: a software choice, so it is the scenario's, not the hardware profile's).
double comm_sm_slowdown(const GpuSpec& gpu, const TrainingSettings& train);
// DualPipe overlaps EP communication with every steady-state chunk, and DeepSeek sizes its compute
// kernels to the remaining SMs for the whole phase (a static split; Sec 3.5 calls these SMs
// "allocated for communication"): all compute pays the slowdown. Elsewhere the SMs are taken only
// while a collective runs, and only the overlapped compute pays it.
bool comm_sms_split_statically(const Parallelism& par, const TrainingSettings& train);

struct CommEstimate {
  std::string name;
  CommKind kind;
  std::string op;
  std::string link;
  std::string algorithm;
  double bytes = 0;
  int group = 1;
  double time_s = 0;         // one execution
  double per_step_time_s = 0;  // all executions in a step on the critical stage
  double exposed_s = 0;      // of which on the critical path
  double busbw_bps = 0;
};

struct StepEstimate {
  // Per micro-batch on the critical stage.
  double forward_s = 0, backward_input_s = 0, backward_weight_s = 0, recompute_s = 0;
  std::map<std::string, double> compute_by_class_s;  // per micro-batch, by profile op class
  struct OpTime {
    std::string name, op_class, precision;
    double time_s = 0, flops = 0, bytes = 0;  // per micro-batch, summed over the stage's layers
  };
  std::vector<OpTime> top_ops;  // the critical stage's most expensive ops, slowest first
  // Per step.
  double step_time_s = 0;
  std::map<std::string, double> breakdown_s;  // compute, recompute, bubble, optimizer, exposed_comm_<kind>, comm_sm_contention
  std::vector<CommEstimate> comms;
  double tokens_per_s = 0;
  double compute_fraction = 0;
  std::string bottleneck;      // the largest non-compute term, in words
  std::vector<std::string> notes;
};

// From est.step_time_s, est.breakdown_s and est.comms[].per_step_time_s (however a backend got
// them): each communication's exposed share of its kind, tokens/s, compute fraction, bottleneck.
void summarise_step(StepEstimate& est, const TrainingPlan& plan);

StepEstimate estimate_training_step(const TrainingPlan& plan, const ClusterSpec& cluster, const GpuSpec& gpu,
                                    const Profile& profile);

}  // namespace gwsim
