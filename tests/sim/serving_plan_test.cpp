// The serving planner (`gwsim plan --serving`, issue 15): a sized fleet meets its P99 SLOs when
// simulated again and one instance fewer does not; ranking; disaggregated pools; export rules;
// the same outcome for any thread count; bad input.
#include <gtest/gtest.h>

#include <string>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/planning/serving_plan.h"
#include "gwsim/sim/requests/simulator.h"

using namespace gwsim;

namespace {

const std::string& chat_file() {
  static const std::string f = data_dir() + "/scenarios/serving/llama3-70b-chat-requests-h100.json";
  return f;
}

// The shipped chat load on 8-GPU H100 instances, a shorter run.
nlohmann::json chat_plan(nlohmann::json search) {
  search["max_requests"] = 3000;
  return {{"schema", "gwsim.serving-plan/1"}, {"scenario", chat_file()}, {"search", search}};
}

ServingPlanOutcome plan(const nlohmann::json& doc, int threads = 2) {
  PlanOptions options;
  options.threads = threads;
  return run_serving_plan(parse_serving_plan_request(doc, data_dir() + "/scenarios/plans/test.json"), options);
}

// Simulates a result's scenario with its decode pool changed by `delta` instances.
nlohmann::json resimulate(const ServingPlanResult& r, int delta = 0) {
  nlohmann::json doc = r.scenario;
  doc["requests"]["decode_pool"]["instances"] = r.decode_instances + delta;
  return requests::simulate_requests(parse_serving_scenario(doc, chat_file())).report;
}

std::string error_of(const nlohmann::json& doc) {
  try {
    plan(doc);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ServingPlan, SizedFleetMeetsTheSlosAndOneInstanceFewerDoesNot) {
  const auto out = plan(chat_plan({{"decode_gpus", {8}}, {"batch_fractions", {1}}}));
  ASSERT_EQ(out.ranked.size(), 1u);
  const auto& r = out.ranked[0];
  ASSERT_GT(r.decode_instances, 1) << "the load must need more than one instance for this test to mean anything";
  const double ttft_slo = 2000, tpot_slo = 50;
  EXPECT_LE(r.p99_ttft_ms, ttft_slo);
  EXPECT_LE(r.p99_tpot_ms, tpot_slo);
  // The emitted scenario reproduces the planner's figures...
  const auto again = resimulate(r);
  EXPECT_DOUBLE_EQ(again["latency_ms"]["ttft"]["p99"].get<double>(), r.p99_ttft_ms);
  EXPECT_DOUBLE_EQ(again["latency_ms"]["tpot"]["p99"].get<double>(), r.p99_tpot_ms);
  // ...and is the smallest: one instance fewer misses an SLO.
  const auto fewer = resimulate(r, -1);
  EXPECT_TRUE(fewer["latency_ms"]["ttft"]["p99"].get<double>() > ttft_slo ||
              fewer["latency_ms"]["tpot"]["p99"].get<double>() > tpot_slo);
  // Dollars per million output tokens: the fleet's hours over the load's output.
  EXPECT_EQ(r.gpus, 8 * r.decode_instances);
  EXPECT_NEAR(r.usd_per_million_output_tokens, r.gpus * 2.0 / 3600 / r.offered_output_tokens_per_s * 1e6,
              1e-9 * r.usd_per_million_output_tokens);
}

TEST(ServingPlan, RanksByTheObjectiveAndExplainsTheWinner) {
  for (const char* objective : {"cost", "gpus"}) {
    auto doc = chat_plan({{"decode_gpus", {4, 8}}, {"batch_fractions", {1}}});
    doc["objective"] = objective;
    const auto out = plan(doc);
    ASSERT_EQ(out.ranked.size(), 2u) << objective;
    const auto& a = out.ranked[0];
    const auto& b = out.ranked[1];
    if (std::string(objective) == "gpus")
      EXPECT_LE(a.gpus, b.gpus);
    else
      EXPECT_LE(a.usd_per_million_output_tokens, b.usd_per_million_output_tokens);
    EXPECT_NE(out.reason.find("#2"), std::string::npos) << out.reason;
  }
}

TEST(ServingPlan, DisaggregatedPoolsAreSizedEach) {
  auto doc = parse_json_file(chat_file());
  doc["prefill"] = {{"gpus", 8}, {"attention_tp", 8}, {"prompt_len", 2048}, {"tokens_per_gpu", 1024}};
  doc["requests"]["max_requests"] = 3000;
  nlohmann::json plan_doc = {{"schema", "gwsim.serving-plan/1"},
                             {"scenario", doc},
                             {"search", {{"decode_gpus", {8}}, {"batch_fractions", {1}}, {"disaggregated", {true}}}}};
  const auto out = plan(plan_doc);
  ASSERT_EQ(out.ranked.size(), 1u);
  const auto& r = out.ranked[0];
  EXPECT_GE(r.prefill_instances, 1);
  EXPECT_GE(r.decode_instances, 1);
  EXPECT_EQ(r.gpus, 8 * (r.decode_instances + r.prefill_instances));
  EXPECT_LE(r.p99_ttft_ms, 2000);
  EXPECT_LE(r.p99_tpot_ms, 50);
  EXPECT_EQ(r.scenario["requests"]["prefill_pool"]["instances"].get<int>(), r.prefill_instances);
}

TEST(ServingPlan, ExportRuleRefusesControlledChips) {
  auto doc = chat_plan({{"chips", {"H100-SXM", "H20"}}, {"decode_gpus", {8}}, {"batch_fractions", {1}}});
  doc["constraints"] = {{"export_rule", "2023-10"}};
  const auto out = plan(doc);
  ASSERT_EQ(out.refused_by_rule.count("export_rule"), 1u);
  EXPECT_EQ(out.refused_by_rule.at("export_rule"), 1);
  ASSERT_EQ(out.ranked.size(), 1u);
  EXPECT_EQ(out.ranked[0].candidate.chip, "H20");
}

// An export-compliant variant (the H100 capped to pass a rule, NAME@RULE:CAP) is searched like a
// catalogued chip: the rule refuses the H100 and keeps its compliant variant.
TEST(ServingPlan, CompliantVariantPassesTheRuleItWasCappedFor) {
  auto doc =
      chat_plan({{"chips", {"H100-SXM", "H100-SXM@2023-10:compute"}}, {"decode_gpus", {8}}, {"batch_fractions", {1}}});
  doc["constraints"] = {{"export_rule", "2023-10"}};
  const auto out = plan(doc);
  ASSERT_EQ(out.ranked.size(), 1u);
  EXPECT_EQ(out.ranked[0].candidate.chip, "H100-SXM@2023-10:compute");
  EXPECT_EQ(out.ranked[0].scenario["cluster"]["gpu_variant"]["cap"], "compute");
  ASSERT_EQ(out.not_ranked.size(), 1u);
  EXPECT_EQ(out.not_ranked[0].refused_rule, "export_rule");
  // With no chips to search, a capped scenario stays capped.
  auto capped = parse_json_file(chat_file());
  capped["cluster"] = {{"file", "generic-h100-1024"}, {"gpu_variant", {{"rule", "2023-10"}, {"cap", "compute"}}}};
  capped["requests"]["max_requests"] = 3000;
  const auto kept = plan({{"schema", "gwsim.serving-plan/1"},
                          {"scenario", capped},
                          {"search", {{"decode_gpus", {8}}, {"batch_fractions", {1}}}},
                          {"constraints", {{"export_rule", "2023-10"}}}});
  ASSERT_EQ(kept.ranked.size(), 1u);
  EXPECT_EQ(kept.ranked[0].scenario["cluster"]["gpu_variant"]["cap"], "compute");
}

TEST(ServingPlan, SameOutcomeForAnyThreadCount) {
  const auto doc = chat_plan({{"decode_gpus", {2, 4, 8}}, {"batch_fractions", {1, 0.5}}});
  EXPECT_EQ(serving_plan_report_json(plan(doc, 1)).dump(), serving_plan_report_json(plan(doc, 3)).dump());
}

TEST(ServingPlan, BadInputNamesThePath) {
  EXPECT_NE(error_of(chat_plan({{"decode_gpu", {8}}})).find("$.search.decode_gpu"), std::string::npos);
  EXPECT_NE(error_of(chat_plan({{"chips", {"H100-SXM@2099-01:interconnect"}}})).find("$.search.chips[0]"),
            std::string::npos);
  EXPECT_NE(error_of(chat_plan({{"batch_fractions", {1.5}}})).find("$.search.batch_fractions"), std::string::npos);
  auto no_slo = parse_json_file(chat_file());
  no_slo["requests"].erase("slo");
  EXPECT_NE(error_of({{"schema", "gwsim.serving-plan/1"}, {"scenario", no_slo}}).find("$.requests.slo"),
            std::string::npos);
  auto no_requests = parse_json_file(chat_file());
  no_requests.erase("requests");
  EXPECT_NE(error_of({{"schema", "gwsim.serving-plan/1"}, {"scenario", no_requests}}).find("$.scenario"),
            std::string::npos);
  // A mixed scenario cannot be disaggregated without a prefill layout.
  EXPECT_NE(error_of(chat_plan({{"decode_gpus", {8}}, {"disaggregated", {true}}})).find("$.search.disaggregated"),
            std::string::npos);
}
