#include "plan_partial.h"

#include <nlohmann/json.hpp>

#include <bit>
#include <stdexcept>

namespace gwsim {

namespace {

using nlohmann::json;

// A double as its bit pattern: exact, and NaN or infinity survive too (JSON has neither).
std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }
double from_bits(const json& j) { return std::bit_cast<double>(j.get<std::uint64_t>()); }

json parallelism_json(const Parallelism& p) {
  return json::array({p.tp, p.sp, p.pp, static_cast<int>(p.schedule), p.virtual_stages, p.dp, p.zero_stage, p.ep, p.cp,
                      p.micro_batch_seqs, p.expert_tp});
}

Parallelism parallelism_from(const json& j) {
  Parallelism p;
  p.tp = j.at(0).get<int>();
  p.sp = j.at(1).get<bool>();
  p.pp = j.at(2).get<int>();
  p.schedule = static_cast<PipelineSchedule>(j.at(3).get<int>());
  p.virtual_stages = j.at(4).get<int>();
  p.dp = j.at(5).get<int>();
  p.zero_stage = j.at(6).get<int>();
  p.ep = j.at(7).get<int>();
  p.cp = j.at(8).get<int>();
  p.micro_batch_seqs = j.at(9).get<std::int64_t>();
  p.expert_tp = j.at(10).get<int>();
  return p;
}

// The metrics of a result, in one fixed order (both directions use this list).
std::vector<double PlanResult::*> metric_fields() {
  return {&PlanResult::step_time_s,
          &PlanResult::tokens_per_s,
          &PlanResult::tokens_per_step,
          &PlanResult::mfu,
          &PlanResult::days,
          &PlanResult::wall_clock_days,
          &PlanResult::goodput,
          &PlanResult::gpu_hours,
          &PlanResult::cost_rental_usd,
          &PlanResult::cost_owned_usd,
          &PlanResult::capex_usd,
          &PlanResult::facility_mw,
          &PlanResult::energy_mwh,
          &PlanResult::memory_bytes,
          &PlanResult::memory_fraction};
}

json result_json(const PlanResult& r) {
  json metrics = json::array();
  for (auto field : metric_fields()) metrics.push_back(bits(r.*field));
  json breakdown = json::array();
  for (double v : r.breakdown_s) breakdown.push_back(bits(v));
  return {{"context", r.context},
          {"par", parallelism_json(r.layout.par)},
          {"recompute", static_cast<int>(r.layout.recompute)},
          {"metrics", metrics},
          {"breakdown", breakdown},
          {"bottleneck", r.bottleneck},
          {"infeasible", r.infeasible}};
}

PlanResult result_from(const json& j) {
  PlanResult r;
  r.context = j.at("context").get<int>();
  r.layout.par = parallelism_from(j.at("par"));
  r.layout.recompute = static_cast<Recompute>(j.at("recompute").get<int>());
  const auto fields = metric_fields();
  const auto& metrics = j.at("metrics");
  if (metrics.size() != fields.size()) throw std::runtime_error("plan partial: wrong number of metrics");
  for (std::size_t i = 0; i < fields.size(); ++i) r.*fields[i] = from_bits(metrics.at(i));
  const auto& breakdown = j.at("breakdown");
  if (breakdown.size() != r.breakdown_s.size()) throw std::runtime_error("plan partial: wrong breakdown size");
  for (std::size_t i = 0; i < r.breakdown_s.size(); ++i) r.breakdown_s[i] = from_bits(breakdown.at(i));
  r.bottleneck = j.at("bottleneck").get<std::string>();
  r.infeasible = j.at("infeasible").get<std::string>();
  return r;
}

json results_json(const std::vector<PlanResult>& results) {
  json a = json::array();
  for (const auto& r : results) a.push_back(result_json(r));
  return a;
}

std::vector<PlanResult> results_from(const json& a) {
  std::vector<PlanResult> out;
  for (const auto& j : a) out.push_back(result_from(j));
  return out;
}

}  // namespace

std::string serialize_partial(const PlanPartial& p) {
  const auto& c = p.counts;
  json j = {{"evaluated", c.evaluated},
            {"feasible", c.feasible},
            {"unexpected_refusals", c.unexpected_refusals},
            {"infeasible", c.infeasible},
            {"pruned", c.pruned},
            {"top", results_json(p.top)},
            {"front", results_json(p.front)},
            {"better_than_probe", p.better_than_probe}};
  return j.dump();
}

PlanPartial parse_partial(const std::string& text) {
  try {
    const json j = json::parse(text);
    PlanPartial p;
    p.counts.evaluated = j.at("evaluated").get<std::int64_t>();
    p.counts.feasible = j.at("feasible").get<std::int64_t>();
    p.counts.unexpected_refusals = j.at("unexpected_refusals").get<std::int64_t>();
    p.counts.infeasible = j.at("infeasible").get<std::map<std::string, std::int64_t>>();
    p.counts.pruned = j.at("pruned").get<std::map<std::string, std::int64_t>>();
    p.top = results_from(j.at("top"));
    p.front = results_from(j.at("front"));
    p.better_than_probe = j.at("better_than_probe").get<std::int64_t>();
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("plan partial: ") + e.what());
  }
}

}  // namespace gwsim
