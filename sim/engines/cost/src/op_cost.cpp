#include <algorithm>

#include "gwsim/cost/cost.h"

namespace gwsim {

double op_time_s(const Op& op, const GpuSpec& gpu, const Profile& profile) {
  const auto& eff = profile.op(op.op_class, op.precision);
  double t = 0;
  if (bandwidth_bound(op.op_class)) {
    t = op.bytes / (gpu.hbm_bandwidth_bps() * eff.efficiency_for(op.bytes, op.flops, op.bytes));
    // MLA decode with many heads (or MTP drafts) per cached token is compute-bound: 128 heads do
    // ~242 FLOPs per bf16 cache byte, above an H800's ridge. Its FLOPs run at the profile's
    // attention rate (FlashAttention-3's forward: FlashMLA's own compute-bound figure, 660 of 989
    // TFLOP/s on an H800, is within 12 % of it).
    if (op.op_class == OpClass::mla_decode && op.flops > 0) {
      const auto& attn = profile.op(OpClass::attention, op.precision);
      t = std::max(t, op.flops / (gpu.peak_flops(op.precision) * attn.efficiency_for(op.flops, op.flops, op.bytes)));
    }
  } else {
    const auto& mem = profile.op(OpClass::memory_bound);
    // Block scales (DeepSeek-V3's FP8 recipe) slow a GEMM's arithmetic by the profile's measured
    // rate: the main loop promotes and rescales every 128-deep K block. Its memory traffic, tile
    // overheads and launch are those of a per-tensor GEMM.
    const double scaling_rate = op.block_scaled && eff.block_scaled ? eff.block_scaled->rate : 1.0;
    // A dense GEMM that knows its shape is priced by tiles and waves (gemm_tiles.h), where the
    // profile has a tile model: it carries its own launch overhead, and streams its operands at the
    // asymptotic memory-bound rate (the curve's small-size points are short kernels' latency, which
    // the launch overhead already holds).
    if (eff.tile_model && op.op_class == OpClass::gemm && op.shape.known() && gpu.sm_count.value > 0)
      return gemm_tiled_time_s(op.shape, *eff.tile_model, gpu.peak_flops(op.precision) * scaling_rate,
                               gpu.sm_count.value, op.bytes, gpu.hbm_bandwidth_bps() * mem.efficiency) *
             op.count;
    // Attention with a known shape reads its efficiency by sequence, head dim and mask where the
    // profile has those kernels' table.
    const double efficiency = eff.by_shape && op.attention.known() ? eff.by_shape->efficiency(op.attention)
                                                                   : eff.efficiency_for(op.flops, op.flops, op.bytes);
    const double compute = op.flops / (gpu.peak_flops(op.precision) * efficiency * scaling_rate);
    t = std::max(compute, op.bytes / (gpu.hbm_bandwidth_bps() * mem.efficiency_at(op.bytes)));
  }
  return (t + eff.overhead_s) * op.count;
}

double ops_time_s(const std::vector<Op>& ops, const GpuSpec& gpu, const Profile& profile) {
  double t = 0;
  for (const auto& o : ops) t += op_time_s(o, gpu, profile);
  return t;
}

Op optimizer_op(const StageWork& stage, const Parallelism& par, const TrainingSettings& train) {
  // ZeRO stage 1 and up shard the optimizer state: dense parameters over the DP x CP replicas,
  // expert parameters over the replicas of each expert shard (Parallelism::expert_dp).
  double local_params = stage.params;
  if (par.zero_stage >= 1) {
    const double dense = stage.params - stage.expert_params;
    local_params = dense / (par.dp * par.cp) + stage.expert_params / par.expert_dp();
  }
  // ~30 bytes per local parameter with fp32 moments; 26 with the bf16 moments of the FP8 recipe.
  const double bytes_per_param = train.precision == Precision::fp8 ? 26 : 30;
  return Op{"optimizer", OpClass::memory_bound, Precision::fp32, 0, bytes_per_param * local_params, 1};
}

double optimizer_time_s(const StageWork& stage, const Parallelism& par, const TrainingSettings& train,
                        const GpuSpec& gpu, const Profile& profile) {
  return op_time_s(optimizer_op(stage, par, train), gpu, profile);
}

double comm_sm_slowdown(const GpuSpec& gpu, const TrainingSettings& train) {
  const double sms = gpu.sm_count.value, comm = train.comm_sms;
  return comm > 0 && sms > comm ? comm / (sms - comm) : 0;
}

bool comm_sms_split_statically(const Parallelism& par, const TrainingSettings& train) {
  return par.schedule == PipelineSchedule::dualpipe && train.overlap_ep;
}

}  // namespace gwsim
