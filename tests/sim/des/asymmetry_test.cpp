// Breaking symmetry on purpose (scenario "asymmetry"): a straggler, a degraded or failed link,
// skewed expert routing. Each costs what a synchronous step must pay for it, nothing when neutral,
// and bad input is refused with its JSON path.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/engines/des/asymmetry.h"
#include "gwsim/sim/report/report.h"

using namespace gwsim;

namespace {

// Llama-3 8B on 64 H100s (8 nodes of 8), TP8 PP2 DP4: TP inside a node, PP and DP over the NICs.
Scenario small(std::vector<std::string> more = {}) {
  std::vector<std::string> o = {"model=llama3-8b",
                                "cluster.file=generic-h100-1024",
                                "cluster.gpus=64",
                                "parallelism.tp=8",
                                "parallelism.pp=2",
                                "parallelism.dp=4",
                                "training.global_batch_seqs=64",
                                "training.recompute=selective",
                                "training.attention_kernel=flash"};
  o.insert(o.end(), more.begin(), more.end());
  return load_scenario(data_dir() + "/scenarios/megatron-sc21-3p6b-64xa100.json", o);
}

const nlohmann::json& asym(const TrainingRun& r) { return r.report["des"]["asymmetry"]; }

}  // namespace

TEST(Asymmetry, ZipfLoadOfTheBusiestRank) {
  // Uniform popularity: every rank gets the mean.
  EXPECT_DOUBLE_EQ(hottest_rank_load_zipf(256, 64, 0, 1, 8), 1.0);
  // Skew raises the busiest rank's load, more with a larger exponent, and never beyond ep.
  const double s05 = hottest_rank_load_zipf(256, 64, 0.5, 1, 8), s1 = hottest_rank_load_zipf(256, 64, 1.0, 1, 8);
  EXPECT_GT(s05, 1.0);
  EXPECT_GT(s1, s05);
  EXPECT_LE(s1, 64.0);
  // Seeded: the same seed places the experts the same way.
  EXPECT_DOUBLE_EQ(hottest_rank_load_zipf(256, 64, 1.0, 7, 8), hottest_rank_load_zipf(256, 64, 1.0, 7, 8));
  // A token picks an expert at most once: with top_k = experts every expert gets exactly 1/k of
  // the slots however skewed the popularity, so every rank gets the mean.
  EXPECT_NEAR(hottest_rank_load_zipf(8, 8, 3.0, 1, 8), 1.0, 1e-12);
  // One expert per rank, top-1: the busiest rank holds the most popular expert, 1/H_n of the
  // tokens (harmonic number), so its load is n / H_n.
  double h = 0;
  for (int i = 1; i <= 4; ++i) h += 1.0 / i;
  EXPECT_NEAR(hottest_rank_load_zipf(4, 4, 1.0, 3, 1), 4 / h, 1e-12);
}

TEST(Asymmetry, StragglerCostsAtMostItsSlowdown) {
  auto straggler = [](int stage, double pct) {
    return run_training(small({fmt::format("asymmetry.straggler.stage={}", stage),
                               fmt::format("asymmetry.straggler.slowdown_pct={}", pct)}),
                        "des");
  };
  const auto r10 = straggler(1, 10), r50 = straggler(1, 50);
  const auto& a = asym(r10);
  const double c10 = a["cost_pct"].get<double>(), c50 = asym(r50)["cost_pct"].get<double>();
  std::cout << fmt::format("  straggler on stage 1: 10% slower -> {:+.2f}%, 50% slower -> {:+.2f}% ({})\n", c10, c50,
                           asym(r50)["breakdown_change_s"].dump());
  // Only compute slows: the step cannot grow by more than the slowdown, and it grows with it. The
  // slow stage's peers wait for it at PP transfers and at the DP reduction, so some of it shows
  // even where its stage was not the slowest.
  EXPECT_GT(c10, 0);
  EXPECT_LE(c10, 10.0 + 1e-6);
  EXPECT_GT(c50, c10);
  EXPECT_LE(c50, 50.0 + 1e-6);
  EXPECT_FALSE(a["applied"].empty());
}

TEST(Asymmetry, DegradedAndFailedNic) {
  const auto sym = run_training(small(), "des");
  const auto half =
      run_training(small({"asymmetry.degraded_link.link=nic", "asymmetry.degraded_link.capacity_pct=50"}), "des");
  const auto failed =
      run_training(small({"asymmetry.degraded_link.link=nic", "asymmetry.degraded_link.failed=true"}), "des");
  const double c_half = asym(half)["cost_pct"].get<double>(), c_failed = asym(failed)["cost_pct"].get<double>();
  std::cout << fmt::format("  NIC at 50%: {:+.2f}%, NIC failed (PXN via a peer): {:+.2f}%\n", c_half, c_failed);
  // The baseline the cost is measured against is the symmetric run itself.
  EXPECT_DOUBLE_EQ(asym(half)["symmetric_step_time_s"].get<double>(),
                   sym.report["training"]["step_time_s"].get<double>());
  // Its DP ring and PP transfers cross that NIC: the step slows, and the time goes to exposed
  // communication, not compute.
  EXPECT_GT(c_half, 0.1);
  EXPECT_FALSE(asym(half)["breakdown_change_s"].contains("compute"));
  // A failed NIC shares a peer's: at least as bad as the NIC at half speed (both NICs at half).
  EXPECT_GE(c_failed, c_half - 1e-9);
}

TEST(Asymmetry, NeutralSettingsCostNothing) {
  // A stated busiest-rank load of 1 is balanced routing: the same step, to the last digit.
  const auto path = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  const auto r = run_training(load_scenario(path, {"asymmetry.expert_routing.hottest_rank_load=1"}), "des");
  EXPECT_EQ(asym(r)["cost_s_per_step"].get<double>(), 0.0);
}

TEST(Asymmetry, SkewedRoutingReplacesTheStatedLoad) {
  // The training setting's load is the plan's; an expert_routing asymmetry puts its own in place
  // of it (not on top): the skewed step is the same whatever the scenario stated.
  const auto path = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  const auto plain = run_training(load_scenario(path, {"asymmetry.expert_routing.hottest_rank_load=1.6"}), "des");
  const auto stated = run_training(
      load_scenario(path, {"training.moe_hottest_rank_load=1.3", "asymmetry.expert_routing.hottest_rank_load=1.6"}),
      "des");
  EXPECT_EQ(asym(plain)["step_time_s"].get<double>(), asym(stated)["step_time_s"].get<double>());
  EXPECT_NE(asym(plain)["symmetric_step_time_s"].get<double>(), asym(stated)["symmetric_step_time_s"].get<double>());
}

TEST(Asymmetry, SkewedExpertsSlowDeepSeekV3) {
  const auto path = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  const auto r = run_training(load_scenario(path, {"asymmetry.expert_routing.zipf_exponent=1"}), "des");
  const auto& a = asym(r);
  std::cout << fmt::format("  DeepSeek-V3 Zipf(1) experts: step {} s vs {} s ({:+.1f}%)\n  {}\n",
                           a["step_time_s"].get<double>(), a["symmetric_step_time_s"].get<double>(),
                           a["cost_pct"].get<double>(), a["applied"][0].get<std::string>());
  EXPECT_GT(a["cost_pct"].get<double>(), 1.0);
  // The busiest rank's expert GEMMs and its all-to-all both carry more.
  EXPECT_GT(a["breakdown_change_s"]["compute"].get<double>(), 0);
  // Deterministic: the seed places the experts.
  const auto again = run_training(load_scenario(path, {"asymmetry.expert_routing.zipf_exponent=1"}), "des");
  EXPECT_EQ(r.report.dump(), again.report.dump());
}

TEST(Asymmetry, BadInputNamesThePath) {
  auto expect_error = [](std::vector<std::string> o, const std::string& path, const std::string& backend = "des") {
    try {
      run_training(small(std::move(o)), backend);
      ADD_FAILURE() << "accepted: " << path;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  expect_error({"asymmetry.straggler.stage=2", "asymmetry.straggler.slowdown_pct=10"}, "$.asymmetry.straggler.stage");
  expect_error({"asymmetry.straggler.slowdown_pct=-5"}, "$.asymmetry.straggler.slowdown_pct");
  expect_error({"asymmetry.degraded_link.link=nic", "asymmetry.degraded_link.capacity_pct=0"},
               "$.asymmetry.degraded_link.capacity_pct");
  expect_error({"asymmetry.degraded_link.link=nvlink", "asymmetry.degraded_link.failed=true"},
               "$.asymmetry.degraded_link.failed");
  expect_error({"asymmetry.degraded_link.link=pcie", "asymmetry.degraded_link.capacity_pct=50"},
               "$.asymmetry.degraded_link.link");
  expect_error({"asymmetry.stragler.stage=0"}, "$.asymmetry.stragler");
  expect_error({"asymmetry.expert_routing.zipf_exponent=1"}, "$.asymmetry.expert_routing");  // dense model
  expect_error({"asymmetry.straggler.slowdown_pct=10"}, "$.asymmetry", "analytical");
}
