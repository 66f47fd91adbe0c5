#include "gwsim/sim/report/report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/output_file.h"
#include "gwsim/common/paths.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/engines/step_backend.h"
#include "gwsim/sim/planning/campus.h"
#include "gwsim/sim/planning/failure_injection.h"
#include "gwsim/sim/planning/goodput.h"
#include "gwsim/sim/validation/error_band.h"

namespace gwsim {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

nlohmann::json provenance_json(const Scenario& sc, const std::string& backend) {
  nlohmann::json p = {
      {"gwsim_version", version()},
      {"backend", backend},
      {"profile", {{"name", sc.profile.name}, {"kind", to_string(sc.profile.kind)}, {"source", sc.profile.source}}},
      {"scenario_file", sc.file},
      {"seed", sc.seed},
  };
  if (!sc.profile.derivation.empty()) p["profile"]["derivation"] = sc.profile.derivation;
  return p;
}

// Throughput, MFU by each convention, the run's days, GPU-hours and dollars.
nlohmann::json throughput_json(const Scenario& sc, const TrainingPlan& plan, const StepEstimate& st) {
  const double gpus = static_cast<double>(sc.cluster.gpus);
  const double peak_bf16 = sc.gpu.peak_flops(Precision::bf16);
  nlohmann::json t;
  t["step_time_s"] = round_significant(st.step_time_s);
  t["tokens_per_step"] = plan.tokens_per_step;
  t["micro_batches_per_replica"] = plan.micro_batches;
  if (plan.model.moe && plan.par.ep > 1 && sc.training.moe_hottest_rank_load > 0)
    t["moe_hottest_rank_load"] = round_significant(plan.hottest_rank_load);
  t["tokens_per_s"] = round_significant(st.tokens_per_s);
  const auto& fpt = plan.flops_per_token;
  const double achieved_noncausal = fpt.model_noncausal * st.tokens_per_s / gpus;
  const double achieved_causal = fpt.model_causal * st.tokens_per_s / gpus;
  const double achieved_hw = fpt.hardware * st.tokens_per_s / gpus;
  t["flop_convention"] =
      "model FLOPs = 3 x forward FLOPs of every GEMM and the attention core, full (non-causal) attention matrix, "
      "no recomputation (Megatron-LM / PaLM convention); MFU against the dense BF16 peak";
  t["model_tflops_per_gpu"] = round_significant(achieved_noncausal / 1e12);
  t["mfu"] = round_significant(achieved_noncausal / peak_bf16);
  // Against the peak of the GEMM precision actually used: for FP8 training the BF16-peak MFU (the
  // convention DeepSeek reports) can approach 100% on chips whose FP8 rate is twice their BF16 rate.
  t["mfu_at_compute_precision"] = round_significant(achieved_noncausal / sc.gpu.peak_flops(sc.training.precision));
  t["model_tflops_per_gpu_causal"] = round_significant(achieved_causal / 1e12);
  t["mfu_causal"] = round_significant(achieved_causal / peak_bf16);
  t["hardware_tflops_per_gpu"] = round_significant(achieved_hw / 1e12);
  t["flops_per_token"] = {{"model_noncausal", round_significant(fpt.model_noncausal)},
                          {"model_causal", round_significant(fpt.model_causal)},
                          {"hardware", round_significant(fpt.hardware)}};
  const double gpu_hours_per_tt = gpus * (1e12 / st.tokens_per_s) / 3600;
  t["gpu_hours_per_trillion_tokens"] = round_significant(gpu_hours_per_tt);
  t["tokens"] = sc.training.tokens;
  const double run_s = sc.training.tokens / st.tokens_per_s;
  t["days"] = round_significant(run_s / 86400);
  t["gpu_hours"] = round_significant(gpus * run_s / 3600);
  t["cost_usd"] = round_significant(gpus * run_s / 3600 * sc.cost.usd_per_gpu_hour);
  return t;
}

// The "training" section: throughput plus where the step's time goes.
nlohmann::json training_json(const Scenario& sc, const TrainingPlan& plan, const StepEstimate& st) {
  nlohmann::json t = throughput_json(sc, plan, st);
  nlohmann::json bd;
  for (const auto& [k, v] : st.breakdown_s) bd[k] = round_significant(v);
  t["breakdown_s"] = bd;
  t["per_micro_batch_s"] = {{"forward", round_significant(st.forward_s)},
                            {"backward_input", round_significant(st.backward_input_s)},
                            {"backward_weight", round_significant(st.backward_weight_s)},
                            {"recompute", round_significant(st.recompute_s)}};
  nlohmann::json by_class;
  for (const auto& [k, v] : st.compute_by_class_s) by_class[to_string(k)] = round_significant(v);
  t["per_micro_batch_compute_by_class_s"] = by_class;
  nlohmann::json top_ops = nlohmann::json::array();
  for (const auto& o : st.top_ops)
    top_ops.push_back({{"name", o.name},
                       {"class", to_string(o.op_class)},
                       {"precision", o.precision},
                       {"time_s", round_significant(o.time_s)},
                       {"tflops", o.time_s > 0 ? round_significant(o.flops / o.time_s / 1e12) : 0.0},
                       {"flops", round_significant(o.flops)},
                       {"bytes", round_significant(o.bytes)}});
  t["top_ops_per_micro_batch"] = top_ops;
  t["bottleneck"] = st.bottleneck;
  t["critical_stage"] = plan.critical_stage;
  return t;
}

nlohmann::json communication_json(const StepEstimate& st) {
  nlohmann::json comms = nlohmann::json::array();
  for (const auto& c : st.comms)
    comms.push_back({{"name", c.name},
                     {"kind", to_string(c.kind)},
                     {"op", c.op},
                     {"link", c.link},
                     {"algorithm", c.algorithm},
                     {"bytes", round_significant(c.bytes)},
                     {"group", c.group},
                     {"time_s", round_significant(c.time_s)},
                     {"per_step_s", round_significant(c.per_step_time_s)},
                     {"exposed_s", round_significant(c.exposed_s)},
                     {"busbw_gbs", round_significant(c.busbw_bps / 1e9)}});
  return comms;
}

nlohmann::json memory_json(const Scenario& sc, const TrainingPlan& plan) {
  const auto& mem = plan.memory;
  return {{"stage", plan.memory_stage},
          {"per_gpu_gib",
           {{"weights", round_significant(mem.weights / kGiB)},
            {"gradients", round_significant(mem.gradients / kGiB)},
            {"optimizer", round_significant(mem.optimizer / kGiB)},
            {"activations", round_significant(mem.activations / kGiB)},
            {"comm_buffers", round_significant(mem.comm_buffers / kGiB)},
            {"total", round_significant(mem.total() / kGiB)}}},
          {"capacity_gib", round_significant(sc.gpu.hbm_capacity_bytes() / kGiB)}};
}

nlohmann::json model_and_cluster_json(const Scenario& sc, const TrainingPlan& plan) {
  nlohmann::json j;
  j["model"] = {{"name", sc.model.name},
                {"total_params", round_significant(plan.params.total)},
                {"active_params", round_significant(plan.params.active)},
                {"mtp_params", round_significant(plan.params.mtp)}};
  j["cluster"] = {{"gpus", sc.cluster.gpus},
                  {"gpu", sc.gpu.name},
                  {"nodes", sc.cluster.nodes()},
                  {"name", sc.cluster.name},
                  {"fabric", to_string(sc.cluster.fabric.kind)}};
  if (sc.gpu_variant.active)
    j["cluster"]["gpu_variant"] = {{"base_gpu", sc.gpu_variant.base_gpu},
                                   {"rule", sc.gpu_variant.rule},
                                   {"cap", sc.gpu_variant.cap},
                                   {"applied", sc.gpu_variant.applied}};
  return j;
}

// Power, cost and goodput (campus.h, goodput.h) into r: the run's wall clock includes failures,
// checkpoints and restarts, and energy and running cost accrue over it. Returns the warnings they raise.
std::vector<std::string> add_power_cost_goodput(nlohmann::json& r, const Scenario& sc, const TrainingPlan& plan,
                                                const StepEstimate& st) {
  std::vector<std::string> warnings;
  const double run_s = sc.training.tokens / st.tokens_per_s;
  const double gpu_power_fraction =
      sc.power.gpu_power_from_compute
          ? gpu_power_fraction_from_compute(st.compute_fraction, sc.power.gpu_idle_fraction_of_tdp)
          : sc.power.gpu_power_fraction_of_tdp;
  const auto footprint = cluster_footprint(sc.cluster.gpus, sc.gpu, sc.cluster, sc.power, gpu_power_fraction, sc.cost);
  const auto goodput = estimate_goodput(sc.cluster.gpus, run_s, st.step_time_s,
                                        plan.params.total * sc.reliability.checkpoint_bytes_per_param, sc.reliability);
  r["power"] = power_json(footprint, sc.power, goodput.wall_s, sc.training.tokens);
  r["cost"] = cost_json(footprint, sc.cost, goodput.wall_s);
  r["goodput"] = goodput_to_json(goodput, sc.reliability);
  if (!footprint.fabric_note.empty()) warnings.push_back(footprint.fabric_note);
  // Seeded failure injection beside the analytical expectation; power and cost keep the expected
  // wall clock (one sampled run is not the expectation).
  if (sc.reliability.inject_failures) {
    const auto injected =
        inject_failures(injection_setup(goodput, sc.reliability), sc.seed, sc.reliability.injection_trials);
    r["goodput"]["injected"] = injection_to_json(injected, goodput);
    if (injected.stalled)
      warnings.push_back("failure injection: " + r["goodput"]["injected"]["note"].get<std::string>());
  }
  return warnings;
}

nlohmann::json warnings_json(const Scenario& sc, const TrainingPlan& plan, const StepEstimate& st,
                             const std::vector<std::string>& power_cost_goodput) {
  nlohmann::json warnings = nlohmann::json::array();
  if (plan.memory.total() > 0.9 * sc.gpu.hbm_capacity_bytes())
    warnings.push_back(fmt::format("memory at {:.0f}% of HBM capacity: allocator fragmentation may not leave room",
                                   100 * plan.memory.total() / sc.gpu.hbm_capacity_bytes()));
  if (sc.profile.kind == ProfileKind::published)
    warnings.push_back("profile \"" + sc.profile.name +
                       "\" is published (datasheet and public benchmarks), not measured on this hardware");
  for (const auto& n : st.notes) warnings.push_back(n);
  for (const auto& n : plan.notes) warnings.push_back(n);
  for (const auto& n : power_cost_goodput) warnings.push_back(n);
  return warnings;
}

}  // namespace

TrainingRun run_training(const Scenario& sc, const std::string& backend_name, bool want_trace) {
  const StepBackend& backend = find_step_backend(backend_name);  // InputError for unknown names
  if (sc.asymmetry.any() && !backend.simulates_asymmetry())
    throw InputError(sc.file, "$.asymmetry",
                     "breaking symmetry needs a simulated step: expected --backend des or simgrid (or no asymmetry)");
  TrainingRun run;
  run.plan = plan_training(sc.model, sc.parallelism, sc.training, sc.cluster, sc.gpu, sc.file);
  StepOutcome outcome = backend.estimate(run.plan, sc, want_trace);
  run.step = std::move(outcome.step);
  run.trace_json = std::move(outcome.trace_json);

  nlohmann::json r;
  r["schema"] = "gwsim.report/1";
  r["scenario"] = sc.resolved;
  r["provenance"] = provenance_json(sc, backend_name);
  r["training"] = training_json(sc, run.plan, run.step);
  r["communication"] = communication_json(run.step);
  r["memory"] = memory_json(sc, run.plan);
  r.update(model_and_cluster_json(sc, run.plan));
  const auto power_warnings = add_power_cost_goodput(r, sc, run.plan, run.step);
  r["warnings"] = warnings_json(sc, run.plan, run.step, power_warnings);
  // How far to trust this report: the recorded errors of validated runs like it.
  r["error_band"] =
      training_error_band(cached_validation_record(default_validation_record_path()), region_of(sc), backend_name);
  r.update(outcome.report_sections);
  run.report = std::move(r);
  return run;
}

std::string format_summary(const nlohmann::json& r) {
  const auto& t = r["training"];
  const auto& m = r["memory"]["per_gpu_gib"];
  std::string s;
  s += fmt::format("{} — {} on {} x {} ({} backend, profile {} [{}])\n", r["scenario"]["name"].get<std::string>(),
                   r["model"]["name"].get<std::string>(), r["cluster"]["gpus"].get<long long>(),
                   r["cluster"]["gpu"].get<std::string>(), r["provenance"]["backend"].get<std::string>(),
                   r["provenance"]["profile"]["name"].get<std::string>(),
                   r["provenance"]["profile"]["kind"].get<std::string>());
  s += fmt::format("  step time            {:.3f} s  ({:.3g} tokens/s)\n", t["step_time_s"].get<double>(),
                   t["tokens_per_s"].get<double>());
  s += fmt::format("  MFU                  {:.1f}%  ({:.0f} model TFLOP/s per GPU; causal {:.1f}%)\n",
                   100 * t["mfu"].get<double>(), t["model_tflops_per_gpu"].get<double>(),
                   100 * t["mfu_causal"].get<double>());
  s += fmt::format("  GPU-hours / 1T tok   {:.4g}\n", t["gpu_hours_per_trillion_tokens"].get<double>());
  s += fmt::format("  run                  {:.3g} tokens in {:.1f} days, {:.3g} GPU-hours, ${:.3g}\n",
                   t["tokens"].get<double>(), t["days"].get<double>(), t["gpu_hours"].get<double>(),
                   t["cost_usd"].get<double>());
  s += "  step breakdown (s)  ";
  for (auto it = t["breakdown_s"].begin(); it != t["breakdown_s"].end(); ++it)
    if (it.value().get<double>() > 0) s += fmt::format(" {}={:.3g}", it.key(), it.value().get<double>());
  s += "\n";
  s += fmt::format("  bottleneck           {}\n", t["bottleneck"].get<std::string>());
  if (t.contains("moe_hottest_rank_load"))
    s += fmt::format("  expert load          busiest EP rank {:.4g}x the mean routed tokens (stated)\n",
                     t["moe_hottest_rank_load"].get<double>());
  s += fmt::format(
      "  memory / GPU         {:.1f} of {:.1f} GiB (weights {:.1f}, grads {:.1f}, optimizer {:.1f}, "
      "activations {:.1f}, buffers {:.1f})\n",
      m["total"].get<double>(), r["memory"]["capacity_gib"].get<double>(), m["weights"].get<double>(),
      m["gradients"].get<double>(), m["optimizer"].get<double>(), m["activations"].get<double>(),
      m["comm_buffers"].get<double>());
  const auto& pw = r["power"];
  s += fmt::format(
      "  power                {:.2f} MW facility ({:.2f} MW IT, PUE {:.2f}); {:.0f} W IT per GPU "
      "(GPU {:.0f}, host {:.0f}, NIC {:.0f}, switches {:.1f}, optics {:.1f}, storage {:.1f})\n",
      pw["facility_mw"].get<double>(), pw["it_mw"].get<double>(), pw["pue"].get<double>(),
      pw["it_w_per_gpu"].get<double>(), pw["gpu_w"].get<double>(), pw["host_w_per_gpu"].get<double>(),
      pw["nic_w_per_gpu"].get<double>(), pw["switch_w_per_gpu"].get<double>(), pw["optics_w_per_gpu"].get<double>(),
      pw["storage_w_per_gpu"].get<double>());
  if (r.contains("cost")) {
    const auto& c = r["cost"];
    s += fmt::format(
        "  cost                 capex ${:.3g} (${:.0f}/GPU); owned ${:.2f}/GPU-hour -> run ${:.3g}; "
        "rental ${:.2f}/GPU-hour -> ${:.3g}\n",
        c["capex_usd"].get<double>(), c["capex_per_gpu_usd"].get<double>(), c["usd_per_gpu_hour_owned"].get<double>(),
        c["run_cost_owned_usd"].get<double>(), c["usd_per_gpu_hour_rental"].get<double>(),
        c["run_cost_rental_usd"].get<double>());
  }
  if (r.contains("goodput")) {
    const auto& g = r["goodput"];
    s += fmt::format(
        "  goodput              {:.1f}%: {:.0f} interruptions (job MTBF {:.2f} h), checkpoint every {:.0f} s, "
        "{:.0f} h lost -> {:.1f} days wall clock\n",
        100 * g["goodput_fraction"].get<double>(), g["expected_interruptions"].get<double>(),
        g["job_mtbf_h"].get<double>(), g["checkpoint_interval_s"].get<double>(), g["lost_hours"].get<double>(),
        g["wall_clock_days"].get<double>());
    if (g.contains("injected")) {
      const auto& in = g["injected"];
      s += fmt::format(
          "  injected failures    {:.1f}% (seed {}): {} interruptions, {:.0f} h lost work, {:.0f} h restarting, "
          "{:.0f} h checkpointing -> {:.1f} days{}",
          100 * in["goodput_fraction"].get<double>(), in["seed"].get<std::uint64_t>(),
          in["interruptions"].get<std::int64_t>(), in["lost_work_hours"].get<double>(),
          in["restart_hours"].get<double>(), in["checkpoint_hours"].get<double>(), in["wall_clock_days"].get<double>(),
          in["stalled"].get<bool>() ? " (stalled)" : "");
      if (in.contains("monte_carlo")) {
        const auto& mc = in["monte_carlo"];
        s += fmt::format("; {} trials {:.1f}% [p10 {:.1f}%, p90 {:.1f}%]", mc["trials"].get<std::int64_t>(),
                         100 * mc["goodput_fraction"]["mean"].get<double>(),
                         100 * mc["goodput_fraction"]["p10"].get<double>(),
                         100 * mc["goodput_fraction"]["p90"].get<double>());
      }
      s += fmt::format(" vs Daly {:.1f}%\n", 100 * in["analytical"]["goodput_fraction"].get<double>());
    }
  }
  if (r.contains("des") && !r["des"]["busiest_links"].empty()) {
    const auto& l = r["des"]["busiest_links"][0];
    s += fmt::format("  busiest link         {} ({}, {:.0f} GB/s): {:.1f}% busy over the step\n",
                     l["link"].get<std::string>(), l["class"].get<std::string>(), l["capacity_gbs"].get<double>(),
                     100 * l["utilisation"].get<double>());
  }
  if (r.contains("des") && r["des"].contains("asymmetry")) {
    const auto& a = r["des"]["asymmetry"];
    s += fmt::format(
        "  asymmetry            step {:.3f} s vs {:.3f} s symmetric ({:+.1f}%, {:.3g} GPU-hours over the run)\n",
        a["step_time_s"].get<double>(), a["symmetric_step_time_s"].get<double>(), a["cost_pct"].get<double>(),
        a["cost_gpu_hours"].get<double>());
    for (const auto& line : a["applied"]) s += "    " + line.get<std::string>() + "\n";
  }
  if (r.contains("error_band")) s += "  trust                " + error_band_line(r["error_band"]) + "\n";
  for (const auto& w : r["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  return s;
}

namespace {
// The JSON path of the first number that is not finite (nlohmann writes those as null), or "".
std::string first_non_finite(const nlohmann::json& v, const std::string& path) {
  if (v.is_number_float() && !std::isfinite(v.get<double>())) return path;
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (auto p = first_non_finite(it.value(), path + "." + it.key()); !p.empty()) return p;
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      if (auto p = first_non_finite(v[i], fmt::format("{}[{}]", path, i)); !p.empty()) return p;
  }
  return "";
}
}  // namespace

std::string report_text(const nlohmann::json& report, const std::string& input_file) {
  // A result that overflowed would be written as null: refuse it, naming the figure.
  if (const auto p = first_non_finite(report, "$"); !p.empty())
    throw InputError(input_file, p, "the result is not finite: expected inputs within the limits of docs/formats.md");
  std::string text = report.dump(1) + "\n";
  if (static_cast<std::int64_t>(text.size()) > limits::kMaxReportBytes)
    throw InputError(
        input_file, "$",
        fmt::format("the report would take {} bytes: expected at most {}", text.size(), limits::kMaxReportBytes));
  return text;
}

void write_report(const nlohmann::json& report, const std::string& path, const std::string& input_file) {
  write_file_atomically(path, report_text(report, input_file), "--out");
}

}  // namespace gwsim
