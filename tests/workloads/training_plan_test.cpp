// Layout checks, memory and communication accounting of a training step.
#include <gtest/gtest.h>

#include <algorithm>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/workloads/training_plan.h"

using namespace gwsim;

namespace {

struct Layout {
  ModelSpec model;
  Parallelism par;
  TrainingSettings train;
  ClusterSpec cluster;
};

Layout deepseek_v3() {
  Layout s;
  s.model = find_model("deepseek-v3", "");
  s.cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  s.par.pp = 16;
  s.par.schedule = PipelineSchedule::dualpipe;
  s.par.dp = 128;
  s.par.ep = 64;
  s.par.zero_stage = 1;
  s.train.global_batch_seqs = 15360;
  s.train.seq_len = 4096;
  s.train.tokens = 14.8e12;
  s.train.precision = Precision::fp8;
  return s;
}

std::string infeasible(const Layout& s) {
  try {
    plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
  } catch (const InfeasibleError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TrainingPlan, DeepSeekV3LayoutFitsAndPlacesEveryLayerOnce) {
  auto s = deepseek_v3();
  auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu("H800"), "s.json");
  int layers = 0;
  for (const auto& st : plan.stages) layers += st.layers;
  EXPECT_EQ(layers, 61);
  EXPECT_TRUE(plan.stages.front().has_embedding);
  EXPECT_TRUE(plan.stages.back().has_head);
  EXPECT_EQ(plan.micro_batches, 120);
  EXPECT_LT(plan.memory.total(), 80e9);
  // 671B / 16 stages, doubled by DualPipe, experts over EP64: a few billion parameters per GPU.
  EXPECT_GT(plan.stages[plan.critical_stage].params, 1e9);
  EXPECT_LT(plan.stages[plan.critical_stage].params, 5e9);
}

TEST(TrainingPlan, DeepSeekV3ExpertAllToAllCrossesTheFabric) {
  auto s = deepseek_v3();
  auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu("H800"), "s.json");
  const Comm* dispatch = nullptr;
  for (const auto& c : plan.comms)
    if (c.name == "ep_dispatch") dispatch = &c;
  ASSERT_NE(dispatch, nullptr);
  EXPECT_EQ(dispatch->op, "all_to_all");
  EXPECT_EQ(dispatch->group, 64);
  EXPECT_EQ(dispatch->link, LinkClass::scaleout);
  EXPECT_EQ(dispatch->ranks_per_domain, 8);
  // One 4096-token micro-batch, top-8, hidden 7168, FP8 dispatch: 4096 * 8 * 7168 bytes.
  EXPECT_DOUBLE_EQ(dispatch->bytes, 4096.0 * 8 * 7168);
  // Node-limited routing: at most 4 nodes per token, 7 of 8 EP nodes remote -> 3.5 of 8 copies leave.
  EXPECT_NEAR(dispatch->scaleout_fraction, 4 * 7.0 / 8 / 8, 1e-12);
}

TEST(TrainingPlan, RefusesGpuCountMismatch) {
  auto s = deepseek_v3();
  s.par.dp = 64;
  auto msg = infeasible(s);
  EXPECT_NE(msg.find("= 1024 GPUs, but the cluster has 2048 (off by 1024)"), std::string::npos) << msg;
}

TEST(TrainingPlan, RefusesExpertParallelismThatDoesNotDivideExperts) {
  auto s = deepseek_v3();
  s.par.ep = 48;
  auto msg = infeasible(s);
  EXPECT_NE(msg.find("$.parallelism.ep: ep 48 does not divide the 256 routed experts (remainder 16)"),
            std::string::npos)
      << msg;
}

TEST(TrainingPlan, RefusesTensorParallelismThatDoesNotDivideHeads) {
  Layout s;
  s.model = find_model("llama3-8b", "");
  s.cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  s.par.tp = 6;
  s.par.dp = 1024 / 6;
  s.train.global_batch_seqs = 1024;
  s.train.seq_len = 8192;
  s.train.tokens = 1e12;
  auto msg = infeasible(s);
  EXPECT_NE(msg.find("does not divide the 32 attention heads (remainder 2)"), std::string::npos) << msg;
}

TEST(TrainingPlan, RefusesWhatDoesNotFitAndSaysByHowMuch) {
  Layout s;
  s.model = find_model("llama3-405b", "");
  s.cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  s.par.tp = 8;
  s.par.dp = 128;
  s.train.global_batch_seqs = 1024;
  s.train.seq_len = 8192;
  s.train.tokens = 1e12;
  auto msg = infeasible(s);
  EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("over by"), std::string::npos) << msg;
}

TEST(TrainingPlan, ZeroStagesShardOptimizerGradientsAndWeights) {
  auto s = deepseek_v3();
  const auto& gpu = find_gpu("H800");
  double previous_total = 1e30;
  for (int z : {0, 1, 2, 3}) {
    s.par.zero_stage = z;
    TrainingPlan plan;
    try {
      plan = plan_training(s.model, s.par, s.train, s.cluster, gpu, "s.json");
    } catch (const InfeasibleError&) {
      continue;  // ZeRO-0 may not fit; the later stages must
    }
    EXPECT_LT(plan.memory.total(), previous_total) << "zero " << z;
    previous_total = plan.memory.total();
  }
  EXPECT_LT(previous_total, 80e9);
}

TEST(LayerOps, DecodeAttendsOverTheCompressedCache) {
  // DeepSeek-V3 decode, 10 sequences x 2 query tokens (one MTP draft), 1000 cached tokens each:
  // the absorbed form reads the 576-element latent once for all 128 heads, and there is no kv_up.
  const auto m = find_model("deepseek-v3", "");
  Parallelism one;
  TrainingSettings t;
  DecodeAttention attention{10, 1000, Precision::bf16};
  LayerOpsOptions options;
  options.decode = &attention;
  const auto ops = layer_forward_ops(m, 5, one, t, 20, options);
  auto find = [&](const std::string& name) {
    return std::find_if(ops.begin(), ops.end(), [&](const Op& o) { return o.name == name; });
  };
  EXPECT_EQ(find("kv_up"), ops.end());
  EXPECT_EQ(find("attention_core"), ops.end());
  const auto mla = find("mla_decode");
  ASSERT_NE(mla, ops.end());
  EXPECT_EQ(mla->op_class, OpClass::mla_decode);
  EXPECT_DOUBLE_EQ(mla->flops, 2.0 * 20 * 128 * 1000 * (512 + 64 + 512));
  EXPECT_DOUBLE_EQ(mla->bytes, 10.0 * 1000 * 576 * 2 + 2.0 * 20 * 128 * (576 + 512));
  ASSERT_NE(find("q_absorb"), ops.end());
  ASSERT_NE(find("v_absorb"), ops.end());
  // An FP8 cache: one byte per element plus a 4-byte scale per 64.
  attention.kv_cache = Precision::fp8;
  const auto fp8 = layer_forward_ops(m, 5, one, t, 20, options);
  const auto mla8 = std::find_if(fp8.begin(), fp8.end(), [](const Op& o) { return o.name == "mla_decode"; });
  EXPECT_DOUBLE_EQ(mla8->bytes, 10.0 * 1000 * 576 * (1 + 4.0 / 64) + 2.0 * 20 * 128 * (576 + 512));
}

TEST(LayerOps, RolesAreSetWhereOpsAreMadeAndKeptByTheirBackward) {
  auto role_of = [](const std::vector<Op>& ops, const std::string& name) {
    const auto it = std::find_if(ops.begin(), ops.end(), [&](const Op& o) { return o.name == name; });
    EXPECT_NE(it, ops.end()) << name;
    return it == ops.end() ? OpRole::other : it->role;
  };
  const auto m = find_model("deepseek-v3", "");
  Parallelism one;
  TrainingSettings t;
  t.precision = Precision::fp8;
  const auto ops = layer_forward_ops(m, 5, one, t, 64);
  EXPECT_EQ(role_of(ops, "q_up"), OpRole::mla_up_projection);
  EXPECT_EQ(role_of(ops, "kv_up"), OpRole::mla_up_projection);
  EXPECT_EQ(role_of(ops, "q_down"), OpRole::other);
  for (const char* routed :
       {"dispatch_permute", "experts_up", "experts_act", "experts_down_quantize", "experts_down", "combine_unpermute"})
    EXPECT_EQ(role_of(ops, routed), OpRole::routed_expert) << routed;
  EXPECT_EQ(role_of(ops, "dispatch_quantize"), OpRole::other);  // before routing: once per token
  EXPECT_EQ(role_of(ops, "shared_up"), OpRole::other);
  EXPECT_EQ(role_of(ops, "attention_core"), OpRole::other);

  DecodeAttention attention{10, 1000, Precision::bf16};
  LayerOpsOptions decode;
  decode.decode = &attention;
  const auto dec = layer_forward_ops(m, 5, one, t, 20, decode);
  for (const char* name : {"q_absorb", "mla_decode", "v_absorb"})
    EXPECT_EQ(role_of(dec, name), OpRole::decode_attention) << name;
  const auto llama = layer_forward_ops(find_model("llama3-8b", ""), 0, one, TrainingSettings{}, 20, decode);
  EXPECT_EQ(role_of(llama, "decode_attention"), OpRole::decode_attention);

  // Unfused attention: score and value GEMMs have no weights (no W pass), selective recompute redoes them.
  Layout s = deepseek_v3();
  s.train.attention_kernel = AttentionKernel::unfused;
  s.train.recompute = Recompute::selective;
  const auto unfused = layer_forward_ops(s.model, 5, one, s.train, 64);
  EXPECT_EQ(role_of(unfused, "attention_scores"), OpRole::attention_scores);
  EXPECT_EQ(role_of(unfused, "attention_values"), OpRole::attention_scores);
  const auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
  const StageWork& w = plan.stages[1];
  EXPECT_EQ(role_of(w.backward_input, "attention_scores_dgrad2"), OpRole::attention_scores);
  EXPECT_EQ(role_of(w.backward_input, "combine_unpermute_bwd"), OpRole::routed_expert);
  EXPECT_EQ(role_of(w.backward_weight, "experts_up_wgrad"), OpRole::routed_expert);
  for (const auto& o : w.backward_weight) EXPECT_NE(o.role, OpRole::attention_scores) << o.name;
  EXPECT_EQ(role_of(w.recompute, "kv_up"), OpRole::mla_up_projection);
  EXPECT_EQ(role_of(w.recompute, "attention_values"), OpRole::attention_scores);
  for (const auto& o : w.recompute)
    EXPECT_TRUE(o.op_class == OpClass::memory_bound || o.role == OpRole::attention_scores ||
                o.role == OpRole::mla_up_projection)
        << o.name;
  // The MTP block is a transformer layer like the others: its up-projections are recomputed too,
  // and its routed-expert ops keep their role under the "mtp_" names.
  int with_mtp = 0;  // ranks holding the head (DualPipe: two)
  for (const auto& stage : plan.stages) {
    int up_recomputed = 0, routed = 0;
    for (const auto& o : stage.recompute) up_recomputed += o.name == "mtp_q_up" || o.name == "mtp_kv_up";
    for (const auto& o : stage.forward) routed += o.name.rfind("mtp_", 0) == 0 && o.role == OpRole::routed_expert;
    if (!stage.has_head) continue;
    ++with_mtp;
    EXPECT_EQ(up_recomputed, 2);
    EXPECT_EQ(routed, 6);  // dispatch permute, experts up / act / down quantise / down, combine
  }
  EXPECT_GT(with_mtp, 0);
}

TEST(LayerOps, ExpertsPerGpuSetsTheGroupedGemmWeights) {
  const auto m = find_model("deepseek-v3", "");
  Parallelism par;
  par.ep = 144;
  TrainingSettings t;
  t.precision = Precision::fp8;
  LayerOpsOptions two;
  two.experts_per_gpu = 2;  // 256 + 32 redundant over 144 GPUs
  auto up = [](const std::vector<Op>& ops) {
    return *std::find_if(ops.begin(), ops.end(), [](const Op& o) { return o.name == "experts_up"; });
  };
  const Op with_two = up(layer_forward_ops(m, 5, par, t, 64, two));
  const Op default_ep = up(layer_forward_ops(m, 5, par, t, 64));  // 256 / 144 experts
  // gate and up of one expert: 2 x 2048 x 7168 FP8 weights.
  EXPECT_NEAR(with_two.bytes - default_ep.bytes, (2 - 256.0 / 144) * 2 * 2048 * 7168, 1e-3);
  EXPECT_DOUBLE_EQ(with_two.flops, default_ep.flops);
}

namespace {
// Llama 3 8B on 64 H100s under ZeRO-3 / FSDP: every DP rank holds 1/64 of each layer.
Layout llama8b_zero3() {
  Layout s;
  s.model = find_model("llama3-8b", "");
  s.cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  s.cluster.gpus = 64;
  s.par.dp = 64;
  s.par.zero_stage = 3;
  s.train.global_batch_seqs = 512;
  s.train.seq_len = 8192;
  s.train.tokens = 1e12;
  return s;
}

const Comm* find_comm(const TrainingPlan& plan, const std::string& name) {
  for (const auto& c : plan.comms)
    if (c.name == name) return &c;
  return nullptr;
}
}  // namespace

TEST(TrainingPlan, Zero3GathersEveryLayerInEveryMicroBatch) {
  auto s = llama8b_zero3();
  const auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu("H100"), "s.json");
  const auto* fwd = find_comm(plan, "dp_param_all_gather_fwd");
  const auto* bwd = find_comm(plan, "dp_param_all_gather_bwd");
  const auto* rs = find_comm(plan, "dp_grad_reduce_scatter");
  ASSERT_TRUE(fwd && bwd && rs);
  // 32 blocks + the root unit (embedding, final norm, head), each gathered once per pass.
  EXPECT_DOUBLE_EQ(fwd->per_micro_batch, 33);
  EXPECT_EQ(fwd->pass, CommPass::forward);
  EXPECT_EQ(bwd->pass, CommPass::backward);
  EXPECT_EQ(rs->pass, CommPass::backward);
  EXPECT_EQ(fwd->per_step, 0);
  // The gathers move bf16 weights, the reduce-scatters fp32 gradients: all 8B parameters per pass.
  const double params = plan.stages[0].params;
  EXPECT_NEAR(fwd->bytes * fwd->per_micro_batch, 2 * params, 1e-6 * params);
  EXPECT_NEAR(rs->bytes * rs->per_micro_batch, 4 * params, 1e-6 * params);
  EXPECT_EQ(find_comm(plan, "dp_param_all_gather"), nullptr);  // no per-step gather under ZeRO-3
}

TEST(TrainingPlan, Zero3KeptWeightsSaveTheBackwardGatherButCostMemory) {
  auto s = llama8b_zero3();
  const auto resharded = plan_training(s.model, s.par, s.train, s.cluster, find_gpu("H100"), "s.json");
  s.train.zero3_reshard_after_forward = false;  // Llama 3 Sec 3.3.2
  const auto kept = plan_training(s.model, s.par, s.train, s.cluster, find_gpu("H100"), "s.json");
  EXPECT_NE(find_comm(resharded, "dp_param_all_gather_bwd"), nullptr);
  EXPECT_EQ(find_comm(kept, "dp_param_all_gather_bwd"), nullptr);
  // Resharded: the sharded weights plus two gathered units; kept: every unit gathered.
  const double params = resharded.stages[0].params;
  EXPECT_NEAR(resharded.memory.weights, 2 * params / 64 + 2 * params * 2 / 33, 1e-6 * params);
  EXPECT_NEAR(kept.memory.weights, 2 * params / 64 + 2 * params, 1e-6 * params);
}

TEST(TrainingPlan, CommSmsMustLeaveSmsForCompute) {
  auto s = deepseek_v3();
  s.train.comm_sms = 132;  // all of an H800's SMs
  EXPECT_NE(infeasible(s).find("$.training.comm_sms"), std::string::npos) << infeasible(s);
  s.train.comm_sms = 20;
  EXPECT_EQ(infeasible(s), "");
}

TEST(LayerOps, DenseGemmsCarryTheShapeTheirFlopsCountAndTheirGradientsTransposeIt) {
  // Every dense GEMM a plan prices by tiles must solve the problem its FLOPs count, forward and
  // backward, or the tile model would price a different GEMM than the FLOP accounting.
  Layout s = deepseek_v3();
  for (const AttentionKernel kernel : {AttentionKernel::flash, AttentionKernel::unfused}) {
    s.train.attention_kernel = kernel;
    const auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
    int shaped = 0;
    for (const auto& stage : plan.stages)
      for (const auto* ops : {&stage.forward, &stage.backward_input, &stage.backward_weight, &stage.recompute})
        for (const Op& o : *ops) {
          if (o.op_class != OpClass::gemm) {
            EXPECT_FALSE(o.shape.known()) << o.name;
            continue;
          }
          ASSERT_TRUE(o.shape.known()) << o.name;
          EXPECT_DOUBLE_EQ(o.shape.flops(), o.flops) << o.name;
          ++shaped;
        }
    EXPECT_GT(shaped, 100);
  }
  // Flash attention states its shape, and its backward keeps it: MLA's 192 / 128 head dims as 160.
  s.train.attention_kernel = AttentionKernel::flash;
  const auto flash = plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
  int attention_ops = 0;
  for (const auto* ops : {&flash.stages[1].forward, &flash.stages[1].backward_input})
    for (const Op& o : *ops)
      if (o.op_class == OpClass::attention || o.op_class == OpClass::attention_backward) {
        EXPECT_EQ(o.attention.seq_len, 4096) << o.name;
        EXPECT_EQ(o.attention.head_dim, 160) << o.name;
        EXPECT_TRUE(o.attention.causal) << o.name;
        ++attention_ops;
      }
  EXPECT_GT(attention_ops, 1);
  // Under context parallelism a kernel call is one ring step: seq / cp over seq / cp, mostly
  // unmasked blocks.
  Parallelism cp2;
  cp2.cp = 2;
  for (const Op& o : layer_forward_ops(s.model, 5, cp2, s.train, 2048))
    if (o.op_class == OpClass::attention) {
      EXPECT_EQ(o.attention.seq_len, 2048);
      EXPECT_FALSE(o.attention.causal);
    }
  // C (m x n) = A (m x k) B (k x n): dA is m x k over n, dB is k x n over m.
  Parallelism one;
  TrainingSettings t;
  const auto forward = layer_forward_ops(s.model, 5, one, t, 4096);
  const auto o_proj = std::find_if(forward.begin(), forward.end(), [](const Op& o) { return o.name == "o_proj"; });
  ASSERT_NE(o_proj, forward.end());
  EXPECT_EQ(o_proj->shape.m, 4096);
  EXPECT_EQ(o_proj->shape.n, 7168);
  EXPECT_EQ(o_proj->shape.k, 128 * 128);
  const auto plan = plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
  for (const Op& o : plan.stages[1].backward_input)
    if (o.name == "o_proj_dgrad") {
      EXPECT_EQ(o.shape.n, 128 * 128) << "dA = dC B^T: n is the forward's k";
    }
  for (const Op& o : plan.stages[1].backward_weight)
    if (o.name == "o_proj_wgrad") {
      EXPECT_EQ(o.shape.k, 4096) << "dB = A^T dC: k is the forward's m (tokens)";
    }
}

namespace {
// Mixtral 8x7B (HuggingFace config) on 1024 H100s as Megatron-LM runs it: TP4 with sequence
// parallelism, PP4, DP64, the 8 experts over EP8.
Layout mixtral_tp4() {
  Layout s;
  s.model = import_hf_config(std::string(GWSIM_TEST_DATA_DIR) + "/mixtral-8x7b-v0.1-config.json", "mixtral");
  s.cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  s.par.tp = 4;
  s.par.sp = true;
  s.par.pp = 4;
  s.par.dp = 64;
  s.par.ep = 8;
  s.par.zero_stage = 1;
  s.train.global_batch_seqs = 1024;
  s.train.seq_len = 4096;
  s.train.tokens = 1e12;
  return s;
}

TrainingPlan plan_of(const Layout& s) {
  return plan_training(s.model, s.par, s.train, s.cluster, find_gpu(s.cluster.gpu_name), "s.json");
}

double summed(const std::vector<Op>& ops, const std::string& name, double Op::*field) {
  double total = 0;
  for (const auto& o : ops)
    if (o.name == name) total += o.*field;
  return total;
}
}  // namespace

TEST(ExpertTensorParallelism, DefaultsToTpUnderMegatronAndToWholeExpertsElsewhere) {
  auto s = mixtral_tp4();
  EXPECT_EQ(plan_of(s).par.expert_tp, 4);  // Megatron-Core: --expert-tensor-parallel-size = TP
  s.train.framework = Framework::deepspeed;
  EXPECT_EQ(plan_of(s).par.expert_tp, 1);
  s.train.framework = Framework::megatron;
  s.par.expert_tp = 2;  // stated: kept
  EXPECT_EQ(plan_of(s).par.expert_tp, 2);
}

TEST(ExpertTensorParallelism, SplitsExpertWeightsNotTheirFlopsAndGathersTheRoutedTokens) {
  auto s = mixtral_tp4();
  s.par.expert_tp = 1;
  const auto whole = plan_of(s);
  s.par.expert_tp = 4;
  const auto split = plan_of(s);
  const StageWork &w1 = whole.stages[1], &w4 = split.stages[1];
  ASSERT_EQ(w1.layers, 8);
  // Each rank computes a quarter of each expert's width for four times the tokens.
  for (const char* gemm : {"experts_up", "experts_down"})
    EXPECT_NEAR(summed(w4.forward, gemm, &Op::flops), summed(w1.forward, gemm, &Op::flops),
                1e-9 * summed(w1.forward, gemm, &Op::flops))
        << gemm;
  // Routed-expert parameters per GPU: the 8 layers' experts over EP8, then over expert_tp 4.
  const double experts = whole.params.moe_routed_per_layer * 8 / 8;
  EXPECT_NEAR(w1.expert_params, experts, 1e-6 * experts);
  EXPECT_NEAR(w4.expert_params, experts / 4, 1e-6 * experts);
  EXPECT_LT(split.memory.total(), whole.memory.total());

  EXPECT_EQ(find_comm(whole, "etp_all_gather"), nullptr);
  EXPECT_EQ(find_comm(whole, "etp_reduce_scatter"), nullptr);
  const Comm* gather = find_comm(split, "etp_all_gather");
  const Comm* scatter = find_comm(split, "etp_reduce_scatter");
  ASSERT_TRUE(gather && scatter);
  EXPECT_EQ(gather->kind, CommKind::ep);
  EXPECT_EQ(gather->group, 4);
  EXPECT_EQ(gather->link, LinkClass::scaleup);
  // The gathered routed tokens in bf16: 4 ranks x (4096 / 4 tokens) x top-2 x hidden 4096.
  EXPECT_DOUBLE_EQ(gather->bytes, 2.0 * 4 * (4096 / 4) * 2 * 4096);
  EXPECT_DOUBLE_EQ(scatter->bytes, gather->bytes);
  EXPECT_DOUBLE_EQ(gather->per_micro_batch, 8 * 2);  // forward and backward of 8 MoE layers
  // Each copy of the experts spans ep x expert_tp = 32 ranks: 256 / 32 = 8 of them share gradients.
  const Comm* dp_experts = find_comm(split, "dp_experts_grad_reduce_scatter");
  ASSERT_NE(dp_experts, nullptr);
  EXPECT_EQ(dp_experts->group, 8);
  EXPECT_EQ(find_comm(whole, "dp_experts_grad_reduce_scatter")->group, 32);
}

TEST(ExpertTensorParallelism, RefusesLayoutsMegatronRefuses) {
  auto s = mixtral_tp4();
  s.par.expert_tp = 3;
  EXPECT_NE(infeasible(s).find("$.parallelism.expert_tp: expected a divisor of tp 4, got 3"), std::string::npos)
      << infeasible(s);

  s = mixtral_tp4();
  s.par.sp = false;  // default expert_tp 4 needs the token shards of sequence parallelism
  EXPECT_NE(infeasible(s).find("$.parallelism.sp: expected true: experts split over expert_tp 4 ranks"),
            std::string::npos)
      << infeasible(s);
  s.par.expert_tp = 1;  // whole experts: fine without
  EXPECT_EQ(infeasible(s), "");

  s = mixtral_tp4();
  s.cluster.gpus = 16;
  s.par.pp = 1;
  s.par.dp = 4;  // 16 ranks cannot hold an EP8 x expert-TP4 copy of the experts
  EXPECT_NE(infeasible(s).find("$.parallelism.ep: ep*expert_tp = 8*4 does not divide dp*tp*cp = 16"), std::string::npos)
      << infeasible(s);

  Layout dense = llama8b_zero3();
  dense.par.tp = 4;
  dense.par.dp = 16;
  dense.par.expert_tp = 2;
  EXPECT_NE(infeasible(dense).find("$.parallelism.expert_tp: expert_tp 2 but model"), std::string::npos)
      << infeasible(dense);
}

TEST(ExpertLoad, TheBusiestRanksExpertWorkSetsThePaceNotTheFlopCounts) {
  auto s = mixtral_tp4();
  const auto balanced = plan_of(s);
  s.train.moe_hottest_rank_load = 1.5;
  const auto skewed = plan_of(s);
  EXPECT_EQ(balanced.hottest_rank_load, 1);
  EXPECT_EQ(skewed.hottest_rank_load, 1.5);
  // The stage's ops are the busiest rank's: its expert GEMMs and routed-token passes carry 1.5x.
  const StageWork &b = balanced.stages[1], &k = skewed.stages[1];
  for (const char* gemm : {"experts_up", "experts_down"})
    EXPECT_NEAR(summed(k.forward, gemm, &Op::flops), 1.5 * summed(b.forward, gemm, &Op::flops),
                1e-9 * summed(b.forward, gemm, &Op::flops))
        << gemm;
  EXPECT_NEAR(summed(k.backward_weight, "experts_up_wgrad", &Op::flops),
              1.5 * summed(b.backward_weight, "experts_up_wgrad", &Op::flops),
              1e-9 * summed(b.backward_weight, "experts_up_wgrad", &Op::flops));
  EXPECT_NEAR(summed(k.forward, "dispatch_permute", &Op::bytes),
              1.5 * summed(b.forward, "dispatch_permute", &Op::bytes),
              1e-9 * summed(b.forward, "dispatch_permute", &Op::bytes));
  EXPECT_EQ(summed(k.forward, "router", &Op::flops), summed(b.forward, "router", &Op::flops));  // before routing
  // FLOP counts (MFU's numerator, hardware FLOPs) are the mean rank's: imbalance costs time only.
  EXPECT_EQ(skewed.flops_per_token.model_noncausal, balanced.flops_per_token.model_noncausal);
  EXPECT_EQ(skewed.flops_per_token.hardware, balanced.flops_per_token.hardware);
  // A second call replaces the load, it does not stack.
  auto again = skewed;
  set_hottest_rank_load(again, 1.5);
  EXPECT_EQ(summed(again.stages[1].forward, "experts_up", &Op::flops), summed(k.forward, "experts_up", &Op::flops));
}

TEST(ExpertLoad, RefusesLoadsNoRouterCanReach) {
  auto s = mixtral_tp4();
  s.train.moe_hottest_rank_load = 9;  // more than every routed token on one of 8 ranks
  EXPECT_NE(infeasible(s).find("$.training.moe_hottest_rank_load: expected at most ep = 8"), std::string::npos)
      << infeasible(s);
  Layout dense = llama8b_zero3();
  dense.train.moe_hottest_rank_load = 1.2;
  EXPECT_NE(infeasible(dense).find("$.training.moe_hottest_rank_load: model"), std::string::npos) << infeasible(dense);
}
