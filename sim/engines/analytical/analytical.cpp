#include "gwsim/sim/engines/analytical.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gwsim {

namespace {

constexpr std::size_t kTopOps = 15;

// The critical stage's compute per micro-batch: by pass, by profile op class, its GEMMs (what
// overlapped TP hides behind) and, with `top_ops`, its slowest ops. Each op is priced once; the
// sums run in the ops' order, as ops_time_s adds them.
double price_compute(StepEstimate& est, const StageWork& stage, const GpuSpec& gpu, const Profile& profile,
                     bool top_ops) {
  std::map<std::string, StepEstimate::OpTime> by_name;
  double gemm_by_pass[3] = {0, 0, 0};  // forward, backward_input, backward_weight
  double* pass_total[4] = {&est.forward_s, &est.backward_input_s, &est.backward_weight_s, &est.recompute_s};
  const std::vector<Op>* passes[4] = {&stage.forward, &stage.backward_input, &stage.backward_weight, &stage.recompute};
  for (int pass = 0; pass < 4; ++pass) {
    const bool recomputed = pass == 3;
    for (const auto& o : *passes[pass]) {
      const double t = op_time_s(o, gpu, profile);
      *pass_total[pass] += t;
      if (!recomputed && is_gemm(o.op_class)) gemm_by_pass[pass] += t;
      est.compute_by_class_s[o.op_class] += t;
      if (!top_ops) continue;
      auto& agg = by_name[recomputed ? o.name + "_recompute" : o.name];
      agg.name = recomputed ? o.name + "_recompute" : o.name;
      agg.op_class = o.op_class;
      agg.precision = to_string(o.precision);
      agg.time_s += t;
      agg.flops += o.flops * o.count;
      agg.bytes += o.bytes * o.count;
    }
  }
  for (auto& [name, agg] : by_name) est.top_ops.push_back(agg);
  std::sort(est.top_ops.begin(), est.top_ops.end(), [](const auto& a, const auto& b) {
    return a.time_s != b.time_s ? a.time_s > b.time_s : a.name < b.name;  // deterministic order
  });
  if (est.top_ops.size() > kTopOps) est.top_ops.resize(kTopOps);
  return gemm_by_pass[0] + gemm_by_pass[1] + gemm_by_pass[2];
}

// The attention a micro-batch runs forward and backward (2.5x the forward): what context
// parallelism's ring exchange hides behind.
double attention_fwd_bwd_s(const StageWork& stage, const GpuSpec& gpu, const Profile& profile) {
  double attn = 0;
  for (const auto& o : stage.forward)
    if (o.op_class == OpClass::attention) attn += op_time_s(o, gpu, profile) * 3.5;
  return attn;
}

// What the step's communication leaves on the critical path, gathered comm by comm.
struct CommExposure {
  std::map<std::string, double> per_micro_batch;    // exposed per micro-batch, by kind
  std::map<std::string, double> per_step;           // exposed once per step, by kind
  double overlapped_mb = 0;                         // communication running beside compute (it takes SMs)
  double dp_reduce_scatter = 0, dp_all_gather = 0;  // per step, at the step's end
  // ZeRO-3 / FSDP layer-wise traffic, per micro-batch: by pass, and one unit's gather (the first of
  // a forward, which nothing hides) and reduce-scatter (the last of a backward, which nothing follows).
  double zero3_fwd_mb = 0, zero3_bwd_mb = 0, zero3_first_gather = 0, zero3_last_reduce = 0;
};

// Costs each communication of the plan (into est.comms) and decides how much of it the schedule hides.
CommExposure price_comms(StepEstimate& est, const TrainingPlan& plan, const ClusterSpec& cluster, const GpuSpec& gpu,
                         const Profile& profile, double gemm_mb) {
  const auto& tr = plan.train;
  const double m = static_cast<double>(plan.micro_batches);
  CommExposure x;
  for (const auto& c : plan.comms) {
    const auto cost = comm_cost(c, plan, cluster, profile);
    est.comms.push_back(CommEstimate{c.name, c.kind, c.op, to_string(c.link), cost.algorithm, c.bytes, c.group,
                                     cost.time_s, cost.time_s * (c.per_micro_batch * m + c.per_step), 0,
                                     cost.busbw_bps});
    const double per_mb = cost.time_s * c.per_micro_batch;
    const std::string kind = to_string(c.kind);
    switch (c.kind) {
      case CommKind::tp:
        // Overlapped TP (async collectives beside the GEMMs) hides up to the GEMM time.
        x.per_micro_batch[kind] += tr.overlap_tp ? std::max(0.0, per_mb - gemm_mb) : per_mb;
        if (tr.overlap_tp) x.overlapped_mb += std::min(per_mb, gemm_mb);
        break;
      case CommKind::cp: {
        const double attn = attention_fwd_bwd_s(plan.stages[plan.critical_stage], gpu, profile);
        x.per_micro_batch[kind] += std::max(0.0, per_mb - attn);
        x.overlapped_mb += std::min(per_mb, attn);
        break;
      }
      case CommKind::ep:
        // DualPipe (and dual micro-batch overlap) runs one chunk's all-to-all beside another chunk's
        // compute; what is left over once the compute runs out is added by expose_ep_overlap.
        if (tr.overlap_ep)
          x.overlapped_mb += per_mb;
        else
          x.per_micro_batch[kind] += per_mb;
        break;
      case CommKind::pp:
        if (tr.overlap_pp) {
          x.per_step[kind] += cost.time_s * 2 * (plan.par.pp - 1);  // fill and drain are not hidden
          x.overlapped_mb += per_mb;
        } else {
          x.per_micro_batch[kind] += per_mb;
        }
        break;
      case CommKind::dp:
        if (c.per_micro_batch > 0) {
          if (c.pass == CommPass::forward) {
            x.zero3_fwd_mb += per_mb;
            x.zero3_first_gather += cost.time_s;
          } else {
            x.zero3_bwd_mb += per_mb;
            if (c.op == "reduce_scatter") x.zero3_last_reduce += cost.time_s;
          }
        }
        if (c.op == "all_gather")
          x.dp_all_gather += cost.time_s * c.per_step;
        else
          x.dp_reduce_scatter += cost.time_s * c.per_step;
        break;
    }
  }
  return x;
}

// EP all-to-all hidden behind compute: only while there is compute to hide behind.
void expose_ep_overlap(CommExposure& x, const StepEstimate& est, const TrainingPlan& plan, double compute_mb) {
  if (!plan.train.overlap_ep) return;
  const double m = static_cast<double>(plan.micro_batches);
  double ep_mb = 0;
  for (const auto& c : est.comms)
    if (c.kind == CommKind::ep) ep_mb += c.per_step_time_s / m;
  if (ep_mb > compute_mb) {
    x.per_micro_batch["ep"] = ep_mb - compute_mb;
    x.overlapped_mb -= ep_mb - compute_mb;
  }
  // Overlap pairs one chunk's all-to-all with another chunk's compute. In the pipeline's warm-up
  // (pp - 1 forwards) and cool-down (pp - 1 backwards) the chunks have no partner, so about pp - 1
  // micro-batches' worth of all-to-all stays exposed.
  if (plan.par.pp > 1) x.per_step["ep"] += std::min(ep_mb, compute_mb) * (plan.par.pp - 1);
}

// ZeRO-3 / FSDP: each unit's gather is prefetched while the unit before it computes, so in a pass
// of n units the gathers of units 2..n hide behind the compute of units 1..n-1 and the first one
// waits (FSDP issues one all-gather ahead: forward_prefetch / backward_prefetch=BACKWARD_PRE).
// In the backward the reduce-scatters share the links with the prefetched gathers, and the last
// one runs after the last unit's compute. Without overlap everything is on the critical path.
void expose_zero3(CommExposure& x, const StepEstimate& est, const TrainingPlan& plan) {
  if (x.zero3_fwd_mb + x.zero3_bwd_mb <= 0) return;
  const double units = plan.stages[plan.critical_stage].layers_per_micro_batch + 1;
  const double hidden_share = (units - 1) / units;
  const double bwd_compute = est.backward_input_s + est.backward_weight_s + est.recompute_s;
  double exposed = x.zero3_fwd_mb + x.zero3_bwd_mb;
  if (plan.train.overlap_dp)
    exposed = x.zero3_first_gather +
              std::max(0.0, x.zero3_fwd_mb - x.zero3_first_gather - est.forward_s * hidden_share) +
              x.zero3_last_reduce + std::max(0.0, x.zero3_bwd_mb - x.zero3_last_reduce - bwd_compute * hidden_share);
  x.per_micro_batch["dp"] += exposed;
  x.overlapped_mb += std::max(0.0, x.zero3_fwd_mb + x.zero3_bwd_mb - exposed);
}

// Data-parallel gradient reduction overlaps the last micro-batch's backward; the parameter gather
// overlaps the next step's first forward.
void expose_dp_step_end(CommExposure& x, const StepEstimate& est, const TrainingSettings& tr) {
  double dp_exposed = 0;
  if (tr.overlap_dp) {
    dp_exposed = std::max(0.0, x.dp_reduce_scatter - (est.backward_input_s + est.backward_weight_s)) +
                 std::max(0.0, x.dp_all_gather - est.forward_s);
  } else {
    dp_exposed = x.dp_reduce_scatter + x.dp_all_gather;
  }
  if (dp_exposed > 0) x.per_step["dp"] += dp_exposed;
}

// The pipeline bubble of the schedule, from one micro-batch's time t_mb on the critical stage.
double pipeline_bubble_s(const Parallelism& par, const StepEstimate& est, double t_mb) {
  const double pp = par.pp;
  const double w = est.backward_weight_s;
  const double b_full = est.backward_input_s + est.recompute_s + w;  // a full backward chunk ("B")
  switch (par.schedule) {
    case PipelineSchedule::one_f_one_b:
      return (pp - 1) * t_mb;
    case PipelineSchedule::interleaved:
      return (pp - 1) * t_mb / par.virtual_stages;
    case PipelineSchedule::zero_bubble:
      // ZB-H1 (Qi et al. 2023): (p - 1)(T_F + T_B - T_W) with T_B the input-gradient pass; t_mb
      // holds F + B + W, so that is t_mb - 2W.
      return (pp - 1) * std::max(0.0, t_mb - 2 * w);
    case PipelineSchedule::dualpipe:
      // DualPipe README: (PP/2 - 1)(F&B + B - 3W), F&B = one overlapped forward+backward chunk
      // pair, B = a full backward chunk (input and weight gradients), W = its weight part.
      return std::max(0.0, (pp / 2 - 1) * (t_mb + b_full - 3 * w));
  }
  return 0;
}

double sum_of(const std::map<std::string, double>& by_kind) {
  double total = 0;
  for (const auto& [k, v] : by_kind) total += v;
  return total;
}

}  // namespace

StepEstimate estimate_training_step(const TrainingPlan& plan, const ClusterSpec& cluster, const GpuSpec& gpu,
                                    const Profile& profile, bool top_ops) {
  StepEstimate est;
  const auto& par = plan.par;
  const auto& tr = plan.train;
  const auto& stage = plan.stages[plan.critical_stage];
  const double gemm_mb = price_compute(est, stage, gpu, profile, top_ops);
  const double compute_mb = est.forward_s + est.backward_input_s + est.backward_weight_s + est.recompute_s;
  const double m = static_cast<double>(plan.micro_batches);

  CommExposure x = price_comms(est, plan, cluster, gpu, profile, gemm_mb);
  expose_ep_overlap(x, est, plan, compute_mb);
  expose_zero3(x, est, plan);
  // SMs taken by communication kernels (comm_sm_slowdown, comm_sms_split_statically).
  double contention_mb = 0;
  if (x.overlapped_mb > 0) {
    const bool static_split = comm_sms_split_statically(par, tr);
    contention_mb = (static_split ? compute_mb : std::min(x.overlapped_mb, compute_mb)) * comm_sm_slowdown(gpu, tr);
  }
  const double t_mb = compute_mb + sum_of(x.per_micro_batch) + contention_mb;
  const double bubble = pipeline_bubble_s(par, est, t_mb);
  expose_dp_step_end(x, est, tr);
  const double optimizer_s = optimizer_time_s(stage, par, tr, gpu, profile);
  est.step_time_s = m * t_mb + bubble + sum_of(x.per_step) + optimizer_s;

  est.breakdown_s["compute"] = m * (compute_mb - est.recompute_s);
  est.breakdown_s["recompute"] = m * est.recompute_s;
  est.breakdown_s["comm_sm_contention"] = m * contention_mb;
  est.breakdown_s["bubble"] = bubble;
  est.breakdown_s["optimizer"] = optimizer_s;
  for (const char* k : {"tp", "cp", "ep", "pp", "dp"}) {
    const auto mb = x.per_micro_batch.find(k);
    const auto step = x.per_step.find(k);
    est.breakdown_s[std::string("exposed_comm_") + k] =
        (mb != x.per_micro_batch.end() ? mb->second * m : 0) + (step != x.per_step.end() ? step->second : 0);
  }
  summarise_step(est, plan);
  return est;
}

void summarise_step(StepEstimate& est, const TrainingPlan& plan) {
  // A kind's exposed time is shared among its communications in proportion to their time.
  for (auto& c : est.comms) {
    double kind_total = 0;
    for (const auto& d : est.comms)
      if (d.kind == c.kind) kind_total += d.per_step_time_s;
    const double exposed_kind = est.breakdown_s["exposed_comm_" + to_string(c.kind)];
    c.exposed_s = kind_total > 0 ? exposed_kind * c.per_step_time_s / kind_total : 0;
  }
  est.tokens_per_s = plan.tokens_per_step / est.step_time_s;
  est.compute_fraction = est.breakdown_s["compute"] / est.step_time_s;
  std::string worst = "compute";
  double worst_v = 0;
  for (const auto& [k, v] : est.breakdown_s)
    if (k != "compute" && v > worst_v) {
      worst_v = v;
      worst = k;
    }
  est.bottleneck =
      worst_v > 0 ? fmt::format("{} ({:.1f}% of the step)", worst, 100 * worst_v / est.step_time_s) : "compute";
}

}  // namespace gwsim
