#include "gwsim/workloads/parallelism.h"

#include <fmt/format.h>

#include <utility>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"

namespace gwsim {

std::string to_string(PipelineSchedule s) {
  switch (s) {
    case PipelineSchedule::one_f_one_b:
      return "1f1b";
    case PipelineSchedule::interleaved:
      return "interleaved";
    case PipelineSchedule::dualpipe:
      return "dualpipe";
    case PipelineSchedule::zero_bubble:
      return "zero_bubble";
  }
  return "?";
}

std::string to_string(Recompute r) {
  switch (r) {
    case Recompute::none:
      return "none";
    case Recompute::selective:
      return "selective";
    case Recompute::full:
      return "full";
  }
  return "?";
}

std::string to_string(Framework f) {
  switch (f) {
    case Framework::megatron:
      return "megatron";
    case Framework::deepspeed:
      return "deepspeed";
    case Framework::fsdp:
      return "fsdp";
    case Framework::deepseek:
      return "deepseek";
  }
  return "?";
}

namespace {
// Communication SMs by framework: DeepSeek-V3 Sec 3.2.2 ("only 20 SMs" of the H800's 132 for the
// all-to-all; ISCA'25 Sec 2.3 repeats it). Megatron-LM, DeepSpeed and FSDP leave NCCL to pick its
// channels, one SM each, a number that varies with topology and NCCL version: 0 (not modelled)
// unless the scenario states it.
int default_comm_sms(Framework f) { return f == Framework::deepseek ? 20 : 0; }
}  // namespace

bool default_overlap_ep(Framework f) { return f == Framework::deepseek; }

Fp8Scaling default_fp8_scaling(Framework f) {
  return f == Framework::deepseek ? Fp8Scaling::block : Fp8Scaling::tensor;
}

std::string to_string(Fp8Scaling s) { return s == Fp8Scaling::block ? "block" : "tensor"; }

int default_expert_tp(Framework f, int tp) { return f == Framework::megatron ? tp : 1; }

int resolved_expert_tp(const Parallelism& p, const TrainingSettings& t) {
  return p.expert_tp > 0 ? p.expert_tp : default_expert_tp(t.framework, p.tp);
}

Parallelism with_resolved_expert_tp(Parallelism p, const TrainingSettings& t) {
  p.expert_tp = resolved_expert_tp(p, t);
  return p;
}

std::int64_t expert_copy_ranks(const Parallelism& p, const TrainingSettings& t) {
  return static_cast<std::int64_t>(p.ep) * resolved_expert_tp(p, t);
}

Parallelism parse_parallelism(const JsonObject& o) {
  Parallelism p;
  p.tp = o.int_in_or("tp", 1, limits::kMaxGpus, 1);
  p.sp = o.boolean_or("sp", false);
  p.pp = o.int_in_or("pp", 1, limits::kMaxGpus, 1);
  std::string s = o.one_of_or("schedule", {"1f1b", "interleaved", "dualpipe", "zero_bubble"}, "1f1b");
  p.schedule = s == "interleaved"   ? PipelineSchedule::interleaved
               : s == "dualpipe"    ? PipelineSchedule::dualpipe
               : s == "zero_bubble" ? PipelineSchedule::zero_bubble
                                    : PipelineSchedule::one_f_one_b;
  p.virtual_stages = o.int_in_or("virtual_stages", 1, limits::kMaxLayers, 1);
  if (p.virtual_stages > 1 && p.schedule != PipelineSchedule::interleaved)
    o.fail("virtual_stages", "expected 1 unless schedule is \"interleaved\"");
  p.dp = o.int_in_or("dp", 1, limits::kMaxGpus, 1);
  p.zero_stage = o.int_in_or("zero_stage", 0, 3, 0);
  if (o.has("fsdp")) {
    if (o.boolean("fsdp")) p.zero_stage = 3;
  } else {
    o.allow({"fsdp"});
  }
  p.ep = o.int_in_or("ep", 1, limits::kMaxGpus, 1);
  p.expert_tp = o.int_in_or("expert_tp", 1, limits::kMaxGpus, 0);  // checked against tp in check_layout
  p.cp = o.int_in_or("cp", 1, limits::kMaxGpus, 1);
  // The degrees multiply into the GPU count: bounded here so that tp*cp*pp*dp cannot overflow.
  std::int64_t product = 1;
  for (const auto& [key, degree] :
       {std::pair<const char*, int>{"tp", p.tp}, {"cp", p.cp}, {"pp", p.pp}, {"dp", p.dp}}) {
    product *= degree;
    if (product > limits::kMaxGpus)
      o.fail(key, fmt::format("tp*cp*pp*dp reaches {} here: expected at most {} GPUs", product, limits::kMaxGpus));
  }
  p.micro_batch_seqs = o.integer_in_or("micro_batch_seqs", 1, limits::kMaxGlobalBatchSeqs, 1);
  o.reject_unknown_keys();
  return p;
}

TrainingSettings parse_training(const JsonObject& o, const ModelSpec& model) {
  TrainingSettings t;
  t.global_batch_seqs = o.integer_in("global_batch_seqs", 1, limits::kMaxGlobalBatchSeqs);
  t.seq_len = o.integer_in_or("seq_len", 1, limits::kMaxSeqLen, model.seq_len);
  t.tokens = o.positive("tokens");
  std::string prec = o.one_of_or("precision", {"bf16", "fp16", "fp8"}, "bf16");
  t.precision = *parse_precision(prec);
  std::string rc = o.one_of_or("recompute", {"none", "selective", "full"}, "selective");
  t.recompute = rc == "none" ? Recompute::none : rc == "full" ? Recompute::full : Recompute::selective;
  t.attention_kernel = o.one_of_or("attention_kernel", {"flash", "unfused"}, "flash") == "unfused"
                           ? AttentionKernel::unfused
                           : AttentionKernel::flash;
  t.causal_mask = o.boolean_or("causal_mask", true);
  const std::string fw = o.one_of_or("framework", {"megatron", "deepspeed", "fsdp", "deepseek"}, "megatron");
  t.framework = fw == "deepspeed"  ? Framework::deepspeed
                : fw == "fsdp"     ? Framework::fsdp
                : fw == "deepseek" ? Framework::deepseek
                                   : Framework::megatron;
  t.overlap_ep = default_overlap_ep(t.framework);
  const std::int64_t comm_sms = o.integer_or("comm_sms", default_comm_sms(t.framework));
  if (comm_sms < 0 || comm_sms > 1024)
    o.fail("comm_sms", fmt::format("expected an integer in [0, 1024], got {}", comm_sms));
  t.comm_sms = static_cast<int>(comm_sms);
  if (o.has("moe_hottest_rank_load")) {  // checked against ep in check_layout
    t.moe_hottest_rank_load = o.number("moe_hottest_rank_load");
    if (!(t.moe_hottest_rank_load >= 1))
      o.fail("moe_hottest_rank_load",
             fmt::format("expected the busiest EP rank's routed tokens over the mean, 1 or more, got {}",
                         t.moe_hottest_rank_load));
  }
  t.fp8_scaling = default_fp8_scaling(t.framework);
  if (o.has("fp8_scaling")) {
    if (t.precision != Precision::fp8)
      o.fail("fp8_scaling", fmt::format("expected only with precision fp8 (it says how FP8 GEMMs are scaled), "
                                        "but precision is {}",
                                        prec));
    t.fp8_scaling = o.one_of("fp8_scaling", {"tensor", "block"}) == "block" ? Fp8Scaling::block : Fp8Scaling::tensor;
  }
  if (o.has("zero3")) {
    auto z = o.object("zero3");
    t.zero3_reshard_after_forward = z.boolean_or("reshard_after_forward", true);
    z.reject_unknown_keys();
  } else {
    o.allow({"zero3"});
  }
  if (o.has("overlap")) {
    auto ov = o.object("overlap");
    t.overlap_tp = ov.boolean_or("tp", t.overlap_tp);
    t.overlap_dp = ov.boolean_or("dp", t.overlap_dp);
    t.overlap_ep = ov.boolean_or("ep", t.overlap_ep);
    t.overlap_pp = ov.boolean_or("pp", t.overlap_pp);
    ov.reject_unknown_keys();
  } else {
    o.allow({"overlap"});
  }
  o.reject_unknown_keys();
  return t;
}

void check_layout(const ModelSpec& m, const Parallelism& p, const TrainingSettings& t, std::int64_t cluster_gpus,
                  int gpus_per_node, const std::string& file) {
  auto fail = [&](const std::string& path, const std::string& what) { throw InfeasibleError(file, path, what); };
  const auto& a = m.attention;
  if (a.heads % p.tp != 0)
    fail("$.parallelism.tp",
         fmt::format("tp {} does not divide the {} attention heads (remainder {})", p.tp, a.heads, a.heads % p.tp));
  if (a.kind == AttentionKind::gqa && a.kv_heads % p.tp != 0 && p.tp % a.kv_heads != 0)
    fail("$.parallelism.tp",
         fmt::format("tp {} neither divides nor is a multiple of the {} KV heads", p.tp, a.kv_heads));
  if (m.ffn_intermediate % p.tp != 0)
    fail("$.parallelism.tp", fmt::format("tp {} does not divide the FFN width {}", p.tp, m.ffn_intermediate));
  if (p.tp > gpus_per_node)
    fail("$.parallelism.tp",
         fmt::format("tp {} exceeds the {} GPUs of a node: tensor parallelism must stay on the scale-up domain", p.tp,
                     gpus_per_node));
  if (p.gpus() != cluster_gpus)
    fail("$.parallelism", fmt::format("tp*cp*pp*dp = {}*{}*{}*{} = {} GPUs, but the cluster has {} (off by {})", p.tp,
                                      p.cp, p.pp, p.dp, p.gpus(), cluster_gpus, cluster_gpus - p.gpus()));
  const std::int64_t chunks = static_cast<std::int64_t>(p.pp) * p.virtual_stages;
  if (chunks > m.layers)
    fail("$.parallelism.pp", fmt::format("pp*virtual_stages = {} exceeds the {} layers", chunks, m.layers));
  // Placing layers on stages is an exact partition (training_plan.cpp, balanced_partition) of
  // chunks x (layers + 2)^2 / 2 steps, ~1 ns each: bounded to ~5 s.
  const double partition_steps = static_cast<double>(chunks) * (m.layers + 2.0) * (m.layers + 2.0) / 2;
  if (partition_steps > limits::kMaxPartitionSteps)
    fail("$.parallelism.pp",
         fmt::format("pp*virtual_stages {} over {} layers takes {:.2g} steps to place: expected at most {:.2g} "
                     "(fewer stages or layers)",
                     chunks, m.layers, partition_steps, limits::kMaxPartitionSteps));
  const int etp = resolved_expert_tp(p, t);
  if (p.expert_tp > 0 && p.tp % p.expert_tp != 0)
    fail("$.parallelism.expert_tp", fmt::format("expected a divisor of tp {}, got {}", p.tp, p.expert_tp));
  if (p.expert_tp > 1 && !m.moe)
    fail("$.parallelism.expert_tp", fmt::format("expert_tp {} but model {} has no experts", p.expert_tp, m.name));
  // The expert-TP ranks gather the tokens each routed from its own sequence shard: Megatron-Core
  // refuses MoE with tensor parallelism but without sequence parallelism (TransformerConfig).
  if (m.moe && !p.sp && etp > 1)
    fail("$.parallelism.sp",
         fmt::format(
             "expected true: experts split over expert_tp {} ranks need sequence parallelism{}", etp,
             p.expert_tp > 0 ? "" : " (expert_tp defaults to tp under framework megatron; 1 keeps experts whole)"));
  if (p.ep > 1) {
    if (!m.moe) fail("$.parallelism.ep", fmt::format("ep {} but model {} has no experts", p.ep, m.name));
    if (m.moe->routed_experts % p.ep != 0)
      fail("$.parallelism.ep", fmt::format("ep {} does not divide the {} routed experts (remainder {})", p.ep,
                                           m.moe->routed_experts, m.moe->routed_experts % p.ep));
    // ep x expert_tp ranks hold one copy of the experts (each expert split over expert_tp of them),
    // and the copies tile the dp*tp*cp ranks: Megatron's expert data-parallel size is the quotient.
    const std::int64_t ranks = static_cast<std::int64_t>(p.dp) * p.tp * p.cp;
    if (ranks % expert_copy_ranks(p, t) != 0)
      fail("$.parallelism.ep",
           etp == 1
               ? fmt::format("ep {} does not divide dp*tp*cp = {}: experts are spread over the data-parallel ranks",
                             p.ep, ranks)
               : fmt::format("ep*expert_tp = {}*{} does not divide dp*tp*cp = {}: each copy of the experts spans "
                             "ep*expert_tp ranks{}",
                             p.ep, etp, ranks,
                             p.expert_tp > 0 ? "" : " (expert_tp defaults to tp under framework megatron)"));
  }
  if (t.moe_hottest_rank_load > 0 && (!m.moe || t.moe_hottest_rank_load > p.ep))
    fail("$.training.moe_hottest_rank_load",
         m.moe ? fmt::format("expected at most ep = {}: the busiest rank cannot receive more than every routed token, "
                             "got {}",
                             p.ep, t.moe_hottest_rank_load)
               : fmt::format("model {} has no experts", m.name));
  if (t.seq_len % p.cp != 0)
    fail("$.parallelism.cp", fmt::format("cp {} does not divide the sequence length {}", p.cp, t.seq_len));
  const std::int64_t per_step = static_cast<std::int64_t>(p.dp) * p.micro_batch_seqs;
  if (t.global_batch_seqs % per_step != 0)
    fail("$.training.global_batch_seqs",
         fmt::format("global batch {} is not a multiple of dp*micro_batch_seqs = {} (remainder {})",
                     t.global_batch_seqs, per_step, t.global_batch_seqs % per_step));
  const std::int64_t micro = t.micro_batches(p);
  if (micro > limits::kMaxMicroBatches)
    fail("$.training.global_batch_seqs",
         fmt::format("{} micro-batches per replica and step: expected at most {} (a larger dp or micro_batch_seqs)",
                     micro, limits::kMaxMicroBatches));
  if (p.pp > 1 && micro < p.pp)
    fail("$.training.global_batch_seqs",
         fmt::format("{} micro-batches per replica is fewer than the {} pipeline stages (need {} more)", micro, p.pp,
                     p.pp - micro));
  if (p.schedule == PipelineSchedule::dualpipe && (p.pp % 2 != 0 || micro % 2 != 0))
    fail("$.parallelism.schedule",
         fmt::format("dualpipe needs an even pp and an even micro-batch count (pp {}, micro-batches {})", p.pp, micro));
  if (p.schedule == PipelineSchedule::interleaved && p.virtual_stages < 2)
    fail("$.parallelism.virtual_stages", "interleaved schedule needs virtual_stages >= 2");
}

}  // namespace gwsim
