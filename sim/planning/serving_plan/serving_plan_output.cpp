// The serving planner's report (schema gwsim.serving-plan-report/1, docs/formats.md) and summary.
#include <fmt/format.h>

#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/planning/serving_plan.h"
#include "gwsim/sim/validation/error_band.h"
#include "serving_plan_result.h"

namespace gwsim {

namespace {
constexpr const char* kReportSchema = "gwsim.serving-plan-report/1";
}  // namespace

nlohmann::json serving_plan_result_json(const ServingPlanResult& r, bool with_scenario) {
  const ServingCandidate& c = r.candidate;
  nlohmann::json j = {{"index", r.index},
                      {"candidate", candidate_string(c)},
                      {"chip", c.chip},
                      {"disaggregated", c.disaggregated},
                      {"decode",
                       {{"gpus", c.decode_gpus},
                        {"attention_tp", c.attention_tp},
                        {"redundant_experts", c.redundant_experts},
                        {"batch_fraction", c.batch_fraction},
                        {"slo_batch_per_gpu", r.slo_batch_per_gpu},
                        {"max_batch", r.max_batch},
                        {"instances", r.decode_instances}}},
                      {"simulations", r.simulations}};
  if (c.disaggregated) j["prefill"] = {{"gpus", c.prefill_gpus}, {"instances", r.prefill_instances}};
  if (!r.refused_rule.empty()) {
    j["refused_rule"] = r.refused_rule;
    j["refused"] = r.refused;
  }
  if (r.gpus > 0) {
    j["gpus"] = r.gpus;
    j["average_gpus"] = round_significant(r.average_gpus);
    j["p99_ttft_ms"] = round_significant(r.p99_ttft_ms);
    j["p99_tpot_ms"] = round_significant(r.p99_tpot_ms);
    j["share_meeting_slo"] = round_significant(r.share_meeting_slo);
    j["offered_output_tokens_per_s"] = round_significant(r.offered_output_tokens_per_s);
    j["output_tokens_per_s_per_gpu"] = round_significant(r.output_tokens_per_s_per_gpu);
    j["usd_per_gpu_hour"] = round_significant(r.usd_per_gpu_hour);
    j["usd_per_hour"] = round_significant(r.usd_per_hour);
    j["usd_per_million_output_tokens"] = round_significant(r.usd_per_million_output_tokens);
    j["facility_mw"] = round_significant(r.facility_mw);
  }
  if (with_scenario && !r.scenario.is_null()) j["scenario"] = r.scenario;
  return j;
}

ServingPlanResult serving_plan_result_from_json(const nlohmann::json& j) {
  ServingPlanResult r;
  ServingCandidate& c = r.candidate;
  r.index = j["index"].get<int>();
  c.chip = j["chip"].get<std::string>();
  c.disaggregated = j["disaggregated"].get<bool>();
  const auto& d = j["decode"];
  c.decode_gpus = d["gpus"].get<int>();
  c.attention_tp = d["attention_tp"].get<int>();
  c.redundant_experts = d["redundant_experts"].get<int>();
  c.batch_fraction = d["batch_fraction"].get<double>();
  r.slo_batch_per_gpu = d["slo_batch_per_gpu"].get<double>();
  r.max_batch = d["max_batch"].get<std::int64_t>();
  r.decode_instances = d["instances"].get<int>();
  if (j.contains("prefill")) {
    c.prefill_gpus = j["prefill"]["gpus"].get<int>();
    r.prefill_instances = j["prefill"]["instances"].get<int>();
  }
  r.simulations = j["simulations"].get<int>();
  r.refused_rule = j.value("refused_rule", "");
  r.refused = j.value("refused", "");
  if (j.contains("gpus")) {
    r.gpus = j["gpus"].get<std::int64_t>();
    r.average_gpus = j["average_gpus"].get<double>();
    r.p99_ttft_ms = j["p99_ttft_ms"].get<double>();
    r.p99_tpot_ms = j["p99_tpot_ms"].get<double>();
    r.share_meeting_slo = j["share_meeting_slo"].get<double>();
    r.offered_output_tokens_per_s = j["offered_output_tokens_per_s"].get<double>();
    r.output_tokens_per_s_per_gpu = j["output_tokens_per_s_per_gpu"].get<double>();
    r.usd_per_gpu_hour = j["usd_per_gpu_hour"].get<double>();
    r.usd_per_hour = j["usd_per_hour"].get<double>();
    r.usd_per_million_output_tokens = j["usd_per_million_output_tokens"].get<double>();
    r.facility_mw = j["facility_mw"].get<double>();
  }
  if (j.contains("scenario")) r.scenario = j["scenario"];
  return r;
}

std::string serving_plan_results_to_text(const std::vector<ServingPlanResult>& results) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : results) a.push_back(serving_plan_result_json(r, true));
  return a.dump();
}

std::vector<ServingPlanResult> serving_plan_results_from_text(const std::string& text) {
  std::vector<ServingPlanResult> out;
  for (const auto& j : nlohmann::json::parse(text)) out.push_back(serving_plan_result_from_json(j));
  return out;
}

nlohmann::json serving_plan_report_json(const ServingPlanOutcome& o) {
  const auto& req = o.request;
  nlohmann::json j;
  j["schema"] = kReportSchema;
  j["query"] = req.query;
  j["scenario_file"] = req.base_file;
  j["objective"] = to_string(req.objective);
  j["cost_basis"] = req.owned_cost ? "owned" : "rental";
  j["simulated_requests_per_run"] = o.simulated_requests;
  j["counts"] = {{"candidates", o.candidates},
                 {"sized", static_cast<std::int64_t>(o.ranked.size())},
                 {"not_ranked", o.refused_by_rule},
                 {"simulations", o.simulations}};
  nlohmann::json ranked = nlohmann::json::array();
  for (std::size_t i = 0; i < o.ranked.size(); ++i) {
    auto row = serving_plan_result_json(o.ranked[i], i < static_cast<std::size_t>(req.top_k));
    row["rank"] = i + 1;
    ranked.push_back(std::move(row));
  }
  j["ranked"] = std::move(ranked);
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& r : o.not_ranked) refused.push_back(serving_plan_result_json(r, false));
  j["not_ranked"] = std::move(refused);
  j["reason"] = o.reason;
  if (!o.error_band.is_null()) j["error_band"] = o.error_band;
  return j;
}

std::string format_serving_plan(const ServingPlanOutcome& o) {
  const auto& req = o.request;
  std::string s = fmt::format(
      "serving plan for {}: {} candidates, {} sized by {} simulations of up to {} requests; objective {} ({} "
      "$/GPU-hour)\n",
      req.base.value("name", "?"), o.candidates, o.ranked.size(), o.simulations, o.simulated_requests,
      to_string(req.objective), req.owned_cost ? "owned" : "rental");
  if (!o.refused_by_rule.empty()) {
    std::string parts;
    for (const auto& [rule, n] : o.refused_by_rule) parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, rule);
    s += "  not ranked: " + parts + "\n";
  }
  s += fmt::format("  {:>4}  {:<48} {:>9} {:>7} {:>7} {:>9} {:>9} {:>9} {:>8}\n", "rank", "candidate", "instances",
                   "GPUs", "MW", "TTFT P99", "TPOT P99", "tok/s/GPU", "$/Mtok");
  const std::size_t k = std::min(o.ranked.size(), static_cast<std::size_t>(req.top_k));
  for (std::size_t i = 0; i < k; ++i) {
    const auto& r = o.ranked[i];
    const std::string pools = r.candidate.disaggregated
                                  ? fmt::format("{}D+{}P", r.decode_instances, r.prefill_instances)
                                  : fmt::format("{}", r.decode_instances);
    s += fmt::format("  {:>4}  {:<48} {:>9} {:>7} {:>7.2f} {:>6.0f} ms {:>6.1f} ms {:>9.0f} {:>8.3f}\n", i + 1,
                     candidate_string(r.candidate), pools, r.gpus, r.facility_mw, r.p99_ttft_ms, r.p99_tpot_ms,
                     r.output_tokens_per_s_per_gpu, r.usd_per_million_output_tokens);
  }
  s += "  " + o.reason + "\n";
  if (!o.error_band.is_null()) s += "  trust: " + error_band_line(o.error_band) + "\n";
  return s;
}

}  // namespace gwsim
