// gwsim plan: pruning is exact (same top-k as brute force), output does not depend on the thread
// count, emitted scenarios reproduce their step time, constraints hold, bad requests name the path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>
#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/planning/plan.h"
#include "gwsim/sim/report/report.h"

using namespace gwsim;

namespace {

std::string scenario(const char* name) { return data_dir() + "/scenarios/" + name + ".json"; }

// A small dense space: GPT 1.7B on 32 and 48 A100s (SC21), every layout kind that applies; cp 3
// (not dividing the sequence), micro-batch 3 (not dividing the batch) and pp 3 with dualpipe are
// there for the pre-checks to refuse.
nlohmann::json dense_request() {
  return {{"schema", "gwsim.plan/1"},
          {"scenario", scenario("megatron-sc21-1p7b-32xa100")},
          {"search",
           {{"gpus", {32, 48}},
            {"tp", {1, 2, 3, 8}},
            {"pp", {1, 2, 3, 4}},
            {"cp", {1, 2, 3}},
            {"virtual_stages", {2, 4}},
            {"micro_batch_seqs", {1, 3, 4}},
            {"zero_stages", {0, 3}}}},
          {"top_k", 15}};
}

// A small MoE space: DeepSeek-V3 on 1024 and 2048 H800s, layouts around the published one.
nlohmann::json moe_request() {
  return {{"schema", "gwsim.plan/1"},
          {"scenario", scenario("deepseek-v3-pretrain-2048xh800")},
          {"search",
           {{"gpus", {1024, 2048}},
            {"tp", {1, 2}},
            {"sp", {true}},
            {"pp", {8, 15, 16}},
            {"schedules", {"1f1b", "dualpipe", "zero_bubble"}},
            {"ep", {3, 32, 64, 512}},
            {"cp", {1}},
            {"zero_stages", {1, 3}},
            {"micro_batch_seqs", {1, 2}}}},
          {"top_k", 10}};
}

// The same space under Megatron-LM, with sequence parallelism left to the search: its experts
// default to TP over the tensor-parallel ranks (expert_tp = tp), which sequence parallelism must
// accompany and which EP must fit beside.
nlohmann::json megatron_moe_request() {
  auto doc = moe_request();
  doc["set"] = {"training.framework=megatron"};
  doc["search"].erase("sp");
  return doc;
}

PlanRequest request(const nlohmann::json& doc) { return parse_plan_request(doc, "test-plan.json"); }

std::vector<std::string> keys(const PlanOutcome& o) {
  std::vector<std::string> k;
  for (const auto& r : o.top) k.push_back(r.key);
  return k;
}

}  // namespace

TEST(Plan, PrunedSearchFindsTheBruteForceTopK) {
  for (const auto& doc : {dense_request(), moe_request(), megatron_moe_request()}) {
    const auto req = request(doc);
    PlanOptions pruned, brute;
    pruned.threads = brute.threads = 2;
    brute.prune = false;
    const auto a = run_plan(req, pruned);
    const auto b = run_plan(req, brute);
    ASSERT_FALSE(a.top.empty());
    EXPECT_EQ(keys(a), keys(b));
    for (std::size_t i = 0; i < a.top.size(); ++i) EXPECT_EQ(a.top[i].step_time_s, b.top[i].step_time_s);
    // The same layouts run: pruning only skipped what plan_training refuses or cannot fit.
    EXPECT_EQ(a.counts.feasible, b.counts.feasible);
    EXPECT_EQ(a.counts.enumerated, b.counts.enumerated);
    EXPECT_LT(a.counts.evaluated, b.counts.evaluated);
    // Every refusal was predicted by the pre-checks (none reached plan_training).
    EXPECT_EQ(a.counts.unexpected_refusals, 0);
    std::int64_t pruned_total = 0;
    for (const auto& [rule, n] : a.counts.pruned) pruned_total += n;
    EXPECT_EQ(pruned_total + a.counts.evaluated, a.counts.enumerated);
    // The brute force did meet the refusals the pre-checks predict (so the test can fail).
    std::int64_t refused_by_plan = 0;
    for (const auto& [rule, n] : b.counts.infeasible)
      if (rule.rfind("plan_training", 0) == 0) refused_by_plan += n;
    EXPECT_GT(refused_by_plan, 0);
  }
  // Under Megatron the tp 2 layouts without sequence parallelism are refused before any estimate.
  const auto megatron = run_plan(request(megatron_moe_request()));
  EXPECT_GT(megatron.counts.pruned.at("expert_tp_needs_sp"), 0);
}

TEST(Plan, OutputIsByteIdenticalForAnyThreadCount) {
  auto doc = moe_request();
  doc["objectives"] = {"time", "cost", "power"};
  const auto req = request(doc);
  PlanOptions one, four;
  one.threads = 1;
  four.threads = 4;
  const auto a = plan_report_json(run_plan(req, one)).dump(1);
  const auto b = plan_report_json(run_plan(req, four)).dump(1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\"pareto\""), std::string::npos);
}

TEST(Plan, EmittedScenarioReproducesTheStepTime) {
  auto doc = dense_request();
  doc["search"]["chips"] = {"A100-SXM-80GB", "H100-SXM@2022-10:interconnect"};
  doc["search"]["precision"] = {"bf16"};
  const auto req = request(doc);
  const auto o = run_plan(req);
  ASSERT_GE(o.top.size(), 3u);
  const auto dir = std::filesystem::temp_directory_path() / ("gwsim-plan-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < o.top.size(); ++i) {
    const auto& r = o.top[i];
    const auto path = (dir / ("rank-" + std::to_string(i + 1) + ".json")).string();
    std::ofstream(path) << plan_result_scenario(o, r, static_cast<int>(i + 1)).dump(2);
    const auto sc = load_scenario(path);  // from another folder: references were made absolute
    const auto plan = plan_training(sc.model, sc.parallelism, sc.training, sc.cluster, sc.gpu, sc.file);
    EXPECT_EQ(estimate_training_step(plan, sc.cluster, sc.gpu, sc.profile).step_time_s, r.step_time_s) << r.key;
    const auto run = run_training(sc);
    EXPECT_DOUBLE_EQ(run.report["power"]["facility_mw"].get<double>(), round_significant(r.facility_mw)) << r.key;
    EXPECT_DOUBLE_EQ(run.report["cost"]["run_cost_rental_usd"].get<double>(), round_significant(r.cost_rental_usd));
    EXPECT_DOUBLE_EQ(run.report["goodput"]["wall_clock_days"].get<double>(), round_significant(r.wall_clock_days));
  }
  std::filesystem::remove_all(dir);
}

TEST(Plan, ConstraintsHold) {
  auto doc = moe_request();
  doc["constraints"] = {{"memory_headroom", 0.15}, {"deadline_days", 100}, {"power_mw", 3.0}};
  doc["objectives"] = {"cost"};
  const auto o = run_plan(request(doc));
  ASSERT_FALSE(o.top.empty());
  for (const auto& r : o.top) {
    EXPECT_LE(r.memory_fraction, 0.85) << r.key;
    EXPECT_LE(r.wall_clock_days, 100) << r.key;
    EXPECT_LE(r.facility_mw, 3.0) << r.key;
  }
  for (std::size_t i = 1; i < o.top.size(); ++i) EXPECT_LE(o.top[i - 1].cost_rental_usd, o.top[i].cost_rental_usd);
  // The constraints bit: 2048 H800s draw more than 3 MW, slow layouts miss the deadline.
  EXPECT_GT(o.counts.pruned.at("power_cap"), 0);
  EXPECT_GT(o.counts.infeasible.at("deadline"), 0);
  EXPECT_GT(o.counts.infeasible.at("memory_headroom"), 0);
  // Without them the winner is faster or cheaper, never worse.
  auto free_doc = moe_request();
  free_doc["objectives"] = {"cost"};
  EXPECT_LE(run_plan(request(free_doc)).top[0].cost_rental_usd, o.top[0].cost_rental_usd);
}

TEST(Plan, FewestGpusMeetingADeadlineAndExportRule) {
  nlohmann::json doc = {{"schema", "gwsim.plan/1"},
                        {"model", "llama3-8b"},
                        {"gpu", "H100-SXM"},
                        {"tokens", 1e12},
                        {"search",
                         {{"gpus", {{"min", 64}, {"max", 512}}},
                          {"chips", {"H100-SXM", "H20", "H100-SXM@2023-10:compute"}},
                          {"pp", {1, 2}},
                          {"cp", {1}},
                          {"micro_batch_seqs", {1}},
                          {"zero_stages", {1}}}},
                        {"constraints", {{"deadline_days", 30}, {"export_rule", "2023-10"}}},
                        {"objectives", {"gpus"}}};
  const auto o = run_plan(request(doc));
  ASSERT_FALSE(o.top.empty());
  EXPECT_GT(o.counts.pruned.at("export_rule"), 0);  // the plain H100 is controlled under 2023-10
  for (const auto& r : o.top) {
    EXPECT_NE(o.contexts[r.context].chip, "H100-SXM");
    EXPECT_LE(r.wall_clock_days, 30);
  }
  for (std::size_t i = 1; i < o.top.size(); ++i)
    EXPECT_LE(o.contexts[o.top[i - 1].context].gpus, o.contexts[o.top[i].context].gpus);
}

TEST(Plan, LargestTokenBudgetInADeadlineAndPowerCap) {
  // The inverse question: how many tokens fit in D days within P MW. The deadline is the window
  // (a layout slower than it still trains a share of the tokens), the power cap a constraint.
  auto doc = moe_request();
  doc["constraints"] = {{"deadline_days", 20}, {"power_mw", 3.0}};
  doc["objectives"] = {"tokens"};
  const auto o = run_plan(request(doc));
  ASSERT_FALSE(o.top.empty());
  EXPECT_EQ(o.counts.infeasible.count("deadline"), 0u);
  const double run_tokens = o.contexts[o.top[0].context].scenario.training.tokens;
  double previous = INFINITY;
  for (const auto& r : o.top) {
    EXPECT_LE(r.facility_mw, 3.0) << r.key;
    const double tokens = tokens_within_deadline(run_tokens, r.wall_clock_days, 20);
    EXPECT_DOUBLE_EQ(tokens, run_tokens * 20 / r.wall_clock_days);
    EXPECT_LE(tokens, previous) << r.key;  // most tokens first
    previous = tokens;
  }
  // The same ranking as the fastest run, and the report states the budget.
  auto by_time = doc;
  by_time["objectives"] = {"time"};
  by_time["constraints"] = {{"power_mw", 3.0}};
  EXPECT_EQ(run_plan(request(by_time)).top[0].key, o.top[0].key);
  EXPECT_NE(format_plan(o).find("largest token budget in 20 days: "), std::string::npos);
  // Without a window there is no budget to speak of.
  auto no_window = doc;
  no_window["constraints"] = {{"power_mw", 3.0}};
  EXPECT_THROW(request(no_window), InputError);
}

TEST(Plan, FabricOptionsAreSearchedLikeChips) {
  // Three networks under the same cluster: each is a context of its own, labelled in the keys and
  // the report; halving the NIC rate slows the expert all-to-all, so the full-rate one wins.
  auto doc = moe_request();
  doc["search"]["gpus"] = {2048};
  doc["search"]["fabrics"] = {{{"label", "8x400G"}, {"nic_gbps", 400}, {"nics_per_node", 8}},
                              {{"label", "8x200G"}, {"nic_gbps", 200}, {"nics_per_node", 8}},
                              {{"label", "4x400G 2:1"},
                               {"nic_gbps", 400},
                               {"nics_per_node", 4},
                               {"fabric", {{"kind", "fat_tree"}, {"tiers", 3}, {"oversubscription", 2}}}}};
  const auto o = run_plan(request(doc));
  ASSERT_EQ(o.contexts.size(), 3u);
  EXPECT_EQ(o.contexts[1].fabric, "8x200G");
  EXPECT_EQ(o.contexts[1].scenario.cluster.nic_bps, 200e9 / 8);
  EXPECT_EQ(o.contexts[2].scenario.cluster.nics_per_node, 4);
  EXPECT_EQ(o.contexts[2].scenario.cluster.fabric.oversubscription, 2);
  ASSERT_FALSE(o.top.empty());
  EXPECT_EQ(o.contexts[o.top[0].context].fabric, "8x400G");
  EXPECT_NE(o.top[0].key.find("[8x400G]"), std::string::npos) << o.top[0].key;
  const auto report = plan_report_json(o);
  EXPECT_EQ(report["top"][0]["fabric"], "8x400G");
  EXPECT_EQ(report["contexts"][2]["fabric"], "4x400G 2:1");
}

TEST(Plan, GlobalBatchWithinATokenRange) {
  // 4M..16M tokens of DeepSeek-V3's 4096-token sequences: 977 sequences (the fewest holding 4M),
  // doubled to 1954; 3908 would hold 16.007M, past the maximum.
  auto doc = moe_request();
  doc["search"]["gpus"] = {1024};
  doc["search"]["global_batch_tokens"] = {{"min", 4e6}, {"max", 16e6}};
  const auto contexts = build_plan_contexts(request(doc));
  std::vector<std::int64_t> batches;
  for (const auto& c : contexts) batches.push_back(c.global_batch_seqs);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{977, 1954}));
  doc["search"]["global_batch_seqs"] = {1024};
  EXPECT_THROW(request(doc), InputError);
}

TEST(Plan, BadRequestsNameTheJsonPath) {
  auto expect_error = [](nlohmann::json doc, const std::string& want) {
    try {
      (void)run_plan(parse_plan_request(doc, "bad-plan.json"));
      ADD_FAILURE() << "accepted: " << doc.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  auto d = dense_request();
  d["search"]["tpp"] = {1};
  expect_error(d, "bad-plan.json: $.search.tpp: unknown key");
  d = dense_request();
  d["search"]["pp"] = {1, "two"};
  expect_error(d, "$.search.pp[1]: expected an integer");
  d = dense_request();
  d["search"]["chips"] = {"H900"};
  expect_error(d, "$.search.chips[0]");
  d = dense_request();
  d["constraints"] = {{"memory_headroom", 1.5}};
  expect_error(d, "$.constraints.memory_headroom");
  d = dense_request();
  d["objectives"] = {"speed"};
  expect_error(d, "$.objectives[0]");
  d = dense_request();
  d["search"]["gpus"] = {{"min", 64}, {"max", 16}};
  expect_error(d, "$.search.gpus.max");
  d = dense_request();
  d["search"]["fabrics"] = {{{"label", "a"}, {"nic_gbs", 400}}};
  expect_error(d, "$.search.fabrics[0].nic_gbs: unknown key");
  d = dense_request();
  d["search"]["fabrics"] = {{{"label", "a"}, {"fabric", {{"kind", "torus"}}}}};
  expect_error(d, "$.search.fabrics[0].fabric.kind");
  d = dense_request();
  d["search"]["fabrics"] = {{{"label", "a"}}, {{"label", "a"}, {"nic_gbps", 200}}};
  expect_error(d, "$.search.fabrics[1]: a value listed twice");
  d = dense_request();
  d["search"]["fabrics"] = {{{"nic_gbps", 200}}};
  expect_error(d, "$.search.fabrics[0].label");
}
