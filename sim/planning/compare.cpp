#include "gwsim/sim/planning/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/sim/planning/campus.h"
#include "gwsim/sim/report/report.h"

namespace gwsim {

namespace {

std::string bottleneck_key(const std::string& b) { return b.substr(0, b.find(" (")); }

bool dp_valid(const Scenario& sc, std::int64_t dp) {
  const auto& p = sc.parallelism;
  const auto& t = sc.training;
  if (dp < 1 || t.global_batch_seqs % (dp * p.micro_batch_seqs) != 0) return false;
  // One copy of the experts spans ep x expert_tp ranks; the copies tile dp x tp x cp (check_layout).
  if (p.ep > 1 && (dp * p.tp * p.cp) % expert_copy_ranks(p, t) != 0) return false;
  const std::int64_t micro = t.global_batch_seqs / (dp * p.micro_batch_seqs);
  if (p.pp > 1 && micro < p.pp) return false;
  if (p.schedule == PipelineSchedule::dualpipe && micro % 2 != 0) return false;
  return true;
}

// The valid dp nearest to `want` (the global batch, EP and schedule constraints
// hold); below it when both are equally near, so a budget is exceeded only to
// get closer to it. 0 if none.
int nearest_valid_dp(const Scenario& sc, double want) {
  const std::int64_t max_dp = sc.training.global_batch_seqs / sc.parallelism.micro_batch_seqs;
  std::int64_t below = 0, above = 0;
  for (std::int64_t dp = std::min<std::int64_t>(max_dp, static_cast<std::int64_t>(std::floor(want))); dp >= 1; --dp)
    if (dp_valid(sc, dp)) {
      below = dp;
      break;
    }
  for (std::int64_t dp = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(want))); dp <= max_dp; ++dp)
    if (dp_valid(sc, dp)) {
      above = dp;
      break;
    }
  if (below == 0) return static_cast<int>(above);
  if (above == 0) return static_cast<int>(below);
  return static_cast<int>(want / static_cast<double>(below) <= static_cast<double>(above) / want ? below : above);
}

}  // namespace

CompareBudget parse_compare_budget(const std::string& s) {
  if (s == "same_count") return CompareBudget::same_count;
  if (s == "same_power") return CompareBudget::same_power;
  if (s == "same_tpp") return CompareBudget::same_tpp;
  throw InputError("", "--budget", fmt::format("\"{}\": expected same_count, same_power or same_tpp", s));
}

std::string to_string(CompareBudget b) {
  switch (b) {
    case CompareBudget::same_count:
      return "same_count";
    case CompareBudget::same_power:
      return "same_power";
    case CompareBudget::same_tpp:
      return "same_tpp";
  }
  return "?";
}

namespace {

// A --gpus entry, NAME[@RULE:CAP].
struct ChipRequest {
  std::string name, rule, cap;
};

ChipRequest parse_chip_label(const std::string& label) {
  // NAME[@RULE:CAP]
  std::string name = label, rule, cap;
  if (auto at = label.find('@'); at != std::string::npos) {
    name = label.substr(0, at);
    auto colon = label.find(':', at);
    if (colon == std::string::npos || colon == at + 1 || colon + 1 == label.size())
      throw InputError("", "--gpus",
                       fmt::format("\"{}\": expected NAME or NAME@RULE:CAP "
                                   "(e.g. H100-SXM@2022-10:interconnect)",
                                   label));
    rule = label.substr(at + 1, colon - at - 1);
    cap = label.substr(colon + 1);
  }
  if (name.empty()) throw InputError("", "--gpus", fmt::format("\"{}\": expected a GPU name", label));
  return {name, rule, cap};
}

// The catalogue chip `base`, or its variant that complies with the request's
// export rule and cap (the caps it applied go into the row).
GpuSpec requested_gpu(const GpuSpec& base, const ChipRequest& req, const std::string& label, CompareRow& row) {
  GpuSpec gpu = base;
  if (!req.rule.empty()) {
    try {
      export_rules().find(req.rule);  // InputError listing the rule ids
      gpu = derive_compliant_variant(base, req.rule, req.cap, &row.caps_applied);
    } catch (const InputError& e) {
      std::string what = e.what();
      if (what.rfind("<input>: ", 0) == 0) what = what.substr(9);
      throw InputError("", "--gpus " + label, what);
    }
  }
  return gpu;
}

// What every row is compared against: the scenario on its own chip.
struct CompareBaseline {
  double power_fraction;     // of TDP, for the footprint of every chip
  std::string chip;          // the scenario's catalogue chip
  std::int64_t per_replica;  // GPUs of one data-parallel replica, tp*pp*cp
};

CompareBaseline run_baseline(const Scenario& sc, Comparison& c) {
  const auto base_run = run_training(sc);
  c.baseline_gpu = sc.gpu.name;
  c.baseline_gpus = sc.cluster.gpus;
  // Unrounded (the report keeps six digits), so that the scenario's own chip
  // gets its own count back.
  const double base_fraction =
      sc.power.gpu_power_from_compute
          ? gpu_power_fraction_from_compute(base_run.step.compute_fraction, sc.power.gpu_idle_fraction_of_tdp)
          : sc.power.gpu_power_fraction_of_tdp;
  c.baseline_facility_mw =
      cluster_footprint(sc.cluster.gpus, sc.gpu, sc.cluster, sc.power, base_fraction, sc.cost).facility_mw;
  c.baseline_tpp = chip_metrics(sc.gpu).tpp * static_cast<double>(sc.cluster.gpus);
  c.baseline_bottleneck = base_run.step.bottleneck;
  const std::string scenario_chip = sc.gpu_variant.active ? sc.gpu_variant.base_gpu : sc.gpu.name;
  const std::int64_t per_replica = static_cast<std::int64_t>(sc.parallelism.tp) * sc.parallelism.pp * sc.parallelism.cp;
  return {base_fraction, scenario_chip, per_replica};
}

// The scenario moved onto `gpu` (`base`: its catalogue chip): its profile,
// scale-up domain and node shape, and its precision where the chip lacks FP8.
Scenario scenario_on_chip(const Scenario& sc, const GpuSpec& base, const GpuSpec& gpu, const ChipRequest& req,
                          const CompareBaseline& baseline, CompareRow& row) {
  Scenario s = sc;
  s.gpu = gpu;
  if (!req.rule.empty())
    s.gpu_variant = GpuVariantRequest{true, base.name, req.rule, req.cap, {}, row.caps_applied};
  else
    s.gpu_variant = GpuVariantRequest{};
  if (base.name != baseline.chip) {
    s.profile = preferred_profile_for(base);
    retarget_gpu_defaults(s, base);
    // The chip's own scale-up domain; nodes no larger than it, NICs per GPU
    // kept.
    const int domain = static_cast<int>(base.scaleup_domain_gpus.value);
    const double nics_per_gpu = static_cast<double>(sc.cluster.nics_per_node) / sc.cluster.gpus_per_node;
    s.cluster.scaleup_domain_gpus = domain;
    if (s.cluster.gpus_per_node > domain || domain % s.cluster.gpus_per_node != 0) {
      s.cluster.gpus_per_node = std::min(domain, 8);
      s.cluster.nics_per_node = std::max(1, static_cast<int>(std::lround(nics_per_gpu * s.cluster.gpus_per_node)));
    }
    s.cluster.scaleup_per_direction_bps = gpu.scaleup_per_direction_bps();
  } else {
    s.cluster.scaleup_per_direction_bps =
        std::min(sc.cluster.scaleup_per_direction_bps, gpu.scaleup_per_direction_bps());
  }
  s.cluster.gpu_name = base.name;
  row.profile = s.profile.name;
  if (s.training.precision == Precision::fp8 && !gpu.supports(Precision::fp8)) {
    s.training.precision = Precision::bf16;
    row.notes.push_back(fmt::format("{} has no FP8 tensor cores: run in BF16", gpu.name));
  }
  return s;
}

// GPU count from the budget.
std::int64_t budget_gpus(const Scenario& sc, const Scenario& s, const GpuSpec& gpu, CompareBudget budget,
                         const Comparison& c, const CompareBaseline& baseline, const CompareRow& row) {
  double target = static_cast<double>(sc.cluster.gpus);
  if (budget == CompareBudget::same_tpp) {
    target = c.baseline_tpp / row.tpp_per_gpu;
  } else if (budget == CompareBudget::same_power) {
    // Per-GPU facility power depends a little on the fabric (and so on the
    // count): iterate.
    for (int i = 0; i < 3; ++i) {
      const auto fp = cluster_footprint(std::max<std::int64_t>(1, std::llround(target)), gpu, s.cluster, s.power,
                                        baseline.power_fraction, s.cost);
      target = c.baseline_facility_mw * 1e6 / fp.per_gpu.facility_w;
    }
  }
  std::int64_t gpus = static_cast<std::int64_t>(std::floor(target * (1 + 1e-9)));
  if (std::fabs(target - std::round(target)) < 1e-6 * target) gpus = std::llround(target);
  return gpus;
}

// Runs the scenario on the row's chip and fills in the row's results.
void run_row(Scenario& s, const std::string& label, const Comparison& c, CompareRow& row) {
  s.resolved["cluster"] = nlohmann::json{{"compare", label}, {"gpus", row.gpus}};
  try {
    const auto run = run_training(s);
    const auto& r = run.report;
    row.ok = true;
    row.step_time_s = run.step.step_time_s;
    row.tokens_per_s = run.step.tokens_per_s;
    row.mfu = r["training"]["mfu"].get<double>();
    row.days = r["training"]["days"].get<double>();
    row.wall_clock_days = r["goodput"]["wall_clock_days"].get<double>();
    row.goodput = r["goodput"]["goodput_fraction"].get<double>();
    row.gpu_hours = r["cost"]["run_gpu_hours"].get<double>();
    row.facility_mw = r["power"]["facility_mw"].get<double>();
    row.capex_usd = r["cost"]["capex_usd"].get<double>();
    row.cost_owned_usd = r["cost"]["run_cost_owned_usd"].get<double>();
    row.cost_rental_usd = r["cost"]["run_cost_rental_usd"].get<double>();
    row.bottleneck = run.step.bottleneck;
    row.bottleneck_moved = bottleneck_key(row.bottleneck) != bottleneck_key(c.baseline_bottleneck);
  } catch (const InfeasibleError& e) {
    // Memory or layout: say why rather than stop the comparison.
    row.refused = e.what();
  }
}

// The row of one --gpus entry.
CompareRow compare_row(const Scenario& sc, const std::string& label, CompareBudget budget, const Comparison& c,
                       const CompareBaseline& baseline) {
  CompareRow row;
  row.label = label;
  const ChipRequest req = parse_chip_label(label);
  const GpuSpec& base = find_gpu(req.name, "", "--gpus");
  const GpuSpec gpu = requested_gpu(base, req, label, row);
  row.gpu = gpu.name;
  row.tpp_per_gpu = chip_metrics(gpu).tpp;

  Scenario s = scenario_on_chip(sc, base, gpu, req, baseline, row);
  row.target_gpus = budget_gpus(sc, s, gpu, budget, c, baseline, row);
  const std::int64_t per_replica = baseline.per_replica;
  const int dp = nearest_valid_dp(s, static_cast<double>(row.target_gpus) / static_cast<double>(per_replica));
  if (dp == 0) {
    row.refused = fmt::format(
        "{} GPUs admit no layout with tp*pp*cp = {} "
        "and the global batch of {} sequences",
        row.target_gpus, per_replica, sc.training.global_batch_seqs);
    return row;
  }
  s.parallelism.dp = dp;
  s.cluster.gpus = static_cast<std::int64_t>(dp) * per_replica;
  row.dp = dp;
  row.gpus = s.cluster.gpus;
  if (row.gpus != row.target_gpus)
    row.notes.push_back(
        fmt::format("{} GPUs asked by the budget, {} used: dp {} is the nearest that "
                    "keeps the global batch, EP and schedule valid",
                    row.target_gpus, row.gpus, dp));
  run_row(s, label, c, row);
  return row;
}

}  // namespace

Comparison compare_chips(const Scenario& sc, const std::vector<std::string>& chips, CompareBudget budget) {
  if (chips.empty()) throw InputError("", "--gpus", "expected at least one GPU name");
  Comparison c;
  c.budget = budget;
  c.scenario = sc.name;
  const CompareBaseline baseline = run_baseline(sc, c);
  for (const auto& label : chips) c.rows.push_back(compare_row(sc, label, budget, c, baseline));
  return c;
}

nlohmann::json comparison_to_json(const Comparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows) {
    nlohmann::json j = {{"label", r.label},
                        {"gpu", r.gpu},
                        {"profile", r.profile},
                        {"caps_applied", r.caps_applied},
                        {"notes", r.notes},
                        {"ok", r.ok},
                        {"target_gpus", r.target_gpus},
                        {"tpp_per_gpu", round_significant(r.tpp_per_gpu)}};
    if (r.ok) {
      j.update({{"gpus", r.gpus},
                {"dp", r.dp},
                {"step_time_s", round_significant(r.step_time_s)},
                {"tokens_per_s", round_significant(r.tokens_per_s)},
                {"mfu", round_significant(r.mfu)},
                {"days", round_significant(r.days)},
                {"wall_clock_days", round_significant(r.wall_clock_days)},
                {"goodput_fraction", round_significant(r.goodput)},
                {"gpu_hours", round_significant(r.gpu_hours)},
                {"facility_mw", round_significant(r.facility_mw)},
                {"capex_usd", round_significant(r.capex_usd)},
                {"cost_owned_usd", round_significant(r.cost_owned_usd)},
                {"cost_rental_usd", round_significant(r.cost_rental_usd)},
                {"bottleneck", r.bottleneck},
                {"bottleneck_moved", r.bottleneck_moved}});
    } else {
      j["refused"] = r.refused;
    }
    rows.push_back(j);
  }
  return {{"schema", "gwsim.compare/1"},
          {"scenario", c.scenario},
          {"budget", to_string(c.budget)},
          {"baseline",
           {{"gpu", c.baseline_gpu},
            {"gpus", c.baseline_gpus},
            {"facility_mw", round_significant(c.baseline_facility_mw)},
            {"tpp_total", round_significant(c.baseline_tpp)},
            {"bottleneck", c.baseline_bottleneck}}},
          {"rows", rows}};
}

std::string format_comparison(const Comparison& c) {
  std::string s =
      fmt::format("{} — budget {}: baseline {} x {}, {:.2f} MW facility, bottleneck {}\n", c.scenario,
                  to_string(c.budget), c.baseline_gpus, c.baseline_gpu, c.baseline_facility_mw, c.baseline_bottleneck);
  s += fmt::format("{:<34} {:>8} {:>9} {:>6} {:>8} {:>8} {:>11} {:>7} {:>10}  {}\n", "chip", "GPUs", "step s", "MFU",
                   "days", "wall d", "GPU-hours", "MW", "cost $", "bottleneck");
  for (const auto& r : c.rows) {
    if (!r.ok) {
      s += fmt::format("{:<34} {:>8}  cannot run: {}\n", r.label, r.target_gpus, r.refused);
      continue;
    }
    s += fmt::format(
        "{:<34} {:>8} {:>9.3f} {:>5.1f}% {:>8.1f} {:>8.1f} "
        "{:>11.4g} {:>7.1f} {:>10.3g}  {}{}\n",
        r.label, r.gpus, r.step_time_s, 100 * r.mfu, r.days, r.wall_clock_days, r.gpu_hours, r.facility_mw,
        r.cost_rental_usd, r.bottleneck, r.bottleneck_moved ? "  [moved]" : "");
    for (const auto& cap : r.caps_applied) s += "      cap: " + cap + "\n";
    for (const auto& n : r.notes) s += "      note: " + n + "\n";
  }
  return s;
}

}  // namespace gwsim
