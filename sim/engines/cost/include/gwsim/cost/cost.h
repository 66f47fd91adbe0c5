#pragma once
// The cost layer: how long one thing takes on one GPU or one group of GPUs, and nothing about when
// it runs. Every consumer prices work here: the analytical and des step backends, serving, the
// validation kernel rows, calibrate's layer check and the planner. What overlaps what, and in which
// order, is the engines' business (analytical.h, des/training_step.h), not this layer's.
//
//   op_time_s        one op (GEMM, grouped GEMM, attention, memory-bound kernel, MLA decode):
//                    roofline with the profile's efficiency curves, plus its per-kernel overhead
//   comm_cost        one execution of a plan's communication, α-β (collective_cost.h)
//   optimizer_time_s the optimizer step of one stage's GPU: a memory-bound pass over its shard
//   comm_sm_slowdown compute slowed by the SMs communication kernels hold
#include "gwsim/cost/collective_cost.h"
#include "gwsim/hwmodels/gpu.h"
#include "gwsim/hwmodels/profile.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

// Time of one op on one GPU: max(compute, memory) roofline, each at the profile's efficiency, plus
// the profile's per-op overhead, times the op's count.
double op_time_s(const Op& op, const GpuSpec& gpu, const Profile& profile);
// Sum of op_time_s over a list of ops.
double ops_time_s(const std::vector<Op>& ops, const GpuSpec& gpu, const Profile& profile);

// The collective a plan's communication runs, carrying `bytes` (its own per execution, or several
// executions' summed, as the des backend batches them).
CollectiveRequest comm_request(const Comm& comm, double bytes);
// One execution of a plan's communication on the cluster (an all-to-all with the plan's scale-out
// share; every other op with its ring/tree/hierarchical algorithm). EP traffic (dispatch, combine,
// expert-TP gather and scatter) ends when the busiest EP rank's does: it moves the plan's
// hottest_rank_load x the mean bytes.
CollectiveCost comm_cost(const Comm& comm, const TrainingPlan& plan, const ClusterSpec& cluster,
                         const Profile& profile);

// The optimizer step of one GPU of `stage`: AdamW reads master weights, gradient and two moments and
// writes them back with the bf16 weights, a memory-bound pass over the parameters the GPU updates
// (its ZeRO shard from stage 1 on).
Op optimizer_op(const StageWork& stage, const Parallelism& par, const TrainingSettings& train);
double optimizer_time_s(const StageWork& stage, const Parallelism& par, const TrainingSettings& train,
                        const GpuSpec& gpu, const Profile& profile);

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

}  // namespace gwsim
