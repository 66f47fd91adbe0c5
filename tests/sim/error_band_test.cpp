// The error band of every training report: the recorded errors of validated runs in the scenario's
// region (same GPU family, same parallelism kinds, MoE or dense), or "outside" with the nearest.
#include <gtest/gtest.h>

#include "gwsim/common/paths.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"
#include "gwsim/sim/validation/error_band.h"

using namespace gwsim;

namespace {

RecordedRow run_row(const std::string& id, const ValidationRegion& region, const std::string& sense, double analytical,
                    double des, bool in_sample = false) {
  RecordedRow r;
  r.case_id = id;
  r.metric = sense == "throughput" ? "tflops" : "step_time_s";
  r.kind = "training";
  r.analytical_error_pct = analytical;
  r.des_error_pct = des;
  r.in_sample = in_sample;
  r.speed_sense = sense;
  r.region = region;
  return r;
}

const ValidationRegion kHopperMoe{"Hopper", {"pp", "ep", "dp"}, "moe"};
const ValidationRegion kHopperDense{"Hopper", {"tp", "pp", "dp"}, "dense"};
const ValidationRegion kAmpereDense{"Ampere", {"tp", "pp", "dp"}, "dense"};

ValidationRecord synthetic_record() {
  ValidationRecord rec;
  rec.rows = {run_row("moe-a", kHopperMoe, "step_time", -20, -21), run_row("moe-b", kHopperMoe, "step_time", -10, -12),
              // a rate 25% high is a step time 20% short
              run_row("dense-a", kHopperDense, "throughput", 25, 30),
              // in-sample: its figure built the profile, so it cannot vouch for the model
              run_row("dense-fitted", kHopperDense, "step_time", 0, 0, true),
              run_row("ampere-a", kAmpereDense, "throughput", 10, 10)};
  RecordedRow kernel;  // not a training run: never in a training band
  kernel.case_id = "kernel";
  kernel.metric = "tflops";
  kernel.kind = "kernel";
  kernel.analytical_error_pct = -80;
  rec.rows.push_back(kernel);
  return rec;
}

}  // namespace

TEST(ErrorBand, SameRegionRowsWithTheRunsBackend) {
  const auto rec = synthetic_record();
  auto band = training_error_band(rec, kHopperMoe, "analytical");
  EXPECT_FALSE(band["outside"].get<bool>());
  EXPECT_EQ(band["similar_runs"], 2);
  EXPECT_EQ(band["min_pct"], -20.0);
  EXPECT_EQ(band["max_pct"], -10.0);
  EXPECT_EQ(band["rows"], nlohmann::json({"moe-a | step_time_s", "moe-b | step_time_s"}));
  band = training_error_band(rec, kHopperMoe, "des");
  EXPECT_EQ(band["min_pct"], -21.0);
  EXPECT_EQ(band["max_pct"], -12.0);
  EXPECT_EQ(training_error_band(rec, kHopperMoe, "simgrid")["min_pct"], -21.0);  // simgrid: des's record
  EXPECT_EQ(error_band_line(band), "similar validated runs: -21.0%..-12.0% step time (n=2: Hopper, pp+ep+dp, MoE)");
}

TEST(ErrorBand, RatesBecomeStepTimeAndInSampleRowsDoNotCount) {
  const auto band = training_error_band(synthetic_record(), kHopperDense, "analytical");
  EXPECT_EQ(band["similar_runs"], 1);
  EXPECT_EQ(band["min_pct"], -20.0);
  EXPECT_EQ(band["max_pct"], -20.0);
}

TEST(ErrorBand, OutsideEveryRegionNamesTheNearest) {
  // Blackwell with Hopper's MoE layout: one attribute (the family) from the MoE rows.
  const ValidationRegion blackwell_moe{"Blackwell", {"pp", "ep", "dp"}, "moe"};
  const auto band = training_error_band(synthetic_record(), blackwell_moe, "analytical");
  EXPECT_TRUE(band["outside"].get<bool>());
  EXPECT_EQ(band["similar_runs"], 0);
  EXPECT_EQ(band["nearest"]["region"], "Hopper, pp+ep+dp, MoE");
  EXPECT_EQ(band["nearest"]["differences"], 1);
  EXPECT_EQ(band["nearest"]["similar_runs"], 2);
  EXPECT_EQ(error_band_line(band),
            "outside every validated region (Blackwell, pp+ep+dp, MoE); nearest Hopper, pp+ep+dp, MoE: -20.0%..-10.0% "
            "step time (n=2)");
  // A different layout on a validated family is outside too: Hopper, dense, with CP.
  const ValidationRegion hopper_cp{"Hopper", {"tp", "pp", "cp", "dp"}, "dense"};
  const auto cp = training_error_band(synthetic_record(), hopper_cp, "analytical");
  EXPECT_TRUE(cp["outside"].get<bool>());
  EXPECT_EQ(cp["nearest"]["region"], "Hopper, tp+pp+dp, dense");
}

TEST(ErrorBand, ShippedDeepSeekScenarioHasItsTwoPublishedRuns) {
  // DeepSeek-V3 on 2048 H800s: the V3 technical report's GPU-hours and ISCA'25's step time are the
  // two validated runs of its region (Hopper, PP16 x EP64 x DP128, MoE).
  const auto run = run_training(load_scenario(data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json"));
  const auto& band = run.report["error_band"];
  EXPECT_FALSE(band["outside"].get<bool>());
  EXPECT_EQ(band["region"], "Hopper, pp+ep+dp, MoE");
  EXPECT_EQ(band["similar_runs"], 2);
  EXPECT_EQ(band["rows"], nlohmann::json({"dsv3-pretrain-2048xH800 | gpu_hours_per_trillion_tokens",
                                          "dsv3-step-breakdown-mpft-vs-mrft | step_time_s"}));
  const auto record = load_validation_record(default_validation_record_path());
  EXPECT_EQ(band["min_pct"].get<double>(),
            std::round(10 * record.find("dsv3-step-breakdown-mpft-vs-mrft", "step_time_s")->analytical_error_pct) / 10);
  EXPECT_LE(band["min_pct"].get<double>(), band["max_pct"].get<double>());
  EXPECT_NE(format_summary(run.report).find("similar validated runs: "), std::string::npos);
}

TEST(ErrorBand, UnvalidatedGpuFamilySaysOutside) {
  // No published run on Blackwell is validated: the GB200 campus scenario says so.
  const auto run = run_training(load_scenario(data_dir() + "/scenarios/gigawatt-gb200-nvl72.json"));
  const auto& band = run.report["error_band"];
  EXPECT_TRUE(band["outside"].get<bool>());
  EXPECT_EQ(band["similar_runs"], 0);
  EXPECT_EQ(band["region"].get<std::string>().rfind("Blackwell, ", 0), 0u);
  EXPECT_NE(format_summary(run.report).find("outside every validated region (Blackwell"), std::string::npos);
}

// Serving reports read the validated serving deployments (kind "inference" rows with a region) as
// errors of the GPUs a load needs: a per-node throughput e% high means 100 / (100 + e) - 1 fewer
// GPUs; a node count is taken as it is. Training rows never enter a serving band, nor the reverse.
TEST(ErrorBand, ServingRowsAsGpusNeeded) {
  ValidationRecord rec = synthetic_record();
  const ValidationRegion deployment{"Hopper", {"ep", "dp"}, "moe"};
  auto serving_row = [&](const std::string& metric, const std::string& sense, double error) {
    RecordedRow r;
    r.case_id = "day";
    r.metric = metric;
    r.kind = "inference";
    r.analytical_error_pct = error;
    r.in_sample = false;
    r.speed_sense = sense;
    r.region = deployment;
    return r;
  };
  rec.rows.push_back(serving_row("tokens per node", "throughput", 25));  // 20% fewer GPUs
  rec.rows.push_back(serving_row("nodes", "resources", -30));
  const auto band = serving_error_band(rec, deployment);
  EXPECT_FALSE(band["outside"].get<bool>());
  EXPECT_EQ(band["similar_runs"], 2);
  EXPECT_EQ(band["min_pct"].get<double>(), -30);
  EXPECT_EQ(band["max_pct"].get<double>(), -20);
  EXPECT_EQ(error_band_line(band), "similar validated runs: -30.0%..-20.0% GPUs needed (n=2: Hopper, ep+dp, MoE)");
  // A dense TP deployment is outside; its nearest region is the MoE one, never a training row.
  const auto dense = serving_error_band(rec, ValidationRegion{"Hopper", {"tp"}, "dense"});
  EXPECT_TRUE(dense["outside"].get<bool>());
  EXPECT_EQ(dense["nearest"]["region"], "Hopper, ep+dp, MoE");
  EXPECT_EQ(training_error_band(rec, deployment, "analytical")["similar_runs"], 0);
  // The shipped DeepSeek serving scenario sits in the Day-6 region, and its summary says so.
  const auto report =
      run_serving(load_serving_scenario(data_dir() + "/scenarios/serving/deepseek-v3-serving-h800.json"));
  EXPECT_EQ(report["error_band"]["similar_runs"], 4);
  EXPECT_NE(format_serving_summary(report).find("GPUs needed (n=4: Hopper, ep+dp, MoE)"), std::string::npos);
}
