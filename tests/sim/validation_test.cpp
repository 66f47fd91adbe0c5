// The published training cases as tests: each predicted figure within 15% of the published one.
// A case the model misses is listed, with its cause, in data/validation_known_misses.json; this test
// then checks that it still misses, so the list cannot go stale in either direction.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/validation.h"

using namespace gwsim;

namespace {

constexpr double kTolerancePct = 15;

// The rows the foundation issue names as tests.
bool is_required(const ValidationRow& r) {
  if (r.case_id == "dsv3-pretrain-2048xH800") return r.metric == "gpu_hours_per_trillion_tokens";
  if (r.case_id == "dsv3-step-breakdown-mpft-vs-mrft") return r.metric == "step_time_s";
  if (r.case_id.rfind("llama3-405b-8k-", 0) == 0) return r.metric == "model_tflops_per_gpu";
  if (r.case_id.rfind("megatron-sc21-weak-scaling", 0) == 0) return true;
  if (r.case_id == "dsv3-kv-cache-and-train-flops-per-token") return true;
  return r.case_id.rfind("spec-", 0) == 0;
}

std::string key(const ValidationRow& r) { return r.case_id + " | " + r.metric; }

}  // namespace

TEST(Validation, PublishedCasesWithinFifteenPercent) {
  std::vector<std::string> skipped;
  auto rows = run_validation(shared_dir() + "/validation/published_cases.json", &skipped);
  auto misses_doc = parse_json_file(std::string(GWSIM_TEST_DATA_DIR) + "/validation_known_misses.json");
  std::set<std::string> known;
  for (const auto& m : misses_doc["misses"]) known.insert(m["case"].get<std::string>() + " | " + m["metric"].get<std::string>());

  int required = 0;
  std::set<std::string> seen;
  for (const auto& r : rows) {
    if (!is_required(r)) continue;
    ++required;
    seen.insert(key(r));
    const bool within = std::fabs(r.error_pct()) <= kTolerancePct;
    if (known.count(key(r)))
      EXPECT_FALSE(within) << key(r) << " now within 15% (" << r.error_pct()
                           << "%): remove it from validation_known_misses.json";
    else
      EXPECT_TRUE(within) << key(r) << ": published " << r.published << ", predicted " << r.predicted << " ("
                          << r.error_pct() << "%)";
  }
  for (const auto& k : known) EXPECT_TRUE(seen.count(k)) << "known miss " << k << " is no longer a validation row";
  // DeepSeek-V3 (2 rows), Llama 3 (2), Megatron SC21 (10), KV-cache/FLOPs (5), spec rows.
  EXPECT_GE(required, 19);
}

TEST(Validation, DesAsCloseAsAnalyticalOnTrainingRows) {
  // The discrete-event step runs the same op times with the flows on the links and the schedule's
  // real order, so on the published training rows it must land as close to the published figure as
  // the closed form. Both share their dominant error (per-op speed), so they agree to within a point
  // or two; a larger gap means the simulation diverged (contention, bubbles or SMs modelled apart).
  // Today des is closer on 7 of the 16 rows and further by at most 1.4 points (Megatron 1.7B: its
  // DP all-reduce on the links exposes 0.07 s where the α-β cost exposes 0.10 s, a shorter step and
  // so a higher throughput, on a row both overestimate).
  constexpr double kSlackPctPoints = 1.5;
  const auto path = shared_dir() + "/validation/published_cases.json";
  const auto des = run_validation(path, nullptr, "des");
  const auto ana = run_validation(path, nullptr, "analytical");
  ASSERT_EQ(des.size(), ana.size());
  int training = 0;
  for (std::size_t i = 0; i < des.size(); ++i) {
    const bool is_training = des[i].case_id.rfind("dsv3-pretrain", 0) == 0 || des[i].metric == "step_time_s" ||
                             des[i].case_id.rfind("llama3-405b-8k-", 0) == 0 ||
                             des[i].case_id.rfind("megatron-sc21-weak-scaling", 0) == 0;
    if (!is_training) continue;
    ++training;
    EXPECT_LE(std::fabs(des[i].error_pct()), std::fabs(ana[i].error_pct()) + kSlackPctPoints)
        << key(des[i]) << ": des " << des[i].error_pct() << "%, analytical " << ana[i].error_pct() << "%";
  }
  EXPECT_GE(training, 16);
}
