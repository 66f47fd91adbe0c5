// The serving planner's search (docs/planner.md, "Serving fleets"): the candidates, each sized by
// the request-level simulator, and the ranking.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/campus.h"
#include "gwsim/sim/planning/chip_swap.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/planning/serving_plan.h"
#include "gwsim/sim/planning/striped_work.h"
#include "gwsim/sim/requests/request_stream.h"
#include "gwsim/sim/requests/simulator.h"
#include "gwsim/sim/validation/error_band.h"
#include "serving_plan_result.h"

namespace gwsim {

namespace {

// What the load asks of a fleet, for the first guess at its size: the lengths' moments and the
// arrival rate at its peak (a fixed fleet must carry the peak; an autoscaled one is capped by it).
struct RequestMix {
  double prompt = 0, prompt_sq = 0, output = 0, output_sq = 0, peak_rate_per_s = 0, cached_share = 0;
  // The lengths capacity is priced at, as the autoscaler prices them (request_stream.h).
  double decode_kv() const { return requests::capacity_decode_kv(prompt, output, output_sq); }
  double prefill_context() const { return requests::capacity_prefill_context(prompt, prompt_sq); }
};

RequestMix mix_of(const ServingScenario& s) {
  const requests::RequestSimConfig& c = *s.requests;
  RequestMix m;
  m.cached_share = c.prefix_hit_ratio;
  if (c.arrivals.kind == requests::ArrivalKind::trace) {
    const auto rows = requests::read_trace_csv(c.arrivals.trace_file, c.max_requests, c.arrivals.trace_time_scale);
    for (const auto& r : rows) {
      const auto p = static_cast<double>(r.prompt), o = static_cast<double>(r.output);
      m.prompt += p, m.prompt_sq += p * p, m.output += o, m.output_sq += o * o;
    }
    const auto n = static_cast<double>(std::max<std::size_t>(rows.size(), 1));
    m.prompt /= n, m.prompt_sq /= n, m.output /= n, m.output_sq /= n;
    const double span = rows.empty() ? 1 : rows.back().arrival_s - rows.front().arrival_s;
    m.peak_rate_per_s = n / std::max(span, 1e-9);
    return m;
  }
  m.prompt = requests::mean_length(c.prompt), m.prompt_sq = requests::mean_length(c.prompt, 2);
  m.output = requests::mean_length(c.output), m.output_sq = requests::mean_length(c.output, 2);
  const auto& profile = c.arrivals.profile;
  const double peak = profile.empty() ? 1 : *std::max_element(profile.begin(), profile.end());
  m.peak_rate_per_s = c.arrivals.rate_per_s * peak;
  return m;
}

// The smallest number of redundant experts that lets `ep` GPUs hold the routed experts evenly;
// the scenario's own when it states this size.
int redundant_experts_for(const ModelSpec& m, int ep, const InstanceLayout& stated) {
  if (!m.moe) return 0;
  if (ep == stated.ep) return stated.redundant_experts;
  int r = 0;
  while ((m.moe->routed_experts + r) % ep != 0) ++r;
  return r;
}

// Defaults of docs/planner.md: MoE instances of whole nodes, doubling up to twice the scenario's;
// dense ones of 1 to a node's GPUs (tensor parallel over the instance).
std::vector<int> default_decode_gpus(const ServingScenario& s) {
  std::set<int> sizes{s.decode.layout.gpus};
  const int gpn = s.cluster.gpus_per_node;
  if (s.model.moe) {
    for (int g = gpn; g <= 2 * s.decode.layout.gpus; g *= 2) sizes.insert(g);
  } else {
    for (int g = 1; g <= gpn; g *= 2) sizes.insert(g);
  }
  return {sizes.begin(), sizes.end()};
}

std::vector<ServingCandidate> enumerate_candidates(const ServingPlanRequest& req, const ServingScenario& base) {
  const ServingPlanSpace& sp = req.space;
  // No chips searched: the scenario's cluster as written (a capped gpu_variant kept), named by its GPU.
  const auto chips = sp.chips.empty() ? std::vector<std::string>{base.gpu.name} : sp.chips;
  const auto decode_gpus = sp.decode_gpus.empty() ? default_decode_gpus(base) : sp.decode_gpus;
  const auto fractions = sp.batch_fractions.empty() ? std::vector<double>{1, 0.5} : sp.batch_fractions;
  const auto disaggregation =
      sp.disaggregated.empty() ? std::vector<bool>{base.requests->disaggregated} : sp.disaggregated;
  for (bool disagg : disaggregation)
    if (disagg && !base.prefill)
      throw InputError(req.file, "$.search.disaggregated",
                       "expected the scenario to have a \"prefill\" block (the prefill layout) to disaggregate");
  std::vector<int> prefill_gpus = sp.prefill_gpus;
  if (prefill_gpus.empty() && base.prefill) prefill_gpus.push_back(base.prefill->layout.gpus);
  std::vector<ServingCandidate> out;
  for (const auto& chip : chips)
    for (bool disagg : disaggregation)
      for (int g : decode_gpus) {
        // Dense models: tensor parallel over the instance unless the space says otherwise.
        std::vector<int> tps = sp.attention_tp;
        if (tps.empty()) tps.push_back(base.model.moe ? base.decode.layout.attention_tp : g);
        for (int tp : tps)
          for (double f : fractions)
            for (int pg : disagg ? prefill_gpus : std::vector<int>{0}) {
              ServingCandidate c;
              c.chip = chip;
              c.scenario_chip = sp.chips.empty();
              c.disaggregated = disagg;
              c.decode_gpus = g;
              c.attention_tp = tp;
              c.redundant_experts = redundant_experts_for(base.model, g, base.decode.layout);
              c.batch_fraction = f;
              c.prefill_gpus = pg;
              out.push_back(c);
            }
      }
  return out;
}

// The candidate's scenario document: the chip's cluster, the decode and prefill layouts, the
// simulation's request cap. The decode batch is "max" at the TPOT SLO and the mix's KV length,
// which gives the SLO batch the pool limit is a share of.
nlohmann::json candidate_document(const ServingPlanRequest& req, const ServingScenario& base, const ServingCandidate& c,
                                  const RequestMix& mix) {
  nlohmann::json doc = req.base;
  nlohmann::json cluster = doc["cluster"];
  if (!c.scenario_chip) {
    bool other_gpu = false;
    cluster = cluster_for_chip(cluster, base.cluster, find_gpu(base.cluster.gpu_name).name,
                               parse_chip_label(c.chip, req.file, "$.search.chips"), other_gpu);
    if (other_gpu) doc.erase("profile");  // the new chip's own preferred profile
  }
  if (cluster.is_string()) cluster = nlohmann::json{{"file", cluster}};
  cluster["gpus"] = std::max<std::int64_t>({base.cluster.gpus, c.decode_gpus, c.prefill_gpus});
  doc["cluster"] = cluster;
  auto layout = [&](nlohmann::json& block, int gpus, int tp, int redundant) {
    block["gpus"] = gpus;
    block["attention_tp"] = tp;
    if (base.model.moe) {
      block["ep"] = gpus;
      block["redundant_experts"] = redundant;
    }
  };
  nlohmann::json& d = doc["decode"];
  layout(d, c.decode_gpus, c.attention_tp, c.redundant_experts);
  d["batch_per_gpu"] = "max";
  d["kv_len"] = std::max(1.0, std::round(mix.decode_kv()));
  if (base.requests->tpot_slo_s > 0)
    d["tpot_slo_ms"] = base.requests->tpot_slo_s * 1e3;
  else
    d.erase("tpot_slo_ms");
  if (c.disaggregated) {
    const int stated = base.prefill->layout.gpus;
    nlohmann::json& p = doc["prefill"];
    const InstanceLayout& stated_layout = base.prefill->layout;
    // Another size: MoE prefill keeps attention data-parallel (EP over the instance, DeepSeek's
    // prefill); a dense model is tensor parallel over it, as its decode instances are.
    const int prefill_tp = c.prefill_gpus == stated ? stated_layout.attention_tp : base.model.moe ? 1 : c.prefill_gpus;
    layout(p, c.prefill_gpus, prefill_tp, redundant_experts_for(base.model, c.prefill_gpus, stated_layout));
  }
  nlohmann::json& r = doc["requests"];
  r["disaggregated"] = c.disaggregated;
  if (!c.disaggregated)
    r.erase("prefill_pool");
  else if (!r.contains("prefill_pool"))
    r["prefill_pool"] = {{"instances", 1}};
  r["max_requests"] = std::min<std::int64_t>(base.requests->max_requests, req.space.max_requests);
  return doc;
}

// A refusal's rule from its message (after the file name, which could hold any word): the SLO no
// batch meets, memory (weights, a sequence's cache or the longest request do not fit), the layout.
std::string refusal_rule(const std::string& what) {
  const auto at = what.find(": $");
  const std::string tail = at == std::string::npos ? what : what.substr(at);
  if (tail.rfind(": $.decode.tpot_slo_ms", 0) == 0) return "tpot_slo";
  for (const char* memory : {"GB usable", "does not fit", "do not fit"})
    if (tail.find(memory) != std::string::npos) return "memory";
  return "layout";
}

struct Trial {
  bool ttft_ok = false, tpot_ok = false, complete = false;
  double p99_ttft_s = 0, p99_tpot_s = 0;
  nlohmann::json report;
  bool ok() const { return ttft_ok && tpot_ok && complete; }
};

// Sizes one candidate's pools: the fewest decode (and prefill) instances whose simulated P99s meet
// the SLOs. Grows the pool whose SLO fails by half (at least one) until both hold, then bisects
// each pool down between its last failing and first passing size. Simulations are memoised.
class FleetSizer {
 public:
  FleetSizer(ServingScenario s, requests::StepTables tables, int decode_gpus, int prefill_gpus)
      : s_(std::move(s)), tables_(std::move(tables)), decode_gpus_(decode_gpus), prefill_gpus_(prefill_gpus) {}

  const Trial& run(int decode, int prefill) {
    const auto key = std::make_pair(decode, prefill);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    requests::RequestSimConfig& c = *s_.requests;
    c.decode.instances = decode;
    c.prefill.instances = std::max(prefill, 1);
    requests::SimulationOptions options;
    options.tables = tables_;
    Trial t;
    t.report = requests::simulate_requests(s_, options).report;
    t.report.erase("series");  // up to 100k samples per run, and the sizing reads none of them
    const auto& lat = t.report["latency_ms"];
    t.p99_ttft_s = lat["ttft"]["p99"].get<double>() / 1e3;
    t.p99_tpot_s = lat["tpot"]["p99"].get<double>() / 1e3;
    t.ttft_ok = !(c.ttft_slo_s > 0) || t.p99_ttft_s <= c.ttft_slo_s;
    t.tpot_ok = !(c.tpot_slo_s > 0) || t.p99_tpot_s <= c.tpot_slo_s;
    t.complete = t.report["requests"]["completed"] == t.report["requests"]["arrived"];
    return memo_.emplace(key, std::move(t)).first->second;
  }

  // False (with why) when no fleet within gwsim's limits meets the SLOs.
  bool size(int decode, int prefill, std::string& why) {
    const bool disagg = s_.requests->disaggregated;
    int fail_decode = 0, fail_prefill = 0;
    bool grew_prefill = false;
    double last_ttft = 0;
    for (int round = 0;; ++round) {
      const Trial& t = run(decode, prefill);
      if (t.ok()) break;
      bool grow_decode = !t.tpot_ok || !t.complete || (!disagg && !t.ttft_ok);
      const bool grow_prefill = disagg && (!t.ttft_ok || !t.complete);
      // Prefill grew and TTFT did not move: requests wait behind a full decode pool.
      if (grow_prefill && grew_prefill && t.p99_ttft_s > 0.95 * last_ttft) grow_decode = true;
      grew_prefill = grow_prefill;
      last_ttft = t.p99_ttft_s;
      if (grow_decode) fail_decode = decode, decode = grown(decode);
      if (grow_prefill) fail_prefill = prefill, prefill = grown(prefill);
      if (round >= kMaxRounds || decode > limits::kMaxPoolInstances || prefill > limits::kMaxPoolInstances ||
          static_cast<std::int64_t>(decode) * decode_gpus_ + static_cast<std::int64_t>(prefill) * prefill_gpus_ >
              limits::kMaxGpus) {
        why = fmt::format(
            "no fleet of up to {} decode and {} prefill instances meets the SLOs (P99 TTFT {:.0f} ms, "
            "TPOT {:.1f} ms at the last size tried)",
            limits::kMaxPoolInstances, limits::kMaxPoolInstances, t.p99_ttft_s * 1e3, t.p99_tpot_s * 1e3);
        return false;
      }
    }
    decode = shrink(fail_decode, decode, [&](int n) { return run(n, prefill).ok(); });
    if (disagg) prefill = shrink(fail_prefill, prefill, [&](int n) { return run(decode, n).ok(); });
    decode_ = decode, prefill_ = prefill;
    return true;
  }

  int decode() const { return decode_; }
  int prefill() const { return prefill_; }
  int simulations() const { return static_cast<int>(memo_.size()); }
  const Trial& sized() { return run(decode_, prefill_); }
  const ServingScenario& scenario() const { return s_; }

 private:
  static constexpr int kMaxRounds = 40;
  static int grown(int n) { return std::max(n + 1, static_cast<int>(std::ceil(n * 1.5))); }
  // The smallest passing size in (fail, pass]: bisection, passing taken to be monotone in the size.
  template <class Passes>
  static int shrink(int fail, int pass, Passes passes) {
    while (pass - fail > 1) {
      const int mid = fail + (pass - fail) / 2;
      (passes(mid) ? pass : fail) = mid;
    }
    return pass;
  }

  ServingScenario s_;
  requests::StepTables tables_;
  int decode_gpus_, prefill_gpus_;
  int decode_ = 0, prefill_ = 0;
  std::map<std::pair<int, int>, Trial> memo_;
};

// GPUs the sized fleet keeps busy on average over the arrivals: all of them, or with autoscaling
// the active instances of the intervals that saw arrivals.
double average_gpus(const nlohmann::json& fleet, int decode_gpus, int prefill_gpus, std::int64_t peak,
                    double last_arrival_s) {
  if (!fleet["autoscaled"].get<bool>()) return static_cast<double>(peak);
  const double interval = fleet["autoscale_interval_s"].get<double>();
  const auto& d = fleet["decode_active_instances"];
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < d.size() && (n == 0 || static_cast<double>(k) * interval < last_arrival_s); ++k, ++n) {
    sum += d[k].get<double>() * decode_gpus;
    if (fleet.contains("prefill_active_instances"))
      sum += fleet["prefill_active_instances"][k].get<double>() * prefill_gpus;
  }
  return sum / static_cast<double>(std::max<std::size_t>(n, 1));
}

// The sized fleet's figures: load, GPUs, dollars, megawatts, and the runnable scenario.
void describe_fleet(const ServingPlanRequest& req, FleetSizer& sizer, nlohmann::json doc, ServingPlanResult& r) {
  const ServingScenario& s = sizer.scenario();
  const ServingCandidate& c = r.candidate;
  const Trial& t = sizer.sized();
  r.decode_instances = sizer.decode();
  r.prefill_instances = c.disaggregated ? sizer.prefill() : 0;
  r.simulations = sizer.simulations();
  r.gpus = static_cast<std::int64_t>(r.decode_instances) * c.decode_gpus +
           static_cast<std::int64_t>(r.prefill_instances) * c.prefill_gpus;
  r.p99_ttft_ms = t.p99_ttft_s * 1e3;
  r.p99_tpot_ms = t.p99_tpot_s * 1e3;
  r.share_meeting_slo = t.report["goodput"]["share_meeting_slo"].get<double>();
  const auto& q = t.report["requests"];
  const double span = std::max(q["last_arrival_s"].get<double>(), 1e-9);
  r.offered_output_tokens_per_s = q["output_tokens"].get<double>() / span;
  r.average_gpus = average_gpus(t.report["fleet"], c.decode_gpus, c.prefill_gpus, r.gpus, span);
  r.output_tokens_per_s_per_gpu = r.offered_output_tokens_per_s / r.average_gpus;
  const PowerAssumptions power = default_power_assumptions(s.gpu);
  const auto footprint = cluster_footprint(r.gpus, s.gpu, s.cluster, power, power.gpu_power_fraction_of_tdp,
                                           default_cost_assumptions(s.gpu));
  r.facility_mw = footprint.facility_mw;
  const auto price = req.space.usd_per_gpu_hour.find(s.cluster.gpu_name);
  r.usd_per_gpu_hour = req.owned_cost                              ? footprint.usd_per_gpu_hour_owned
                       : price != req.space.usd_per_gpu_hour.end() ? price->second
                                                                   : s.usd_per_gpu_hour;
  r.usd_per_hour = r.average_gpus * r.usd_per_gpu_hour;
  r.usd_per_million_output_tokens = r.usd_per_hour / 3600 / r.offered_output_tokens_per_s * 1e6;
  // The plan sized the fleet for the requests: a steady-state target would size another one.
  doc.erase("target");
  doc["notes"] = fmt::format(
      "Sized by gwsim plan --serving: the fewest instances whose simulated P99 TTFT and TPOT ({} requests, seed {}) "
      "meet the SLOs; decode max_batch is {:g} of gwsim serve's batch at the TPOT SLO ({:g} per GPU at {:g} cached "
      "tokens). {}",
      s.requests->max_requests, s.requests->seed, c.batch_fraction, r.slo_batch_per_gpu, s.decode.kv_len,
      doc.value("notes", ""));
  doc["requests"]["decode_pool"]["instances"] = r.decode_instances;
  if (c.disaggregated) doc["requests"]["prefill_pool"]["instances"] = r.prefill_instances;
  doc["cost"] = {{"usd_per_gpu_hour", r.usd_per_gpu_hour},
                 {"source", req.owned_cost ? "owned: the fleet's footprint (hwmodels/data/costs.json, power.json)"
                            : price != req.space.usd_per_gpu_hour.end() ? "the serving plan's price"
                                                                        : s.usd_source}};
  r.scenario = std::move(doc);
}

// The decode pool's limits from the SLO batch: max_batch its share, the step's token budget
// enough for a full batch's query tokens beside the scenario's prefill chunk.
void set_pool_limits(nlohmann::json& doc, const ServingScenario& s, ServingPlanResult& r) {
  const auto& pool = s.requests->decode;
  r.max_batch =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(r.slo_batch_per_gpu * r.candidate.decode_gpus *
                                                                     r.candidate.batch_fraction)));
  const std::int64_t query = r.max_batch * (1 + s.decode.mtp_depth);
  nlohmann::json& p = doc["requests"]["decode_pool"];
  p["max_batch"] = r.max_batch;
  if (pool.max_tokens_per_step <= query) p["max_tokens_per_step"] = query + pool.max_tokens_per_step;
  doc["decode"]["batch_per_gpu"] = std::max(1.0, std::floor(r.slo_batch_per_gpu * r.candidate.batch_fraction));
}

// The first guess: each pool's steady-state capacity at its limits (gwsim serve's step model)
// against the peak load.
std::pair<int, int> first_guess(const ServingScenario& s, const RequestMix& mix, const ServingPlanResult& r) {
  const ServingCandidate& c = r.candidate;
  const double decode_cap =
      decode_step_at(s, static_cast<double>(r.max_batch) / c.decode_gpus, mix.decode_kv()).output_tokens_per_s_per_gpu *
      c.decode_gpus;
  const InstanceLayout& prefill_layout = c.disaggregated ? s.prefill->layout : s.decode.layout;
  const auto& pool = c.disaggregated ? s.requests->prefill : s.requests->decode;
  const double chunk = static_cast<double>(pool.max_tokens_per_step) / prefill_layout.gpus;
  const double prefill_cap =
      prefill_step_at(s, prefill_layout, chunk, mix.prefill_context()).input_tokens_per_s_per_gpu * prefill_layout.gpus;
  const double decode_need = mix.peak_rate_per_s * mix.output / decode_cap;
  const double prefill_need = mix.peak_rate_per_s * mix.prompt * (1 - mix.cached_share) / prefill_cap;
  auto whole = [](double x) { return static_cast<int>(std::clamp(std::ceil(x), 1.0, 1e6)); };
  if (!c.disaggregated) return {whole(decode_need + prefill_need), 0};
  return {whole(decode_need), whole(prefill_need)};
}

ServingPlanResult evaluate_candidate(const ServingPlanRequest& req, const ServingScenario& base, const RequestMix& mix,
                                     const ServingCandidate& c, int index) {
  ServingPlanResult r;
  r.index = index;
  r.candidate = c;
  try {
    nlohmann::json doc = candidate_document(req, base, c, mix);
    const ServingScenario steady = parse_serving_scenario(doc, req.base_file);
    if (!req.export_rule.empty()) {
      const auto v = classify(steady.gpu, export_rules().find(req.export_rule));
      if (v.controlled) {
        r.refused_rule = "export_rule";
        r.refused = fmt::format("{} is controlled under rule {} ({})", steady.gpu.name, req.export_rule, v.category);
        return r;
      }
    }
    r.slo_batch_per_gpu = run_serving(steady)["decode"]["batch_per_gpu"].get<double>();
    set_pool_limits(doc, steady, r);
    ServingScenario s = parse_serving_scenario(doc, req.base_file);
    const auto [decode, prefill] = first_guess(s, mix, r);
    auto tables = requests::build_step_tables(s);
    FleetSizer sizer(std::move(s), std::move(tables), c.decode_gpus, c.prefill_gpus);
    std::string why;
    if (!sizer.size(decode, prefill, why)) {
      r.refused_rule = "slo_unreachable";
      r.refused = why;
      r.simulations = sizer.simulations();
      return r;
    }
    describe_fleet(req, sizer, std::move(doc), r);
    if (req.power_mw > 0 && r.facility_mw > req.power_mw) {
      r.refused_rule = "power_cap";
      r.refused = fmt::format("{:.2f} MW facility power exceeds the cap of {:.2f} MW", r.facility_mw, req.power_mw);
    }
  } catch (const InputError& e) {
    r.refused = e.what();
    r.refused_rule = refusal_rule(r.refused);
  }
  return r;
}

double objective_value(const ServingPlanResult& r, ServingObjective o) {
  switch (o) {
    case ServingObjective::gpus:
      return static_cast<double>(r.gpus);
    case ServingObjective::power:
      return r.facility_mw;
    case ServingObjective::cost:
      break;
  }
  return r.usd_per_million_output_tokens;
}

// Objective first, then the other two, then the candidate's text: a total order.
bool better(const ServingPlanResult& a, const ServingPlanResult& b, ServingObjective o) {
  auto key = [&](const ServingPlanResult& r) {
    return std::make_tuple(objective_value(r, o), r.usd_per_million_output_tokens, r.gpus,
                           candidate_string(r.candidate));
  };
  return key(a) < key(b);
}

std::string why_the_winner(const ServingPlanRequest& req, const std::vector<ServingPlanResult>& ranked) {
  if (ranked.empty()) return "no candidate meets the SLOs and constraints";
  if (ranked.size() == 1) return "only one candidate meets the SLOs and constraints";
  const auto& a = ranked[0];
  const auto& b = ranked[1];
  const double va = objective_value(a, req.objective), vb = objective_value(b, req.objective);
  if (va == vb)
    return fmt::format(
        "#1 and #2 tie on {} (ranked by $ per million output tokens, GPUs, then the candidate's text); "
        "#2: {}",
        to_string(req.objective), candidate_string(b.candidate));
  return fmt::format(
      "#1 beats #2 by {:.1f}% on {}: {:.0f} vs {:.0f} output tokens/s per GPU over {} vs {} GPUs at ${:.2f} vs "
      "${:.2f}/GPU-hour (#2: {})",
      vb != 0 ? 100 * (vb - va) / std::fabs(vb) : 0.0, to_string(req.objective), a.output_tokens_per_s_per_gpu,
      b.output_tokens_per_s_per_gpu, a.gpus, b.gpus, a.usd_per_gpu_hour, b.usd_per_gpu_hour,
      candidate_string(b.candidate));
}

}  // namespace

std::string candidate_string(const ServingCandidate& c) {
  std::string s = fmt::format("{} decode {}x{}", c.chip, c.decode_gpus,
                              c.attention_tp > 1 ? "tp" + std::to_string(c.attention_tp) : "dp-attn");
  if (c.redundant_experts > 0) s += fmt::format("+{}re", c.redundant_experts);
  s += fmt::format(" batch {:g}%", 100 * c.batch_fraction);
  s += c.disaggregated ? fmt::format(" | prefill {}", c.prefill_gpus) : " | mixed";
  return s;
}

ServingPlanOutcome run_serving_plan(const ServingPlanRequest& req, const PlanOptions& options) {
  ServingPlanOutcome out;
  out.request = req;
  const ServingScenario base = parse_serving_scenario(req.base, req.base_file);
  const RequestMix mix = mix_of(base);
  const auto candidates = enumerate_candidates(req, base);
  out.candidates = static_cast<std::int64_t>(candidates.size());
  out.simulated_requests = std::min<std::int64_t>(base.requests->max_requests, req.space.max_requests);

  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min(threads, 256));
  std::vector<std::vector<ServingPlanResult>> per_worker(static_cast<std::size_t>(threads));
  std::atomic<std::int64_t> done{0};
  StripedWork work;
  work.items = candidates.size();
  work.threads = threads;
  work.rank = options.rank;
  work.ranks = options.ranks;
  work.run_item = [&](int w, std::size_t i) {
    per_worker[static_cast<std::size_t>(w)].push_back(
        evaluate_candidate(req, base, mix, candidates[i], static_cast<int>(i)));
    ++done;
  };
  work.progress = options.progress;
  work.done = [&] { return done.load(); };
  work.total = out.candidates;
  run_striped(work);

  std::vector<ServingPlanResult> all;
  for (auto& w : per_worker)
    for (auto& r : w) all.push_back(std::move(r));
  if (options.ranks > 1) {
    const auto parts = options.gather(serving_plan_results_to_text(all));
    if (options.rank != 0) {
      out.root = false;
      return out;
    }
    all.clear();
    for (const auto& text : parts)
      for (auto& r : serving_plan_results_from_text(text)) all.push_back(std::move(r));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (auto& r : all) {
    out.simulations += r.simulations;
    if (r.refused_rule.empty()) {
      out.ranked.push_back(std::move(r));
    } else {
      ++out.refused_by_rule[r.refused_rule];
      out.not_ranked.push_back(std::move(r));
    }
  }
  std::sort(out.ranked.begin(), out.ranked.end(),
            [&](const auto& a, const auto& b) { return better(a, b, req.objective); });
  out.reason = why_the_winner(req, out.ranked);
  if (!out.ranked.empty())
    out.error_band = serving_error_band_of(parse_serving_scenario(out.ranked.front().scenario, req.base_file));
  return out;
}

}  // namespace gwsim
