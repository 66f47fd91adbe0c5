// Scenario loading (strict, with overrides), the report's fields and determinism.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/report/report.h"

using namespace gwsim;

namespace {
std::string default_scenario() { return data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json"; }

std::string error_of(const std::vector<std::string>& overrides) {
  try {
    auto s = load_scenario(default_scenario(), overrides);
    run_training(s);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Scenario, EveryShippedScenarioRuns) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    auto run = run_training(load_scenario(entry.path().string()));
    EXPECT_GT(run.report["training"]["step_time_s"].get<double>(), 0) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 15);  // DeepSeek-V3 on H800 and H200, two Llama 3 405B, GPT-3 175B and the ten SC21 rows
}

TEST(Scenario, WithoutAProfileTheChipRunsWithItsBestEvidence) {
  // Measured on the chip beats derived from a measured sibling beats published.
  EXPECT_EQ(preferred_profile_name(find_gpu("H200-SXM")), "h200-sxm-measured");
  EXPECT_EQ(preferred_profile_name(find_gpu("H800-SXM")), "h800-sxm-derived");
  EXPECT_EQ(preferred_profile_name(find_gpu("A100-SXM-80GB")), "a100-sxm-80gb");
  // The H200 scenario names no profile: it runs with the measured one, the report says so, and the
  // resolved scenario names it so that the report's scenario re-runs the same.
  const auto h200 = load_scenario(data_dir() + "/scenarios/deepseek-v3-pretrain-1024xh200.json");
  EXPECT_EQ(h200.profile.kind, ProfileKind::measured);
  EXPECT_EQ(h200.resolved["profile"], "h200-sxm-measured");
  const auto report = run_training(h200).report;
  EXPECT_EQ(report["provenance"]["profile"]["kind"], "measured");
  EXPECT_EQ(report["provenance"]["profile"]["name"], h200.profile.name);
  // A chip with only a published profile keeps it.
  EXPECT_EQ(load_scenario(data_dir() + "/scenarios/megatron-sc21-1p7b-32xa100.json").profile.kind,
            ProfileKind::published);
}

TEST(Scenario, MisspeltKeyIsRefusedWithItsPath) {
  auto msg = error_of({"parallelism.tpp=2"});
  EXPECT_NE(msg.find("$.parallelism.tpp: unknown key (misspelt?)"), std::string::npos) << msg;
}

TEST(Scenario, WrongTypeAndImpossibleValues) {
  EXPECT_NE(error_of({"parallelism.pp=\"sixteen\""}).find("$.parallelism.pp: expected an integer"), std::string::npos);
  EXPECT_NE(error_of({"training.precision=fp6"}).find("$.training.precision: expected one of bf16|fp16|fp8"),
            std::string::npos);
  EXPECT_NE(error_of({"cluster=nowhere.json"}).find("nowhere.json"), std::string::npos);
  EXPECT_NE(error_of({"parallelism.ep=48"}).find("does not divide the 256 routed experts"), std::string::npos);
}

TEST(Scenario, UnknownGpuNamesTheCatalogue) {
  auto msg = error_of({"cluster.gpu=H900"});
  EXPECT_NE(msg.find("H900"), std::string::npos) << msg;
  EXPECT_NE(msg.find("H800-SXM"), std::string::npos) << msg;
}

TEST(Scenario, OverridesChangeTheRun) {
  auto base = run_training(load_scenario(default_scenario())).report;
  // 1F1B instead of DualPipe: a larger bubble, and the expert all-to-all no longer hidden.
  auto one_f =
      run_training(load_scenario(default_scenario(), {"parallelism.schedule=1f1b", "training.overlap.ep=false"}))
          .report;
  EXPECT_GT(one_f["training"]["breakdown_s"]["bubble"].get<double>(),
            base["training"]["breakdown_s"]["bubble"].get<double>());
  EXPECT_GT(one_f["training"]["step_time_s"].get<double>(), base["training"]["step_time_s"].get<double>());
  EXPECT_EQ(one_f["scenario"]["parallelism"]["schedule"], "1f1b");
  // A different GPU count through the cluster file reference.
  auto half = run_training(load_scenario(default_scenario(),
                                         {"cluster.gpus=1024", "parallelism.dp=64", "training.global_batch_seqs=7680"}))
                  .report;
  EXPECT_EQ(half["cluster"]["gpus"], 1024);
}

TEST(Report, HasTheDocumentedFields) {
  auto r = run_training(load_scenario(default_scenario())).report;
  EXPECT_EQ(r["schema"], "gwsim.report/1");
  EXPECT_EQ(r["provenance"]["backend"], "analytical");
  EXPECT_FALSE(r["provenance"]["profile"]["name"].get<std::string>().empty());
  for (const char* k :
       {"step_time_s", "tokens_per_s", "mfu", "model_tflops_per_gpu", "gpu_hours_per_trillion_tokens", "days"})
    EXPECT_TRUE(r["training"].contains(k)) << k;
  for (const char* k : {"compute", "bubble", "optimizer", "exposed_comm_ep", "exposed_comm_dp"})
    EXPECT_TRUE(r["training"]["breakdown_s"].contains(k)) << k;
  for (const char* k : {"weights", "gradients", "optimizer", "activations", "comm_buffers", "total"})
    EXPECT_TRUE(r["memory"]["per_gpu_gib"].contains(k)) << k;
  EXPECT_EQ(r["cluster"]["gpus"], 2048);
  EXPECT_GT(r["power"]["facility_mw"].get<double>(), r["power"]["it_mw"].get<double>());
  EXPECT_TRUE(r["warnings"].is_array());
  // The model's own name and the resolved model are in the report.
  EXPECT_EQ(r["scenario"]["model"]["name"], "DeepSeek-V3");
}

TEST(Report, BreakdownAddsUpToTheStep) {
  auto r = run_training(load_scenario(default_scenario())).report;
  double sum = 0;
  for (auto& [k, v] : r["training"]["breakdown_s"].items()) sum += v.get<double>();
  EXPECT_NEAR(sum, r["training"]["step_time_s"].get<double>(), 1e-3 * sum);
}

TEST(Report, SameScenarioSameBytes) {
  auto a = run_training(load_scenario(default_scenario())).report.dump(1);
  auto b = run_training(load_scenario(default_scenario())).report.dump(1);
  EXPECT_EQ(a, b);
}

TEST(Scenario, IntegersThatWouldWrapAreRefusedNotWrapped) {
  // Issue 12: 4294967296 became 0 (division by zero), 4294967297 gave the report of 1.
  EXPECT_NE(error_of({"parallelism.tp=4294967296"}).find("$.parallelism.tp: expected an integer from 1 to 16777216"),
            std::string::npos);
  EXPECT_NE(error_of({"parallelism.ep=4294967297"}).find("$.parallelism.ep: expected an integer from 1 to 16777216"),
            std::string::npos);
  EXPECT_NE(error_of({"cluster.gpus_per_node=4294967296"}).find("$.cluster.gpus_per_node: expected an integer from 1"),
            std::string::npos);
  // Each degree is in range, their product is not: refused before tp*cp*pp*dp overflows.
  EXPECT_NE(error_of({"parallelism.cp=65536", "parallelism.dp=65536"}).find("$.parallelism.dp: tp*cp*pp*dp reaches"),
            std::string::npos);
  EXPECT_NE(error_of({"training.global_batch_seqs=4294967296"})
                .find("$.training.global_batch_seqs: expected an integer from 1"),
            std::string::npos);
}

TEST(Scenario, UnboundedWorkIsRefusedBeforeItStarts) {
  // Issue 12: tokens 1e308 wrote null into the report; 2^32 sequences took 6 GB before any check.
  EXPECT_NE(error_of({"training.tokens=1e308"}).find("$.training.tokens: expected 0 or a magnitude"),
            std::string::npos);
  EXPECT_NE(
      error_of({"training.global_batch_seqs=16777216"}).find("$.training.global_batch_seqs: 131072 micro-batches"),
      std::string::npos)
      << error_of({"training.global_batch_seqs=16777216"});
}

TEST(Scenario, MalformedSetNamesFilePathAndTheSet) {
  const std::string file = default_scenario();
  EXPECT_EQ(error_of({"parallelism.tp"}), file + ": $: --set parallelism.tp: expected --set path.to.key=value");
  EXPECT_EQ(error_of({"parallelism..tp=2"}),
            file + ": $: --set parallelism..tp: empty key in the path: expected path.to.key=value");
  EXPECT_EQ(error_of({"parallelism.pp.x=1"}),
            file + ": $.parallelism.pp: --set parallelism.pp.x: expected an object here");
  // An invalid UTF-8 byte wrote the report and then died (issue 12).
  EXPECT_EQ(error_of({"notes=\xff"}), file + ": $: --set notes: expected valid UTF-8 text");
  // A deep or huge --set value is held to the limits of a file and of free-form fields.
  EXPECT_NE(error_of({"notes=" + std::string(3000, '[') + std::string(3000, ']')}).find("nested deeper than 32 levels"),
            std::string::npos);
  EXPECT_EQ(error_of({"notes=[[[[[1]]]]]"}), file + ": $.notes: nested deeper than 4 levels: expected at most 4");
  EXPECT_NE(error_of({R"(parallelism={"tp": 1, "tp": 2})"}).find("duplicate key"), std::string::npos);
}

TEST(Scenario, UnknownNamesNameTheirPathAndListTheValidOnes) {
  const std::string file = default_scenario();
  EXPECT_NE(
      error_of({"profile=h900"}).find(file + ": $.profile: unknown profile \"h900\": expected a .json path or one of"),
      std::string::npos)
      << error_of({"profile=h900"});
  EXPECT_NE(error_of({"cluster=nowhere"}).find(file + ": $.cluster: unknown cluster \"nowhere\": expected one of"),
            std::string::npos)
      << error_of({"cluster=nowhere"});
  EXPECT_NE(error_of({"cluster.file=/nonexistent/c.json"}).find(file + ": $.cluster.file: cannot read"),
            std::string::npos)
      << error_of({"cluster.file=/nonexistent/c.json"});
}

TEST(Scenario, AReportThatIsNotFiniteIsRefusedNotWrittenAsNull) {
  nlohmann::json report = {{"training", {{"days", std::numeric_limits<double>::infinity()}}}};
  try {
    report_text(report, "s.json");
    FAIL() << "an infinite figure was accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(
        e.what(),
        "s.json: $.training.days: the result is not finite: expected inputs within the limits of docs/formats.md");
  }
}
