// `gwsim rl --compare-placements`: the scenario's GPUs placed every way worth comparing (rl_report.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gwsim/common/input_error.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/planning/rl/rl_report.h"

namespace gwsim {

namespace {

struct Candidate {
  bool colocated = false;
  std::int64_t training_gpus = 0, rollout_gpus = 0;
  bool overlap = false;
  std::string override_text() const {
    if (colocated) return fmt::format("placement={{\"kind\":\"colocated\",\"gpus\":{}}}", training_gpus);
    return fmt::format(
        "placement={{\"kind\":\"disaggregated\",\"training_gpus\":{},\"rollout_gpus\":{},\"off_policy_overlap\":{}}}",
        training_gpus, rollout_gpus, overlap);
  }
};

// Colocated on all of them, then training pools in whole update layouts whose remainder is whole
// engine instances, at most kMaxRlPoolSplits of them evenly spread, each without and with overlap.
std::vector<Candidate> candidates(const RlScenario& base) {
  const std::int64_t total = base.total_gpus();
  const auto& p = base.training.parallelism;
  // The update's pool grows in whole layouts: tp x pp x cp GPUs, times what dp needs so that one
  // copy of the experts (ep x expert_tp ranks) divides dp x tp x cp, in whole nodes.
  const std::int64_t inner = static_cast<std::int64_t>(p.tp) * p.cp;
  const std::int64_t copy = p.ep > 1 ? expert_copy_ranks(p, base.training.training) : 1;
  const std::int64_t layout = std::lcm(inner * p.pp * (copy / std::gcd(copy, inner)),
                                       static_cast<std::int64_t>(base.training.cluster.gpus_per_node));
  const std::int64_t instance = base.rollout.decode.layout.gpus;
  std::vector<Candidate> out;
  if (total % layout == 0 && total % instance == 0) out.push_back({true, total, total, false});
  std::vector<std::int64_t> splits;
  for (std::int64_t t = layout; t < total && splits.size() < 100000; t += layout)
    if ((total - t) % instance == 0) splits.push_back(t);
  const std::size_t n = splits.size(), k = std::min<std::size_t>(n, kMaxRlPoolSplits);
  std::int64_t previous = -1;
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t index =
        k == 1 ? n / 2 : static_cast<std::size_t>(std::llround(double(i) * double(n - 1) / double(k - 1)));
    const std::int64_t t = splits[index];
    if (t == previous) continue;
    previous = t;
    for (const bool overlap : {false, true}) out.push_back({false, t, total - t, overlap});
  }
  return out;
}

nlohmann::json row_json(const Candidate& c, const RlScenario& s, const RlStep& st) {
  nlohmann::json row = {{"placement", c.colocated ? "colocated" : "disaggregated"},
                        {"training_gpus", c.training_gpus},
                        {"rollout_gpus", c.rollout_gpus},
                        {"off_policy_overlap", c.overlap},
                        {"step_s", round_significant(st.step_s)},
                        {"critical_path", st.critical_path},
                        {"rollout_side_s", round_significant(st.rollout_side_s)},
                        {"training_side_s", round_significant(st.training_side_s)},
                        {"resync_s", round_significant(st.sync.time_s)},
                        {"tokens_generated_per_s", round_significant(st.tokens_generated / st.step_s)},
                        {"gpu_hours_per_step", round_significant(double(s.total_gpus()) * st.step_s / 3600)},
                        {"run_days", round_significant(st.step_s * double(s.steps) / 86400)}};
  row["rollout_utilisation"] = round_significant(st.rollout_pool_busy_s / st.step_s);
  row["training_utilisation"] = round_significant(st.training_pool_busy_s / st.step_s);
  return row;
}

}  // namespace

nlohmann::json compare_rl_placements(const std::string& path, const std::vector<std::string>& overrides,
                                     const std::string& backend) {
  const RlScenario base = load_rl_scenario(path, overrides);
  nlohmann::json rows = nlohmann::json::array();
  double best_step = 0;
  std::size_t best = 0;
  for (const Candidate& c : candidates(base)) {
    std::vector<std::string> with = overrides;
    with.push_back(c.override_text());
    try {
      const RlScenario s = load_rl_scenario(path, with);
      const RlStep st = price_rl_step(s, backend);
      rows.push_back(row_json(c, s, st));
      if (best_step == 0 || st.step_s < best_step) {
        best_step = st.step_s;
        best = rows.size() - 1;
      }
    } catch (const InputError& e) {
      // A split whose pools cannot hold the update or the engines: listed with the reason.
      rows.push_back({{"placement", c.colocated ? "colocated" : "disaggregated"},
                      {"training_gpus", c.training_gpus},
                      {"rollout_gpus", c.rollout_gpus},
                      {"off_policy_overlap", c.overlap},
                      {"infeasible", e.what()}});
    }
  }
  nlohmann::json out = {{"schema", "gwsim.rl-comparison/1"},
                        {"scenario", base.name},
                        {"total_gpus", base.total_gpus()},
                        {"backend", backend},
                        {"rows", rows}};
  if (best_step > 0) out["fastest"] = best;
  return out;
}

std::string format_rl_comparison(const nlohmann::json& c) {
  std::string s = fmt::format("{} — placements of {} GPUs (step time, fastest first marked *)\n",
                              c["scenario"].get<std::string>(), c["total_gpus"].get<std::int64_t>());
  s +=
      fmt::format("  {:<14} {:>9} {:>9} {:>7} {:>10} {:>10} {:>10} {:>8} {:>12} {:>7} {:>7}\n", "placement", "training",
                  "rollout", "overlap", "step s", "rollout s", "train s", "resync s", "tokens/s", "util R", "util T");
  for (std::size_t i = 0; i < c["rows"].size(); ++i) {
    const auto& r = c["rows"][i];
    const bool fastest = c.contains("fastest") && c["fastest"].get<std::size_t>() == i;
    std::string head = fmt::format("{}{:<13} {:>9} {:>9} {:>7}", fastest ? "*" : " ", r["placement"].get<std::string>(),
                                   r["training_gpus"].get<std::int64_t>(), r["rollout_gpus"].get<std::int64_t>(),
                                   r["off_policy_overlap"].get<bool>() ? "yes" : "no");
    if (r.contains("infeasible")) {
      s += " " + head + "  infeasible: " + r["infeasible"].get<std::string>() + "\n";
      continue;
    }
    s += fmt::format(" {} {:>10.1f} {:>10.1f} {:>10.1f} {:>8.2f} {:>12.0f} {:>6.1f}% {:>6.1f}%\n", head,
                     r["step_s"].get<double>(), r["rollout_side_s"].get<double>(), r["training_side_s"].get<double>(),
                     r["resync_s"].get<double>(), r["tokens_generated_per_s"].get<double>(),
                     100 * r["rollout_utilisation"].get<double>(), 100 * r["training_utilisation"].get<double>());
  }
  return s;
}

}  // namespace gwsim
