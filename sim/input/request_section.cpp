// The "requests" section of a serving scenario (docs/formats.md, "Serving: requests"), read
// strictly: unknown keys, impossible values and missing files are one-line errors with their path.
#include <fmt/format.h>

#include <cmath>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/input/serving_scenario.h"

namespace gwsim {

namespace {

using requests::ArrivalKind;
using requests::LengthKind;
using requests::LengthSpec;

// z of the standard normal at 0.99: a lognormal's p99 is exp(mu + 2.326 sigma).
constexpr double kZ99 = 2.3263478740408408;

requests::ArrivalSpec parse_arrivals(const JsonObject& o, const std::string& base) {
  requests::ArrivalSpec a;
  const std::string process = o.one_of("process", {"poisson", "gamma", "trace"});
  a.kind = process == "poisson" ? ArrivalKind::poisson : process == "gamma" ? ArrivalKind::gamma : ArrivalKind::trace;
  if (a.kind == ArrivalKind::trace) {
    a.trace_file = resolve_path(o.string("trace"), base);
    require_readable_file(a.trace_file, o.file(), o.path_of("trace"));
    a.trace_time_scale = o.number_or("trace_time_scale", 1);
    if (!(a.trace_time_scale > 0)) o.fail("trace_time_scale", "expected a positive factor");
  } else {
    a.rate_per_s = o.positive("rate_per_s");
    if (a.kind == ArrivalKind::gamma) {
      a.cv = o.positive("cv");
      if (a.cv > 100) o.fail("cv", fmt::format("expected a coefficient of variation of at most 100, got {:g}", a.cv));
    }
    if (o.has("profile")) {
      a.profile = o.number_array("profile");
      if (a.profile.empty() || a.profile.size() > 100000)
        o.fail("profile", "expected 1 to 100000 rate multipliers (24 for hours of a day)");
      double sum = 0;
      for (double m : a.profile) {
        if (!(m >= 0 && m <= 1e6)) o.fail("profile", "expected multipliers in [0, 1e6]");
        sum += m;
      }
      if (!(sum > 0)) o.fail("profile", "expected at least one positive multiplier");
      a.period_s = o.number_or("profile_period_s", 86400);
      if (!(a.period_s > 0)) o.fail("profile_period_s", "expected a positive period in seconds");
    }
  }
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return a;
}

LengthSpec parse_lengths(const JsonObject& o) {
  LengthSpec l;
  const std::string kind = o.one_of("distribution", {"fixed", "lognormal", "histogram"});
  l.max = o.integer_in("max", 1, limits::kMaxRequestTokens);
  if (kind == "fixed") {
    l.value = static_cast<double>(o.integer_in("value", 1, limits::kMaxRequestTokens));
  } else if (kind == "lognormal") {
    l.kind = LengthKind::lognormal;
    if (o.has("median")) {  // median and p99: DeepSeek and Azure publish percentiles
      const double median = o.positive("median"), p99 = o.positive("p99");
      if (!(p99 > median)) o.fail("p99", "expected a p99 above the median");
      l.mu = std::log(median);
      l.sigma = std::log(p99 / median) / kZ99;
    } else {  // mean and sigma of log(tokens)
      l.sigma = o.positive("sigma");
      if (l.sigma > 5) o.fail("sigma", fmt::format("expected a sigma of log(tokens) of at most 5, got {:g}", l.sigma));
      l.mu = std::log(o.positive("mean")) - l.sigma * l.sigma / 2;
    }
  } else {
    l.kind = LengthKind::histogram;
    l.bin_edges = o.number_array("bin_edges");
    l.bin_weights = o.number_array("bin_weights");
    if (l.bin_edges.size() < 2 || l.bin_edges.size() > 10001 || l.bin_weights.size() + 1 != l.bin_edges.size())
      o.fail("bin_weights", "expected one weight per bin: bin_edges holds n+1 (2 to 10001) edges, bin_weights n");
    double total = 0;
    for (std::size_t i = 0; i < l.bin_weights.size(); ++i) {
      if (!(l.bin_edges[i] >= 0 && l.bin_edges[i + 1] > l.bin_edges[i]))
        o.fail("bin_edges", "expected increasing edges from 0 or more");
      if (!(l.bin_weights[i] >= 0)) o.fail("bin_weights", "expected weights of 0 or more");
      total += l.bin_weights[i];
    }
    if (!(total > 0)) o.fail("bin_weights", "expected at least one positive weight");
    double running = 0;
    for (double w : l.bin_weights) l.bin_cumulative.push_back(running += w);
  }
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return l;
}

requests::PoolSpec parse_pool(const JsonObject& o) {
  requests::PoolSpec p;
  p.instances = o.int_in("instances", 1, limits::kMaxPoolInstances);
  p.max_batch = o.integer_in_or("max_batch", 1, 1 << 20, p.max_batch);
  p.max_tokens_per_step = o.integer_in_or("max_tokens_per_step", 1, 1 << 24, p.max_tokens_per_step);
  p.block_tokens = o.int_in_or("block_tokens", 1, 1024, p.block_tokens);
  if (p.max_tokens_per_step <= p.max_batch)
    o.fail("max_tokens_per_step", fmt::format("expected more tokens per step than max_batch ({}), so prefill can run "
                                              "beside a full decode batch",
                                              p.max_batch));
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return p;
}

requests::Routing parse_routing(const JsonObject& o) {
  const std::string r = o.one_of_or("routing", {"round_robin", "least_loaded", "prefix_affinity"}, "least_loaded");
  return r == "round_robin"       ? requests::Routing::round_robin
         : r == "prefix_affinity" ? requests::Routing::prefix_affinity
                                  : requests::Routing::least_loaded;
}

void parse_slo_and_bounds(const JsonObject& o, requests::RequestSimConfig& c) {
  if (o.has("slo")) {
    const JsonObject slo = o.object("slo");
    if (slo.has("ttft_ms")) c.ttft_slo_s = slo.positive("ttft_ms") / 1e3;
    if (slo.has("tpot_ms")) c.tpot_slo_s = slo.positive("tpot_ms") / 1e3;
    slo.allow({"source", "notes"});
    slo.reject_unknown_keys();
  }
  const bool trace = c.arrivals.kind == ArrivalKind::trace;
  c.duration_s = trace ? o.number_or("duration_s", limits::kMaxSimSeconds) : o.positive("duration_s");
  if (!(c.duration_s > 0 && c.duration_s <= limits::kMaxSimSeconds))
    o.fail("duration_s", fmt::format("expected 0 to {:g} seconds", limits::kMaxSimSeconds));
  c.max_requests = o.integer_in("max_requests", 1, limits::kMaxSimRequests);
  // The arrival process walks the profile slot by slot (each once): bound the walk.
  const auto& a = c.arrivals;
  if (!a.profile.empty() && c.duration_s / (a.period_s / static_cast<double>(a.profile.size())) > 1e8)
    o.fail("duration_s", "expected at most 1e8 profile slots (duration_s / (profile_period_s / slots))");
  c.seed = static_cast<std::uint64_t>(o.integer_in_or("seed", 0, std::int64_t{1} << 53, 1));
  c.sample_interval_s = o.number_or("sample_interval_s", std::max(1.0, c.duration_s / 1000));
  if (!(c.sample_interval_s > 0 && c.duration_s / c.sample_interval_s <= 100000))
    o.fail("sample_interval_s", "expected a positive interval giving at most 100000 samples over duration_s");
}

void parse_autoscale(const JsonObject& root, const ServingScenario& s, requests::RequestSimConfig& c) {
  const JsonObject o = root.object("autoscale");
  if (c.arrivals.kind == ArrivalKind::trace)
    root.fail("autoscale", "expected no autoscaling with a trace (it sizes from the arrival rate and length laws)");
  if (!s.prefill)
    root.fail("autoscale", "expected the scenario's \"prefill\" block: prefill capacity is sized from it");
  requests::AutoscaleSpec a;
  a.interval_s = o.positive("interval_s");
  if (c.duration_s / a.interval_s > 100000) o.fail("interval_s", "expected at most 100000 intervals over duration_s");
  a.target_utilization = o.number_or("target_utilization", 1);
  if (!(a.target_utilization > 0 && a.target_utilization <= 1))
    o.fail("target_utilization", "expected a fraction in (0, 1]");
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  c.autoscale = a;
}

}  // namespace

requests::RequestSimConfig parse_request_section(const JsonObject& o, const ServingScenario& s) {
  requests::RequestSimConfig c;
  const std::string base = directory_of(s.file);
  c.arrivals = parse_arrivals(o.object("arrivals"), base);
  if (c.arrivals.kind != ArrivalKind::trace) {
    c.prompt = parse_lengths(o.object("prompt_tokens"));
    c.output = parse_lengths(o.object("output_tokens"));
  }
  if (o.has("prefix_cache")) {
    const JsonObject p = o.object("prefix_cache");
    c.prefix_hit_ratio = p.number_or("hit_ratio", 0);
    if (!(c.prefix_hit_ratio >= 0 && c.prefix_hit_ratio < 1)) p.fail("hit_ratio", "expected a share in [0, 1)");
    c.sessions = p.integer_in_or("sessions", 0, limits::kMaxSimRequests, 0);
    if (c.sessions > 0 && p.has("hit_ratio"))
      p.fail("sessions", "expected either sessions (hits from a session's earlier turns) or hit_ratio, not both");
    p.allow({"source", "notes"});
    p.reject_unknown_keys();
  }
  c.disaggregated = o.boolean_or("disaggregated", false);
  c.decode = parse_pool(o.object("decode_pool"));
  if (c.disaggregated) {
    if (!s.prefill) o.fail("disaggregated", "expected the scenario's \"prefill\" block: it gives the prefill layout");
    c.prefill = parse_pool(o.object("prefill_pool"));
  } else if (o.has("prefill_pool")) {
    o.fail("prefill_pool", "expected no prefill pool unless \"disaggregated\" is true");
  }
  c.routing = parse_routing(o);
  parse_slo_and_bounds(o, c);
  if (o.has("autoscale")) parse_autoscale(o, s, c);
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return c;
}

}  // namespace gwsim
