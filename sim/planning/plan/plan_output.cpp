// gwsim plan: the report (gwsim.plan-report/1), CSV, the printed summary, emitted scenarios and the
// des re-simulation of the top layouts.
#include <fmt/format.h>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/planning/plan.h"
#include "gwsim/sim/report/report.h"
#include "gwsim/sim/validation/error_band.h"

namespace gwsim {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

nlohmann::json parallelism_json(const Parallelism& p) {
  nlohmann::json j = {{"tp", p.tp},
                      {"sp", p.sp},
                      {"pp", p.pp},
                      {"schedule", to_string(p.schedule)},
                      {"dp", p.dp},
                      {"ep", p.ep},
                      {"cp", p.cp},
                      {"zero_stage", p.zero_stage},
                      {"micro_batch_seqs", p.micro_batch_seqs}};
  if (p.schedule == PipelineSchedule::interleaved) j["virtual_stages"] = p.virtual_stages;
  if (p.expert_tp > 0) j["expert_tp"] = p.expert_tp;  // 0: the framework's default, left unstated
  return j;
}

nlohmann::json result_json(const PlanOutcome& o, const PlanResult& r) {
  const auto& c = o.contexts[r.context];
  nlohmann::json bd;
  for (std::size_t i = 0; i < kPlanBreakdownKeys.size(); ++i)
    bd[kPlanBreakdownKeys[i]] = round_significant(r.breakdown_s[i]);
  auto layout = parallelism_json(r.layout.par);
  layout["recompute"] = to_string(r.layout.recompute);
  nlohmann::json j = {{"chip", c.chip},
                      {"gpu", c.scenario.gpu.name},
                      {"gpus", c.gpus},
                      {"global_batch_seqs", c.global_batch_seqs},
                      {"precision", to_string(c.precision)},
                      {"layout", layout},
                      {"key", r.key},
                      {"step_time_s", round_significant(r.step_time_s)},
                      {"tokens_per_s", round_significant(r.tokens_per_s)},
                      {"mfu", round_significant(r.mfu)},
                      {"days", round_significant(r.days)},
                      {"wall_clock_days", round_significant(r.wall_clock_days)},
                      {"goodput_fraction", round_significant(r.goodput)},
                      {"gpu_hours", round_significant(r.gpu_hours)},
                      {"cost_rental_usd", round_significant(r.cost_rental_usd)},
                      {"cost_owned_usd", round_significant(r.cost_owned_usd)},
                      {"capex_usd", round_significant(r.capex_usd)},
                      {"facility_mw", round_significant(r.facility_mw)},
                      {"energy_mwh", round_significant(r.energy_mwh)},
                      {"memory_per_gpu_gib", round_significant(r.memory_bytes / kGiB)},
                      {"memory_fraction_of_hbm", round_significant(r.memory_fraction)},
                      {"bottleneck", r.bottleneck},
                      {"breakdown_s", bd}};
  if (!c.fabric.empty()) j["fabric"] = c.fabric;
  if (const auto& req = o.request; req.asks(PlanObjective::tokens))
    j["tokens_within_deadline"] = round_significant(
        tokens_within_deadline(c.scenario.training.tokens, r.wall_clock_days, req.constraints.deadline_days));
  if (r.verified) {
    if (r.verify_error.empty())
      j["des"] = {{"step_time_s", round_significant(r.des_step_time_s)},
                  {"vs_analytical_pct", round_significant(100 * (r.des_step_time_s / r.step_time_s - 1))}};
    else
      j["des"] = {{"error", r.verify_error}};
  }
  return j;
}

std::string make_absolute(const std::string& ref, const std::string& base_dir) {
  const bool is_file = ref.size() > 5 && ref.substr(ref.size() - 5) == ".json";
  return is_file ? resolve_path(ref, base_dir) : ref;
}

std::string money(double usd) {
  if (usd >= 1e9) return fmt::format("{:.2f}B", usd / 1e9);
  if (usd >= 1e6) return fmt::format("{:.2f}M", usd / 1e6);
  return fmt::format("{:.0f}k", usd / 1e3);
}

}  // namespace

nlohmann::json plan_result_scenario(const PlanOutcome& o, const PlanResult& r, int rank) {
  const auto& c = o.contexts[r.context];
  nlohmann::json doc = c.doc;
  const std::string base_dir = directory_of(o.request.base_file);
  // References relative to the base scenario would break in another folder: made absolute.
  if (doc.contains("model") && doc["model"].is_string()) doc["model"] = make_absolute(doc["model"], base_dir);
  if (doc.contains("profile") && doc["profile"].is_string()) doc["profile"] = make_absolute(doc["profile"], base_dir);
  if (doc["cluster"].is_object() && doc["cluster"].contains("file") && doc["cluster"]["file"].is_string())
    doc["cluster"]["file"] = make_absolute(doc["cluster"]["file"], base_dir);
  doc["name"] = fmt::format("{}-plan-{}", doc.value("name", std::string("plan")), rank);
  doc["description"] =
      fmt::format("gwsim plan, rank {} ({}): {}", rank, to_string(o.request.objectives.front()), r.key);
  doc["parallelism"] = parallelism_json(r.layout.par);
  doc["training"]["recompute"] = to_string(r.layout.recompute);
  return doc;
}

void verify_top_with_des(PlanOutcome& o) {
  for (auto& r : o.top) {
    r.verified = true;
    try {
      Scenario s = o.contexts[r.context].scenario;
      s.parallelism = r.layout.par;
      s.training.recompute = r.layout.recompute;
      r.des_step_time_s = run_training(s, "des").step.step_time_s;
    } catch (const InputError& e) {
      r.verify_error = e.what();
    }
  }
}

nlohmann::json plan_report_json(const PlanOutcome& o) {
  const auto& req = o.request;
  nlohmann::json j;
  j["schema"] = "gwsim.plan-report/1";
  j["gwsim_version"] = version();
  j["query"] = req.query;
  nlohmann::json objectives = nlohmann::json::array();
  for (auto ob : req.objectives) objectives.push_back(to_string(ob));
  j["objectives"] = objectives;
  const auto& k = req.constraints;
  j["constraints"] = {
      {"memory_headroom", k.memory_headroom}, {"deadline_days", k.deadline_days},        {"power_mw", k.power_mw},
      {"budget_usd", k.budget_usd},           {"budget_kind", to_string(k.budget_kind)}, {"export_rule", k.export_rule},
      {"min_goodput", k.min_goodput}};
  const auto& n = o.counts;
  j["counts"] = {{"enumerated", n.enumerated}, {"pruned", n.pruned},
                 {"evaluated", n.evaluated},   {"infeasible", n.infeasible},
                 {"feasible", n.feasible},     {"unexpected_refusals", n.unexpected_refusals}};
  if (j["counts"]["pruned"].is_null()) j["counts"]["pruned"] = nlohmann::json::object();
  if (j["counts"]["infeasible"].is_null()) j["counts"]["infeasible"] = nlohmann::json::object();
  nlohmann::json contexts = nlohmann::json::array();
  for (const auto& c : o.contexts) {
    nlohmann::json cj = {{"chip", c.chip},
                         {"gpus", c.gpus},
                         {"global_batch_seqs", c.global_batch_seqs},
                         {"precision", to_string(c.precision)},
                         {"ok", c.ok}};
    if (!c.fabric.empty()) cj["fabric"] = c.fabric;
    if (!c.ok) cj["refused"] = c.refused;
    contexts.push_back(cj);
  }
  j["contexts"] = contexts;
  nlohmann::json top = nlohmann::json::array();
  for (std::size_t i = 0; i < o.top.size(); ++i) {
    auto r = result_json(o, o.top[i]);
    r["rank"] = i + 1;
    // What --emit writes for this rank: the GUI's plan view runs it when the point is clicked.
    r["scenario"] = plan_result_scenario(o, o.top[i], static_cast<int>(i + 1));
    top.push_back(r);
  }
  j["top"] = top;
  if (req.objectives.size() > 1) {
    nlohmann::json front = nlohmann::json::array();
    for (const auto& r : o.pareto) front.push_back(result_json(o, r));
    j["pareto"] = front;
  }
  j["reason"] = o.reason;
  j["error_band"] = o.error_band.is_null() ? nlohmann::json::object() : o.error_band;
  if (o.probe_context >= 0) {
    nlohmann::json b = {{"key", o.probe.key}, {"rank", o.probe_rank}};
    if (o.probe_rank > 0)
      b["result"] = result_json(o, o.probe);
    else
      b["refused"] = o.probe_refused;
    j["base_layout"] = b;
  }
  return j;
}

std::string plan_report_csv(const PlanOutcome& o) {
  std::string s =
      "rank,chip,gpus,global_batch_seqs,precision,tp,sp,pp,schedule,virtual_stages,dp,ep,cp,zero_stage,micro_batch_"
      "seqs,"
      "recompute,step_time_s,tokens_per_s,mfu,days,wall_clock_days,goodput_fraction,gpu_hours,cost_rental_usd,"
      "cost_owned_usd,capex_usd,facility_mw,energy_mwh,memory_per_gpu_gib,bottleneck,des_step_time_s\n";
  auto csv_text = [](const std::string& t) {
    std::string q = "\"";
    for (char ch : t) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  for (std::size_t i = 0; i < o.top.size(); ++i) {
    const auto& r = o.top[i];
    const auto& c = o.contexts[r.context];
    const auto& p = r.layout.par;
    s += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i + 1,
        csv_text(c.chip), c.gpus, c.global_batch_seqs, to_string(c.precision), p.tp, p.sp ? "true" : "false", p.pp,
        to_string(p.schedule), p.virtual_stages, p.dp, p.ep, p.cp, p.zero_stage, p.micro_batch_seqs,
        to_string(r.layout.recompute), round_significant(r.step_time_s), round_significant(r.tokens_per_s),
        round_significant(r.mfu), round_significant(r.days), round_significant(r.wall_clock_days),
        round_significant(r.goodput), round_significant(r.gpu_hours), round_significant(r.cost_rental_usd),
        round_significant(r.cost_owned_usd), round_significant(r.capex_usd), round_significant(r.facility_mw),
        round_significant(r.energy_mwh), round_significant(r.memory_bytes / kGiB), csv_text(r.bottleneck),
        r.verified && r.verify_error.empty() ? fmt::format("{}", round_significant(r.des_step_time_s)) : "");
  }
  return s;
}

std::string format_plan(const PlanOutcome& o) {
  const auto& req = o.request;
  std::string objectives;
  for (auto ob : req.objectives) objectives += (objectives.empty() ? "" : ", ") + to_string(ob);
  std::string s = fmt::format("gwsim plan — objective {}; {} of {} contexts searched\n", objectives,
                              std::count_if(o.contexts.begin(), o.contexts.end(), [](const auto& c) { return c.ok; }),
                              o.contexts.size());
  const bool verified = !o.top.empty() && o.top[0].verified;
  s += fmt::format("{:>3} {:<22} {:<52} {:>8} {:>6} {:>7} {:>10} {:>8} {:>7} {:>6}{}  {}\n", "#", "chip x GPUs",
                   "layout", "step s", "MFU", "days", "GPU-hours", "cost $", "MW", "GiB", verified ? "   des s" : "",
                   "bottleneck");
  for (std::size_t i = 0; i < o.top.size(); ++i) {
    const auto& r = o.top[i];
    const auto& c = o.contexts[r.context];
    std::string des;
    if (verified) des = r.verify_error.empty() ? fmt::format(" {:>7.3f}", r.des_step_time_s) : "   error";
    s += fmt::format("{:>3} {:<22} {:<52} {:>8.3f} {:>5.1f}% {:>7.1f} {:>10.4g} {:>8} {:>7.2f} {:>6.1f}{}  {}\n", i + 1,
                     context_label(c), layout_string(r.layout), r.step_time_s, 100 * r.mfu, r.wall_clock_days,
                     r.gpu_hours, money(r.cost_rental_usd), r.facility_mw, r.memory_bytes / kGiB, des, r.bottleneck);
  }
  if (req.objectives.size() > 1 && !o.pareto.empty()) {
    s += fmt::format("Pareto front ({}): {} layouts\n", objectives, o.pareto.size());
    for (const auto& r : o.pareto)
      s += fmt::format("    {:<80} {:>7.1f} days {:>8} {:>7.2f} MW {:>9.4g} MWh\n", r.key, r.wall_clock_days,
                       money(r.cost_rental_usd), r.facility_mw, r.energy_mwh);
  }
  s += "why: " + o.reason + "\n";
  if (req.asks(PlanObjective::tokens) && !o.top.empty()) {
    const auto& best = o.top[0];
    s += fmt::format("largest token budget in {:g} days: {:.4g} tokens (#1 at {:.4g} tokens/day{})\n",
                     req.constraints.deadline_days,
                     tokens_within_deadline(o.contexts[best.context].scenario.training.tokens, best.wall_clock_days,
                                            req.constraints.deadline_days),
                     o.contexts[best.context].scenario.training.tokens / best.wall_clock_days,
                     req.constraints.power_mw > 0 ? fmt::format(", within {:g} MW", req.constraints.power_mw) : "");
  }
  const auto& n = o.counts;
  std::string pruned, infeasible;
  for (const auto& [rule, v] : n.pruned) pruned += fmt::format("{}{} {}", pruned.empty() ? "" : ", ", rule, v);
  for (const auto& [rule, v] : n.infeasible)
    infeasible += fmt::format("{}{} {}", infeasible.empty() ? "" : ", ", rule, v);
  s += fmt::format(
      "layouts: {} enumerated, {} pruned ({}), {} evaluated, {} infeasible ({}), {} feasible\n", n.enumerated,
      [&] {
        std::int64_t t = 0;
        for (const auto& [_, v] : n.pruned) t += v;
        return t;
      }(),
      pruned.empty() ? "none" : pruned, n.evaluated, n.evaluated - n.feasible, infeasible.empty() ? "none" : infeasible,
      n.feasible);
  for (const auto& c : o.contexts)
    if (!c.ok) s += fmt::format("  not searched: {}: {}\n", context_label(c), c.refused);
  if (o.probe_context >= 0) {
    if (o.probe_rank > 0)
      s += fmt::format("the scenario's own layout ({}) ranks #{} of {}: step {:.3f} s, {:.1f} days\n",
                       layout_string(o.probe.layout), o.probe_rank, n.feasible, o.probe.step_time_s,
                       o.probe.wall_clock_days);
    else
      s += fmt::format("the scenario's own layout ({}) is refused: {}\n", layout_string(o.probe.layout),
                       o.probe_refused);
  }
  if (!o.error_band.is_null()) s += "trust: " + error_band_line(o.error_band) + "\n";
  return s;
}

}  // namespace gwsim
