// The request simulation's report (schema gwsim.serving-sim-report/1; docs/formats.md), its printed
// summary, the per-request CSV and the Perfetto trace.
#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "gwsim/sim/requests/simulator.h"
#include "gwsim/sim/requests/step_table.h"
#include "gwsim/sim/validation/error_band.h"
#include "simulation_state.h"

namespace gwsim::requests {

namespace {

constexpr const char* kSimReportSchema = "gwsim.serving-sim-report/1";

struct Latencies {
  std::vector<double> ttft, tpot, e2e;
  std::int64_t completed = 0, meeting_slo = 0, good_output_tokens = 0;
  double input_tokens = 0, cached_tokens = 0, output_tokens = 0;
};

Latencies latencies(const RequestSimConfig& c, const RunObservations& run) {
  Latencies l;
  for (const Request& r : run.requests) {
    l.input_tokens += static_cast<double>(r.spec.prompt);
    l.cached_tokens += static_cast<double>(r.cached);
    if (r.finish_s < 0) continue;
    ++l.completed;
    l.output_tokens += static_cast<double>(r.spec.output);
    const double ttft = r.first_token_s - r.spec.arrival_s;
    l.ttft.push_back(ttft);
    l.e2e.push_back(r.finish_s - r.spec.arrival_s);
    double tpot = 0;
    if (r.spec.output > 1) {
      tpot = (r.finish_s - r.first_token_s) / static_cast<double>(r.spec.output - 1);
      l.tpot.push_back(tpot);
    }
    const bool good = (c.ttft_slo_s <= 0 || ttft <= c.ttft_slo_s) && (c.tpot_slo_s <= 0 || tpot <= c.tpot_slo_s);
    if (good) {
      ++l.meeting_slo;
      l.good_output_tokens += r.spec.output;
    }
  }
  return l;
}

nlohmann::json series_json(const RunObservations& run) {
  nlohmann::json j = {{"t_s", nlohmann::json::array()},
                      {"queued", nlohmann::json::array()},
                      {"running", nlohmann::json::array()},
                      {"kv_utilization", nlohmann::json::array()},
                      {"active_gpus", nlohmann::json::array()}};
  for (const Sample& smp : run.samples) {
    j["t_s"].push_back(smp.t_s);
    j["queued"].push_back(smp.queued);
    j["running"].push_back(smp.running);
    j["kv_utilization"].push_back(smp.kv_utilization);
    j["active_gpus"].push_back(smp.active_gpus);
  }
  return j;
}

nlohmann::json fleet_json(const ServingScenario& s, const FleetSetup& f, const RunObservations& run,
                          const Latencies& l) {
  const double gpn = s.cluster.gpus_per_node;
  const double span = std::max(run.end_s, 1e-9);
  const double gpu_s = run.decode_gpu_s + run.prefill_gpu_s;
  nlohmann::json j;
  j["disaggregated"] = f.disaggregated;
  j["decode_instances"] = f.decode_instances;
  j["decode_gpus_per_instance"] = f.decode_gpus_per_instance;
  j["decode_kv_capacity_tokens"] = f.decode_kv_capacity_tokens;
  j["tokens_per_step_per_sequence"] = f.kept_per_step;
  if (f.disaggregated) {
    j["prefill_instances"] = f.prefill_instances;
    j["prefill_gpus_per_instance"] = f.prefill_gpus_per_instance;
    j["kv_transfer_bytes_per_token"] = f.kv_bytes_per_token;
  }
  j["autoscaled"] = !f.decode_active.empty();
  if (!f.decode_active.empty()) {
    j["autoscale_interval_s"] = f.autoscale_interval_s;
    j["capacity_kv_len"] = f.capacity_kv_len;
    j["capacity_prompt_len"] = f.capacity_prompt_len;
    j["decode_capacity_output_tokens_per_s_per_instance"] = f.decode_capacity_tokens_per_s;
    j["prefill_capacity_input_tokens_per_s_per_instance"] = f.prefill_capacity_tokens_per_s;
    j["decode_active_instances"] = f.decode_active;
    if (f.disaggregated) j["prefill_active_instances"] = f.prefill_active;
  }
  j["gpu_hours"] = gpu_s / 3600;
  j["average_nodes"] = gpu_s / span / gpn;
  j["peak_nodes"] = static_cast<double>(run.peak_gpus) / gpn;
  j["usd"] = gpu_s / 3600 * s.usd_per_gpu_hour;
  j["usd_per_million_output_tokens"] =
      l.output_tokens > 0 ? gpu_s / 3600 * s.usd_per_gpu_hour / l.output_tokens * 1e6 : 0;
  return j;
}

nlohmann::json throughput_json(const ServingScenario& s, const FleetSetup& f, const RunObservations& run,
                               const Latencies& l) {
  const double gpn = s.cluster.gpus_per_node;
  const double span = std::max(run.end_s, 1e-9);
  const double gpu_s = std::max(run.decode_gpu_s + run.prefill_gpu_s, 1e-9);
  nlohmann::json j;
  j["span_s"] = run.end_s;
  j["input_tokens_per_s"] = l.input_tokens / span;
  j["output_tokens_per_s"] = l.output_tokens / span;
  j["input_tokens_per_s_per_gpu"] = l.input_tokens / gpu_s;
  j["output_tokens_per_s_per_gpu"] = l.output_tokens / gpu_s;
  j["input_tokens_per_s_per_node"] = l.input_tokens / gpu_s * gpn;
  j["output_tokens_per_s_per_node"] = l.output_tokens / gpu_s * gpn;
  if (f.disaggregated) {
    // Per node of each pool, as DeepSeek reports them (input tokens with cache hits, per prefill node).
    j["prefill_input_tokens_per_s_per_node"] = l.input_tokens / std::max(run.prefill_gpu_s, 1e-9) * gpn;
    j["decode_output_tokens_per_s_per_node"] = l.output_tokens / std::max(run.decode_gpu_s, 1e-9) * gpn;
  }
  j["requests_per_s"] = static_cast<double>(l.completed) / span;
  return j;
}

}  // namespace

nlohmann::json simulation_report(const ServingScenario& s, const FleetSetup& f, const RunObservations& run) {
  const RequestSimConfig& c = *s.requests;
  const Latencies l = latencies(c, run);
  nlohmann::json r;
  r["schema"] = kSimReportSchema;
  r["scenario"] = s.resolved;
  r["provenance"]["profile"] = {
      {"name", s.profile.name}, {"kind", to_string(s.profile.kind)}, {"source", s.profile.source}};
  r["provenance"]["step_table"] = {{"points_per_octave", StepTable::kPointsPerOctave},
                                   {"max_context_tokens", f.max_context}};
  double last_arrival_s = 0;
  for (const auto& q : run.requests) last_arrival_s = std::max(last_arrival_s, q.spec.arrival_s);
  r["requests"] = {{"arrived", static_cast<std::int64_t>(run.requests.size())},
                   {"last_arrival_s", last_arrival_s},
                   {"completed", l.completed},
                   {"preemptions", run.preemptions},
                   {"input_tokens", l.input_tokens},
                   {"cached_input_tokens", l.cached_tokens},
                   {"output_tokens", l.output_tokens}};
  r["latency_ms"] = {{"ttft", summary_json(summarize(l.ttft), 1e3)},
                     {"tpot", summary_json(summarize(l.tpot), 1e3)},
                     {"itl", summary_json(run.itl.summary(), 1e3)},
                     {"e2e", summary_json(summarize(l.e2e), 1e3)}};
  const double span = std::max(run.end_s, 1e-9);
  r["goodput"] = {{"ttft_slo_ms", c.ttft_slo_s * 1e3},
                  {"tpot_slo_ms", c.tpot_slo_s * 1e3},
                  {"requests_meeting_slo", l.meeting_slo},
                  {"share_meeting_slo", l.completed > 0 ? static_cast<double>(l.meeting_slo) / l.completed : 0},
                  {"requests_per_s", static_cast<double>(l.meeting_slo) / span},
                  {"output_tokens_per_s", static_cast<double>(l.good_output_tokens) / span}};
  r["throughput"] = throughput_json(s, f, run, l);
  r["fleet"] = fleet_json(s, f, run, l);
  double kv_sum = 0, kv_peak = 0, queue_peak = 0;
  for (const Sample& smp : run.samples) {
    kv_sum += smp.kv_utilization;
    kv_peak = std::max(kv_peak, smp.kv_utilization);
    queue_peak = std::max(queue_peak, static_cast<double>(smp.queued));
  }
  r["kv_cache"] = {{"mean_utilization", run.samples.empty() ? 0 : kv_sum / static_cast<double>(run.samples.size())},
                   {"peak_utilization", kv_peak}};
  r["queue"] = {{"peak_queued", queue_peak}};
  r["series"] = series_json(run);
  std::vector<std::string> warnings;
  if (s.profile.kind == ProfileKind::published)
    warnings.push_back("profile \"" + s.profile.name +
                       "\" is published (datasheet and public benchmarks), not measured on this hardware");
  if (run.series_truncated)
    warnings.push_back(fmt::format("the time series holds its first {} samples only", kMaxSeriesSamples));
  if (run.trace_truncated) warnings.push_back(fmt::format("the trace holds its first {} steps only", kMaxTraceSpans));
  r["error_band"] = serving_error_band_of(s);
  r["warnings"] = warnings;
  return r;
}

std::string format_simulation_summary(const nlohmann::json& r) {
  const auto& q = r["requests"];
  const auto& lat = r["latency_ms"];
  const auto& t = r["throughput"];
  const auto& f = r["fleet"];
  auto row = [&](const char* name) {
    const auto& m = lat[name];
    return fmt::format("  {:<20} P50 {:9.2f}  P90 {:9.2f}  P99 {:9.2f}  mean {:9.2f} ms\n", name,
                       m["p50"].get<double>(), m["p90"].get<double>(), m["p99"].get<double>(), m["mean"].get<double>());
  };
  std::string s = fmt::format(
      "{} — request-level simulation (profile {} [{}])\n", r["scenario"]["name"].get<std::string>(),
      r["provenance"]["profile"]["name"].get<std::string>(), r["provenance"]["profile"]["kind"].get<std::string>());
  s += fmt::format(
      "  requests             {} arrived, {} completed, {} preemptions; {:.3g} input tokens ({:.1f} % cached), "
      "{:.3g} output tokens\n",
      q["arrived"].get<std::int64_t>(), q["completed"].get<std::int64_t>(), q["preemptions"].get<std::int64_t>(),
      q["input_tokens"].get<double>(),
      100 * q["cached_input_tokens"].get<double>() / std::max(1.0, q["input_tokens"].get<double>()),
      q["output_tokens"].get<double>());
  s += row("ttft") + row("tpot") + row("itl") + row("e2e");
  s += fmt::format(
      "  throughput           {:.0f} input + {:.0f} output tokens/s over {:.1f} s; per node {:.0f} in, {:.0f} out\n",
      t["input_tokens_per_s"].get<double>(), t["output_tokens_per_s"].get<double>(), t["span_s"].get<double>(),
      t["input_tokens_per_s_per_node"].get<double>(), t["output_tokens_per_s_per_node"].get<double>());
  if (t.contains("prefill_input_tokens_per_s_per_node"))
    s += fmt::format("  per pool node        prefill {:.0f} input tokens/s, decode {:.0f} output tokens/s\n",
                     t["prefill_input_tokens_per_s_per_node"].get<double>(),
                     t["decode_output_tokens_per_s_per_node"].get<double>());
  const auto& g = r["goodput"];
  s += fmt::format(
      "  goodput              {:.1f} % of requests meet TTFT <= {:g} ms and TPOT <= {:g} ms ({:.2f} req/s)\n",
      100 * g["share_meeting_slo"].get<double>(), g["ttft_slo_ms"].get<double>(), g["tpot_slo_ms"].get<double>(),
      g["requests_per_s"].get<double>());
  s += fmt::format(
      "  fleet                {:.2f} nodes on average, {:g} at peak; {:.1f} GPU-hours, ${:.3f} per million output "
      "tokens\n",
      f["average_nodes"].get<double>(), f["peak_nodes"].get<double>(), f["gpu_hours"].get<double>(),
      f["usd_per_million_output_tokens"].get<double>());
  s += fmt::format("  KV cache             {:.1f} % used on average, {:.1f} % at peak; queue peak {:g}\n",
                   100 * r["kv_cache"]["mean_utilization"].get<double>(),
                   100 * r["kv_cache"]["peak_utilization"].get<double>(), r["queue"]["peak_queued"].get<double>());
  if (r.contains("error_band")) s += "  trust                " + error_band_line(r["error_band"]) + "\n";
  for (const auto& w : r["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  return s;
}

std::string requests_csv(const RunObservations& run) {
  std::string out =
      "id,arrival_s,prompt_tokens,output_tokens,cached_tokens,prefill_instance,decode_instance,ttft_s,tpot_s,e2e_s,"
      "kv_transfer_s,preemptions\n";
  for (const Request& r : run.requests) {
    const bool done = r.finish_s >= 0;
    const double tpot =
        done && r.spec.output > 1 ? (r.finish_s - r.first_token_s) / static_cast<double>(r.spec.output - 1) : 0;
    out += fmt::format("{},{:.6f},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{}\n", r.id, r.spec.arrival_s,
                       r.spec.prompt, r.spec.output, r.cached, r.prefill_instance, r.decode_instance,
                       done ? r.first_token_s - r.spec.arrival_s : -1, tpot, done ? r.finish_s - r.spec.arrival_s : -1,
                       r.transfer_s, r.preemptions);
  }
  return out;
}

// Process 0: one track per instance, its steps back to back. Process 1: requests, from arrival to
// the first token ("ttft") and from there to the last ("decode"), each request on a lane of its own
// while it runs (the lowest lane free at its arrival), so no two spans of a lane overlap or nest.
std::string simulation_trace(const FleetSetup& f, const RunObservations& run) {
  std::vector<std::string> tracks;
  const int prefill = f.disaggregated ? f.prefill_instances : 0;
  for (int i = 0; i < prefill; ++i) tracks.push_back(fmt::format("prefill {}", i));
  for (int i = 0; i < f.decode_instances; ++i)
    tracks.push_back(fmt::format("{} {}", f.disaggregated ? "decode" : "instance", i));
  const int first_lane = static_cast<int>(tracks.size());
  std::vector<TraceSpan> spans = run.step_spans;
  std::vector<double> lane_free;  // when each lane's request ends
  for (const Request& r : run.requests) {
    if (spans.size() + 2 > kMaxTraceSpans || r.id >= kMaxTraceRequests) break;
    if (r.finish_s < 0) continue;
    std::size_t lane = 0;
    while (lane < lane_free.size() && lane_free[lane] > r.spec.arrival_s) ++lane;
    if (lane == lane_free.size()) {
      lane_free.push_back(0);
      tracks.push_back(fmt::format("request lane {}", lane));
    }
    lane_free[lane] = r.finish_s;
    const int track = first_lane + static_cast<int>(lane);
    spans.push_back({1, track, fmt::format("ttft #{}", r.id), "request", r.spec.arrival_s, r.first_token_s});
    if (r.finish_s > r.first_token_s)
      spans.push_back({1, track, fmt::format("decode #{}", r.id), "request", r.first_token_s, r.finish_s});
  }
  return chrome_trace_json({"instances", "requests"}, tracks, spans);
}

}  // namespace gwsim::requests
