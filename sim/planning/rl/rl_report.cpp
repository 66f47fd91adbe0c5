#include "gwsim/sim/planning/rl/rl_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/planning/campus.h"

namespace gwsim {

namespace {

constexpr const char* kRlReportSchema = "gwsim.rl-report/1";

nlohmann::json profile_json(const Profile& p) { return {{"name", p.name}, {"kind", to_string(p.kind)}}; }

// The sampled output lengths: what the tail model was fed.
nlohmann::json lengths_json(const RlScenario& s) {
  std::vector<double> l = s.output_lengths;
  std::sort(l.begin(), l.end());
  double sum = 0, truncated = 0;
  for (const double x : l) {
    sum += x;
    if (x >= s.output_len.max_tokens) ++truncated;
  }
  const double n = static_cast<double>(l.size());
  auto quantile = [&](double q) { return l[static_cast<std::size_t>(std::min(n - 1, std::floor(q * (n - 1))))]; };
  return {{"mean", round_significant(sum / n)},
          {"p50", quantile(0.5)},
          {"p90", quantile(0.9)},
          {"p99", quantile(0.99)},
          {"max", l.back()},
          {"max_tokens", s.output_len.max_tokens},
          {"truncated_share", round_significant(truncated / n)}};
}

nlohmann::json step_json(const RlScenario& s, const RlStep& st) {
  nlohmann::json j;
  j["step_s"] = round_significant(st.step_s);
  j["breakdown_s"] = nlohmann::json::object();
  for (const auto& [k, v] : st.breakdown_s) j["breakdown_s"][k] = round_significant(v);
  j["critical_path"] = st.critical_path;
  j["rollout_side_s"] = round_significant(st.rollout_side_s);
  j["training_side_s"] = round_significant(st.training_side_s);
  j["hidden_s"] =
      round_significant(st.critical_path == "serial" ? 0 : std::fabs(st.rollout_side_s - st.training_side_s));
  const double gpus = static_cast<double>(s.total_gpus());
  j["gpu_hours"] = round_significant(gpus * st.step_s / 3600);
  j["tokens_generated"] = round_significant(st.tokens_generated);
  j["tokens_generated_per_s"] = round_significant(st.tokens_generated / st.step_s);
  j["tokens_generated_per_s_per_gpu"] = round_significant(st.tokens_generated / st.step_s / gpus);
  j["tail_idle_gpu_s"] = round_significant(st.rollout.tail_idle_gpu_s);
  j["tail_idle_share_of_rollout"] = round_significant(st.rollout.tail_idle_s / st.rollout.phase_s);
  return j;
}

nlohmann::json rollout_json(const RlStep& st) {
  const RolloutPhase& r = st.rollout;
  return {{"instances", r.instances},
          {"instance_gpus", r.instance_gpus},
          {"sequences", st.request.lengths.size()},
          {"slots_per_gpu", round_significant(r.slots_per_gpu)},
          {"slots_chosen_by", r.slots_chosen_by},
          {"phase_s", round_significant(r.phase_s)},
          {"prefill_s", round_significant(r.prefill_s)},
          {"decode_s", round_significant(r.decode_s)},
          {"packed_decode_s", round_significant(r.packed_decode_s)},
          {"tail_idle_s", round_significant(r.tail_idle_s)},
          {"full_batch_step_ms", round_significant(r.full_batch_step_s * 1e3)},
          {"tokens_per_step_per_sequence", round_significant(r.tokens_per_step_per_sequence)},
          {"decode_step_evaluations", r.decode_step_evaluations}};
}

nlohmann::json passes_json(const RlScenario& s, const RlStep& st) {
  return {{"mini_batches", s.mini_batches},
          {"update_step_s", round_significant(st.policy.step_s)},
          {"update_global_batch_seqs", s.training.training.global_batch_seqs},
          {"update_seq_len", s.training.training.seq_len},
          {"update_dp", s.training.parallelism.dp},
          {"update_memory_gb_per_gpu", round_significant(st.policy.memory_gb_per_gpu)},
          {"forward_share", round_significant(st.policy.forward_share)},
          {"policy_logprob_s", round_significant(st.policy.forward_s)},
          {"reference_logprob_s", round_significant(st.reference_forward_s)},
          {"reference_refresh_s", round_significant(st.reference_refresh_s)},
          {"critic_forward_s", round_significant(st.critic_forward_s)},
          {"critic_update_s", round_significant(st.critic_update_s)},
          {"reward_model_s", round_significant(st.reward_model_s)},
          {"reward_cpu_s", round_significant(st.reward_cpu_s)},
          {"policy_update_s", round_significant(st.policy.update_s)}};
}

nlohmann::json pools_json(const RlScenario& s, const RlStep& st) {
  auto pool = [&](const char* name, std::int64_t gpus, double busy) {
    return nlohmann::json{{"name", name},
                          {"gpus", gpus},
                          {"busy_s", round_significant(busy)},
                          {"utilisation", round_significant(busy / st.step_s)}};
  };
  if (s.placement == RlPlacement::colocated)
    return nlohmann::json::array({pool("shared", s.training_gpus, st.training_pool_busy_s)});
  return nlohmann::json::array({pool("rollout", s.rollout_gpus, st.rollout_pool_busy_s),
                                pool("training", s.training_gpus, st.training_pool_busy_s)});
}

// The run: wall clock, GPU-hours, rental dollars per pool, and the power and capital of the
// cluster the pools form (the training report's footprint code, campus.h).
void add_run(nlohmann::json& r, const RlScenario& s, const RlStep& st, std::vector<std::string>& warnings) {
  const double wall_s = st.step_s * static_cast<double>(s.steps);
  const double training_usd = s.training.cost.usd_per_gpu_hour;
  double usd = static_cast<double>(s.training_gpus) * wall_s / 3600 * training_usd;
  if (s.placement == RlPlacement::disaggregated)
    usd += static_cast<double>(s.rollout_gpus) * wall_s / 3600 * s.rollout.usd_per_gpu_hour;
  const double gpus = static_cast<double>(s.total_gpus());
  nlohmann::json run = {{"steps", s.steps},
                        {"wall_s", round_significant(wall_s)},
                        {"days", round_significant(wall_s / 86400)},
                        {"gpu_hours", round_significant(gpus * wall_s / 3600)},
                        {"cost_usd", round_significant(usd)},
                        {"tokens_generated", round_significant(st.tokens_generated * static_cast<double>(s.steps))}};
  if (s.placement == RlPlacement::colocated || s.rollout.gpu.name == s.training.gpu.name) {
    const auto f = cluster_footprint(s.total_gpus(), s.training.gpu, s.training.cluster, s.training.power,
                                     s.training.power.gpu_power_fraction_of_tdp, s.training.cost);
    r["power"] = power_json(f, s.training.power, wall_s, st.tokens_generated * static_cast<double>(s.steps));
    r["cost"] = cost_json(f, s.training.cost, wall_s);
    run["facility_mw"] = round_significant(f.facility_mw);
    run["it_mw"] = round_significant(f.it_mw);
    run["energy_mwh"] = round_significant(f.facility_mw * wall_s / 3600);
  } else {
    warnings.push_back(fmt::format("the pools hold different chips ({} and {}): no power or capital section",
                                   s.training.gpu.name, s.rollout.gpu.name));
  }
  r["run"] = run;
}

}  // namespace

nlohmann::json run_rl(const RlScenario& s, const std::string& backend) {
  const RlStep st = price_rl_step(s, backend);
  std::vector<std::string> warnings;
  nlohmann::json r;
  r["schema"] = kRlReportSchema;
  r["scenario"] = s.resolved;
  r["provenance"] = {{"backend", backend},
                     {"seed", s.seed},
                     {"training_scenario", s.training.file},
                     {"rollout_scenario", s.rollout.file},
                     {"training_profile", profile_json(s.training.profile)},
                     {"rollout_profile", profile_json(s.rollout.profile)}};
  r["algorithm"] = {{"kind", s.algorithm == RlAlgorithm::grpo ? "grpo" : "ppo"},
                    {"samples_per_prompt", s.samples_per_prompt},
                    {"reference", s.reference},
                    {"critic", s.critic.has_value()},
                    {"reward", s.reward == RewardKind::rule ? "rule" : "model"}};
  r["placement"] = {{"kind", s.placement == RlPlacement::colocated ? "colocated" : "disaggregated"},
                    {"training_gpus", s.training_gpus},
                    {"rollout_gpus", s.rollout_gpus},
                    {"total_gpus", s.total_gpus()},
                    {"off_policy_overlap", s.off_policy_overlap}};
  r["samples"] = {{"prompts_per_step", s.prompts_per_step},
                  {"samples_per_step", s.samples_per_step()},
                  {"prompt_len", s.prompt_len},
                  {"partial_rollout_cutoff_tokens", s.partial_rollout_cutoff_tokens},
                  {"output_len", lengths_json(s)}};
  r["step"] = step_json(s, st);
  r["rollout"] = rollout_json(st);
  r["passes"] = passes_json(s, st);
  r["sync"] = {{"kind", st.sync.kind},
               {"op", st.sync.op},
               {"bytes", round_significant(st.sync.bytes)},
               {"group", st.sync.group},
               {"link", st.sync.link},
               {"time_s", round_significant(st.sync.time_s)},
               {"engine_precision", to_string(s.rollout.precision)}};
  r["pools"] = pools_json(s, st);
  add_run(r, s, st, warnings);
  if (s.rollout.decode.tpot_slo_s > 0)
    warnings.push_back("the rollout scenario's tpot_slo_ms is ignored: rollouts run at the largest batch that fits");
  for (const auto* p : {&s.training.profile, &s.rollout.profile})
    if (p->kind == ProfileKind::published && (p == &s.training.profile || p->name != s.training.profile.name))
      warnings.push_back("profile \"" + p->name + "\" is published (datasheet and public benchmarks), not measured");
  r["warnings"] = warnings;
  return r;
}

std::string format_rl_summary(const nlohmann::json& r) {
  const auto& st = r["step"];
  const auto& bd = st["breakdown_s"];
  const auto& pl = r["placement"];
  const auto& ro = r["rollout"];
  const auto& pa = r["passes"];
  const auto& sm = r["samples"];
  const auto& ol = sm["output_len"];
  auto d = [](const nlohmann::json& j) { return j.get<double>(); };
  std::string s =
      fmt::format("{} — {} (x{} samples per prompt), {} on {} GPUs (update profile {} [{}], rollout profile {} [{}])\n",
                  r["scenario"]["name"].get<std::string>(), r["algorithm"]["kind"].get<std::string>(),
                  r["algorithm"]["samples_per_prompt"].get<int>(), pl["kind"].get<std::string>(),
                  pl["total_gpus"].get<std::int64_t>(), r["provenance"]["training_profile"]["name"].get<std::string>(),
                  r["provenance"]["training_profile"]["kind"].get<std::string>(),
                  r["provenance"]["rollout_profile"]["name"].get<std::string>(),
                  r["provenance"]["rollout_profile"]["kind"].get<std::string>());
  s += fmt::format(
      "  step                 {:.1f} s: rollout {:.1f} + tail idle {:.1f} + log-prob {:.1f} + reward {:.1f} + update "
      "{:.1f} "
      "+ resync {:.2f} ({})\n",
      d(st["step_s"]), d(bd["rollout"]), d(bd["tail_idle"]), d(bd["logprob"]), d(bd["reward"]), d(bd["update"]),
      d(bd["resync"]), st["critical_path"].get<std::string>());
  s += fmt::format(
      "  samples              {} samples of {:g}-token prompts; output mean {:.0f}, p50 {:g}, p90 {:g}, max {:g} "
      "tokens "
      "({:.1f} % hit the {:g} cap)\n",
      sm["samples_per_step"].get<std::int64_t>(), d(sm["prompt_len"]), d(ol["mean"]), d(ol["p50"]), d(ol["p90"]),
      d(ol["max"]), 100 * d(ol["truncated_share"]), d(ol["max_tokens"]));
  s += fmt::format(
      "  rollout              {} instances x {} GPUs, {:g} sequences/GPU ({}); phase {:.1f} s (prefill {:.2f} s), "
      "full-batch step {:.2f} ms; tail idle {:.1f} s per GPU ({:.1f} % of the phase)\n",
      ro["instances"].get<std::int64_t>(), ro["instance_gpus"].get<int>(), d(ro["slots_per_gpu"]),
      ro["slots_chosen_by"].get<std::string>(), d(ro["phase_s"]), d(ro["prefill_s"]), d(ro["full_batch_step_ms"]),
      d(ro["tail_idle_s"]), 100 * d(st["tail_idle_share_of_rollout"]));
  s += fmt::format("  generation           {:.4g} tokens per step, {:.0f} tokens/s ({:.1f} per GPU)\n",
                   d(st["tokens_generated"]), d(st["tokens_generated_per_s"]), d(st["tokens_generated_per_s_per_gpu"]));
  s += fmt::format(
      "  passes               update {} x {:.2f} s (dp {}, {} seqs of {} tokens); log-prob policy {:.1f} s, reference "
      "{:.1f} s, critic {:.1f} s; reward model {:.1f} s, CPU reward {:.1f} s\n",
      pa["mini_batches"].get<int>(), d(pa["update_step_s"]), pa["update_dp"].get<int>(),
      pa["update_global_batch_seqs"].get<std::int64_t>(), pa["update_seq_len"].get<std::int64_t>(),
      d(pa["policy_logprob_s"]), d(pa["reference_logprob_s"]), d(pa["critic_forward_s"]), d(pa["reward_model_s"]),
      d(pa["reward_cpu_s"]));
  const auto& sy = r["sync"];
  s += fmt::format("  resync               {} ({} of {:.2f} GB over {} GPUs, {}, {}): {:.2f} s\n",
                   sy["kind"].get<std::string>(), sy["op"].get<std::string>(), d(sy["bytes"]) / 1e9,
                   sy["group"].get<int>(), sy["link"].get<std::string>(), sy["engine_precision"].get<std::string>(),
                   d(sy["time_s"]));
  std::string pools;
  for (const auto& p : r["pools"])
    pools += fmt::format("{}{} {} GPUs {:.1f} % busy", pools.empty() ? "" : "; ", p["name"].get<std::string>(),
                         p["gpus"].get<std::int64_t>(), 100 * d(p["utilisation"]));
  s += fmt::format("  pools                {}\n", pools);
  const auto& run = r["run"];
  s += fmt::format("  per step             {:.1f} GPU-hours\n", d(st["gpu_hours"]));
  s += fmt::format("  run                  {} steps: {:.2f} days, {:.4g} GPU-hours, ${:.4g}",
                   run["steps"].get<std::int64_t>(), d(run["days"]), d(run["gpu_hours"]), d(run["cost_usd"]));
  if (run.contains("facility_mw"))
    s += fmt::format(", {:.2f} MW facility ({:.2f} MW IT), {:.4g} MWh", d(run["facility_mw"]), d(run["it_mw"]),
                     d(run["energy_mwh"]));
  s += "\n";
  for (const auto& w : r["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  return s;
}

}  // namespace gwsim
