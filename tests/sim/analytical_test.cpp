// The analytical backend's pricing of framework behaviour: ZeRO-3 / FSDP layer-wise traffic and the
// SMs communication kernels take, a scenario setting per framework.
#include <gtest/gtest.h>

#include <filesystem>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/input/scenario.h"

using namespace gwsim;

namespace {

struct Step {
  TrainingPlan plan;
  StepEstimate est;
};

// Llama 3 8B on 256 H100s (32 nodes: DP traffic crosses InfiniBand).
Step llama8b(int zero_stage, std::int64_t global_batch_seqs, std::int64_t seq_len, bool reshard = true) {
  const ModelSpec model = find_model("llama3-8b", "");
  ClusterSpec cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  cluster.gpus = 256;
  Parallelism par;
  par.dp = 256;
  par.zero_stage = zero_stage;
  TrainingSettings train;
  train.global_batch_seqs = global_batch_seqs;
  train.seq_len = seq_len;
  train.tokens = 1e12;
  train.zero3_reshard_after_forward = reshard;
  const GpuSpec gpu = find_gpu("H100");
  Step r{plan_training(model, par, train, cluster, gpu, "s.json"), {}};
  r.est = estimate_training_step(r.plan, cluster, gpu, preferred_profile_for(gpu));
  return r;
}

}  // namespace

TEST(Analytical, Zero3HidesItsGathersOnlyBehindEnoughCompute) {
  // A unit (one block) of Llama 3 8B is ~0.24B parameters: ~0.5 GB of bf16 weights to gather over
  // 32 nodes. One 8k-token sequence per GPU computes a block's forward (~3.6 TFLOP) for longer than
  // that gather takes, so the prefetched gathers hide but the first; one 1k-token sequence does
  // not (8x less compute for the same traffic), and the gathers bound the step.
  const Step long_seq = llama8b(3, 256, 8192), short_seq = llama8b(3, 256, 1024);
  EXPECT_LT(long_seq.est.breakdown_s.at("exposed_comm_dp"), 0.05 * long_seq.est.breakdown_s.at("compute"));
  EXPECT_GT(short_seq.est.breakdown_s.at("exposed_comm_dp"), 0.5 * short_seq.est.breakdown_s.at("compute"));
  // Where the traffic is exposed, keeping the gathered weights from the forward to the backward
  // (one gather less per unit) shortens the step.
  const Step kept = llama8b(3, 256, 1024, false);
  EXPECT_LT(kept.est.step_time_s, short_seq.est.step_time_s);
  // ZeRO-1 gathers and reduces once per step: at short sequences it is the faster layout.
  EXPECT_LT(llama8b(1, 256, 1024).est.step_time_s, short_seq.est.step_time_s);
}

TEST(Analytical, Zero3TrafficGrowsWithMicroBatchesUnlikeZero1) {
  // ZeRO-3 gathers and reduce-scatters in every micro-batch; ZeRO-1 once per step.
  const Step zero1_small = llama8b(1, 256, 1024), zero1_large = llama8b(1, 1024, 1024);
  const Step zero3_small = llama8b(3, 256, 1024), zero3_large = llama8b(3, 1024, 1024);
  const double dp1_small = zero1_small.est.breakdown_s.at("exposed_comm_dp"),
               dp1_large = zero1_large.est.breakdown_s.at("exposed_comm_dp");
  EXPECT_NEAR(dp1_large, dp1_small, 1e-9);
  EXPECT_NEAR(zero3_large.est.breakdown_s.at("exposed_comm_dp"), 4 * zero3_small.est.breakdown_s.at("exposed_comm_dp"),
              1e-6);
}

TEST(Analytical, CommSmsAreTheFrameworksChoice) {
  const std::string file = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  // DeepSeek's stack reserves 20 SMs for the all-to-all (DeepSeek-V3 Sec 3.2.2); under DualPipe
  // every kernel runs on the 112 left: 20/112 = 17.9 % slower.
  const Scenario deepseek = load_scenario(file);
  EXPECT_EQ(deepseek.training.framework, Framework::deepseek);
  EXPECT_EQ(deepseek.training.comm_sms, 20);
  EXPECT_NEAR(comm_sm_slowdown(deepseek.gpu, deepseek.training), 20.0 / 112, 1e-12);
  // Megatron-LM leaves the channel count to NCCL: nothing reserved unless the scenario says so.
  const Scenario megatron = load_scenario(file, {"training.framework=megatron"});
  EXPECT_EQ(megatron.training.comm_sms, 0);
  EXPECT_EQ(comm_sm_slowdown(megatron.gpu, megatron.training), 0);
  const Scenario stated = load_scenario(file, {"training.framework=megatron", "training.comm_sms=16"});
  EXPECT_EQ(stated.training.comm_sms, 16);
}

TEST(Analytical, ExpertAllToAllOverlapIsTheFrameworksChoice) {
  // The Llama scenario's overlap block leaves "ep" unset: the framework's default applies.
  const std::string file = data_dir() + "/scenarios/llama3-405b-8192xh100.json";
  // Megatron-Core's EP overlap is opt-in (overlap_moe_expert_parallel_comm); DeepSeek's DualPipe
  // always pairs one chunk's all-to-all with another's compute.
  EXPECT_FALSE(load_scenario(file).training.overlap_ep);
  EXPECT_FALSE(load_scenario(file, {"training.framework=deepspeed"}).training.overlap_ep);
  EXPECT_TRUE(load_scenario(file, {"training.framework=deepseek"}).training.overlap_ep);
  EXPECT_TRUE(load_scenario(file, {"training.overlap.ep=true"}).training.overlap_ep);
  EXPECT_FALSE(load_scenario(file, {"training.framework=deepseek", "training.overlap.ep=false"}).training.overlap_ep);
}

TEST(Analytical, ExpertTrafficEndsWithTheBusiestRank) {
  const std::string file = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  auto estimate = [&](const std::vector<std::string>& set) {
    const Scenario s = load_scenario(file, set);
    const auto plan = plan_training(s.model, s.parallelism, s.training, s.cluster, s.gpu, s.file);
    return estimate_training_step(plan, s.cluster, s.gpu, s.profile);
  };
  const auto balanced = estimate({}), skewed = estimate({"training.moe_hottest_rank_load=1.5"});
  auto comm = [](const StepEstimate& e, const std::string& name) {
    for (const auto& c : e.comms)
      if (c.name == name) return c;
    ADD_FAILURE() << name;
    return CommEstimate{};
  };
  // The busiest rank receives 1.5x the mean tokens: the all-to-all ends 1.5x later; the DP
  // traffic is everyone's own and does not change.
  EXPECT_NEAR(comm(skewed, "ep_dispatch").time_s, 1.5 * comm(balanced, "ep_dispatch").time_s, 1e-15);
  EXPECT_EQ(comm(skewed, "dp_grad_reduce_scatter").time_s, comm(balanced, "dp_grad_reduce_scatter").time_s);
  EXPECT_GT(skewed.breakdown_s.at("compute"), balanced.breakdown_s.at("compute"));
  EXPECT_GT(skewed.step_time_s, balanced.step_time_s);
}

TEST(Analytical, ProfilesRefuseSoftwareChoices) {
  nlohmann::json doc = nlohmann::json::parse(R"({"schema": "gwsim.profile/1", "name": "p", "gpu": "H100-SXM",
    "kind": "published", "source": "s", "comm_sms": 20, "ops": {}})");
  try {
    parse_profile(JsonObject(doc, "p.json", "$"));
    FAIL() << "comm_sms in a profile was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("p.json: $.comm_sms: not a hardware fact"), std::string::npos) << e.what();
  }
}

// The planner's fast path (PlanStages::critical: backward and recomputation ops for the critical
// stage only, top_ops off) must price exactly what `gwsim run` prices: the same critical stage, its
// same ops, and the same step, to the last bit. Every shipped training scenario, each with every
// recomputation setting (selective keeps some ops, full all, none none).
TEST(Analytical, PlannerFastPathPricesExactlyLikeTheFullPlan) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    for (const char* rc : {"none", "selective", "full"}) {
      Scenario s;
      try {
        s = load_scenario(entry.path().string(), {std::string("training.recompute=") + rc});
      } catch (const InputError&) {
        continue;  // e.g. memory that does not fit without recomputation
      }
      SCOPED_TRACE(entry.path().filename().string() + " recompute=" + rc);
      auto plan = [&](PlanStages stages) {
        return plan_training(s.model, s.parallelism, s.training, s.cluster, s.gpu, s.file, stages);
      };
      TrainingPlan full;
      try {
        full = plan(PlanStages::all);
      } catch (const InfeasibleError&) {
        EXPECT_THROW(plan(PlanStages::critical), InfeasibleError);  // memory is sized alike
        continue;
      }
      const auto fast = plan(PlanStages::critical);
      ASSERT_EQ(full.critical_stage, fast.critical_stage);
      EXPECT_EQ(full.flops_per_token.hardware, fast.flops_per_token.hardware);  // every stage counted alike
      const auto& a = full.stages[full.critical_stage];
      const auto& b = fast.stages[fast.critical_stage];
      using Pass = std::vector<Op> StageWork::*;
      for (Pass pass :
           {&StageWork::forward, &StageWork::backward_input, &StageWork::backward_weight, &StageWork::recompute}) {
        ASSERT_EQ((a.*pass).size(), (b.*pass).size());
        for (std::size_t i = 0; i < (a.*pass).size(); ++i) {
          EXPECT_EQ((a.*pass)[i].name, (b.*pass)[i].name);
          EXPECT_EQ((a.*pass)[i].flops, (b.*pass)[i].flops);
          EXPECT_EQ((a.*pass)[i].count, (b.*pass)[i].count);
        }
      }
      const auto e_full = estimate_training_step(full, s.cluster, s.gpu, s.profile);
      const auto e_fast = estimate_training_step(fast, s.cluster, s.gpu, s.profile, /*top_ops=*/false);
      EXPECT_EQ(e_full.step_time_s, e_fast.step_time_s);
      EXPECT_EQ(e_full.breakdown_s, e_fast.breakdown_s);
      EXPECT_EQ(e_full.bottleneck, e_fast.bottleneck);
      EXPECT_FALSE(e_full.top_ops.empty());
      EXPECT_TRUE(e_fast.top_ops.empty());
      ++checked;
    }
  }
  EXPECT_GE(checked, 30);  // 17 scenarios x 3 settings, less those that do not fit
}

TEST(Analytical, Fp8BlockScalesAreTheFrameworksChoiceAndCostTheMeasuredRate) {
  const std::string file = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  auto run = [&](const std::vector<std::string>& set) {
    const Scenario s = load_scenario(file, set);
    Step r{plan_training(s.model, s.parallelism, s.training, s.cluster, s.gpu, s.file), {}};
    r.est = estimate_training_step(r.plan, s.cluster, s.gpu, s.profile);
    return std::pair{s, r};
  };
  // DeepSeek's stack scales FP8 per 1x128 / 128x128 block; Transformer Engine's default recipe
  // (under Megatron) per tensor.
  const auto [block_s, block] = run({});
  const auto [tensor_s, tensor] = run({"training.fp8_scaling=tensor"});
  EXPECT_EQ(block_s.training.fp8_scaling, Fp8Scaling::block);
  EXPECT_EQ(load_scenario(file, {"training.framework=megatron"}).training.fp8_scaling, Fp8Scaling::tensor);
  // Only the dense FP8 GEMMs are marked; the expert GEMMs' entry is DeepGEMM's, block-scaled already.
  int dense = 0;
  for (const auto& o : block.plan.stages.front().forward) {
    EXPECT_EQ(o.block_scaled, o.op_class == OpClass::gemm && o.precision == Precision::fp8) << o.name;
    dense += o.block_scaled;
  }
  EXPECT_GT(dense, 0);
  // Each marked GEMM takes time / rate: the step's compute grows, by less than 1 / rate overall.
  const double rate = block_s.profile.op(OpClass::gemm, Precision::fp8).block_scaled->rate;
  EXPECT_LT(rate, 1.0);
  const double c_block = block.est.breakdown_s.at("compute"), c_tensor = tensor.est.breakdown_s.at("compute");
  EXPECT_GT(c_block, c_tensor);
  EXPECT_LT(c_block, c_tensor / rate);
  // A BF16 run has no FP8 scaling to choose.
  EXPECT_THROW(load_scenario(file, {"training.precision=bf16", "training.fp8_scaling=block"}), InputError);
}
