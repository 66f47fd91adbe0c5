#include "gwsim/sim/requests/request_stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"

namespace gwsim::requests {

std::int64_t draw_length(const LengthSpec& spec, Rng& rng) {
  double x = spec.value;
  if (spec.kind == LengthKind::lognormal) {
    x = std::exp(spec.mu + spec.sigma * rng.normal());
  } else if (spec.kind == LengthKind::histogram) {
    const double u = rng.uniform() * spec.bin_cumulative.back();
    const auto bin =
        std::min(spec.bin_weights.size() - 1,
                 static_cast<std::size_t>(std::upper_bound(spec.bin_cumulative.begin(), spec.bin_cumulative.end(), u) -
                                          spec.bin_cumulative.begin()));
    x = spec.bin_edges[bin] + rng.uniform() * (spec.bin_edges[bin + 1] - spec.bin_edges[bin]);
  }
  const double capped = std::clamp(std::round(x), 1.0, static_cast<double>(spec.max));
  return static_cast<std::int64_t>(capped);
}

double mean_length(const LengthSpec& spec, int power) {
  // The same draw as draw_length with u on a fine grid of quantiles instead of random: a fixed
  // quadrature, so sizing from it is deterministic. 4096 midpoints put the error of a lognormal of
  // sigma 1.5 well under 1 %.
  constexpr int kPoints = 4096;
  auto cap = [&](double x) { return std::pow(std::clamp(std::round(x), 1.0, static_cast<double>(spec.max)), power); };
  if (spec.kind == LengthKind::fixed) return cap(spec.value);
  double sum = 0;
  if (spec.kind == LengthKind::lognormal) {
    for (int i = 0; i < kPoints; ++i) {
      // Inverse normal CDF by bisection on erfc (called once per run, 4096 x 60 steps).
      const double p = (i + 0.5) / kPoints;
      double lo = -10, hi = 10;
      for (int k = 0; k < 60; ++k) {
        const double mid = (lo + hi) / 2;
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      sum += cap(std::exp(spec.mu + spec.sigma * (lo + hi) / 2));
    }
    return sum / kPoints;
  }
  double total = 0;
  for (double w : spec.bin_weights) total += w;
  for (std::size_t b = 0; b < spec.bin_weights.size(); ++b)
    for (int i = 0; i < 64; ++i)
      sum += spec.bin_weights[b] / total / 64 *
             cap(spec.bin_edges[b] + (i + 0.5) / 64 * (spec.bin_edges[b + 1] - spec.bin_edges[b]));
  return sum;
}

namespace {

std::int64_t token_count(const std::string& field, const std::string& path, std::int64_t line, const char* what) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(field, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != field.size() || !(v >= 1 && v <= static_cast<double>(limits::kMaxSeqLen)) || v != std::floor(v))
    throw InputError(
        path, fmt::format("line {}", line),
        fmt::format("expected {} as a whole number of tokens in [1, {}], got \"{}\"", what, limits::kMaxSeqLen, field));
  return static_cast<std::int64_t>(v);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) {
    while (!f.empty() && (f.back() == '\r' || f.back() == ' ')) f.pop_back();
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
    out.push_back(f);
  }
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

}  // namespace

std::vector<RequestSpec> read_trace_csv(const std::string& path, std::int64_t max_rows, double time_scale) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "", "expected a readable CSV trace");
  std::string line;
  if (!std::getline(in, line)) throw InputError(path, "line 1", "expected a header, the file is empty");
  const auto header = split_csv(line);
  const bool has_session = header.size() == 4 && header[3] == "session_id";
  if (!(header.size() == 3 || has_session) || header[0] != "timestamp_s" || header[1] != "prompt_tokens" ||
      header[2] != "output_tokens")
    throw InputError(path, "line 1", "expected the header timestamp_s,prompt_tokens,output_tokens[,session_id]");
  std::vector<RequestSpec> rows;
  std::map<std::string, std::int64_t> sessions;  // ids in order of first appearance
  double last = 0;
  for (std::int64_t n = 2; std::getline(in, line) && static_cast<std::int64_t>(rows.size()) < max_rows; ++n) {
    if (line.empty() || line == "\r") continue;
    const auto f = split_csv(line);
    if (f.size() != header.size())
      throw InputError(path, fmt::format("line {}", n),
                       fmt::format("expected {} fields, got {}", header.size(), f.size()));
    RequestSpec r;
    std::size_t used = 0;
    try {
      r.arrival_s = std::stod(f[0], &used) * time_scale;
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != f[0].size() || !std::isfinite(r.arrival_s) || r.arrival_s < last || r.arrival_s > 1e9)
      throw InputError(path, fmt::format("line {}", n),
                       fmt::format("expected a timestamp in seconds, not before the previous row's, got \"{}\"", f[0]));
    last = r.arrival_s;
    r.prompt = token_count(f[1], path, n, "prompt_tokens");
    r.output = token_count(f[2], path, n, "output_tokens");
    if (has_session && !f[3].empty()) r.session = sessions.emplace(f[3], sessions.size()).first->second;
    rows.push_back(r);
  }
  if (rows.empty()) throw InputError(path, "line 2", "expected at least one request row");
  return rows;
}

double rate_at(const ArrivalSpec& spec, double t) {
  if (spec.profile.empty()) return spec.rate_per_s;
  const double slot_s = spec.period_s / static_cast<double>(spec.profile.size());
  const double phase = std::fmod(t, spec.period_s);
  const auto slot = std::min(spec.profile.size() - 1, static_cast<std::size_t>(phase / slot_s));
  return spec.rate_per_s * spec.profile[slot];
}

RequestStream::RequestStream(const RequestSimConfig& config, std::vector<RequestSpec> trace)
    : c_(config), trace_(std::move(trace)), rng_(config.seed) {}

// Arrivals are a renewal process of unit rate in operational time (the integral of the rate), mapped
// back to wall time slot by slot: a non-homogeneous Poisson (or Gamma) process for the profile.
double RequestStream::next_arrival_time() {
  const ArrivalSpec& a = c_.arrivals;
  if (a.kind == ArrivalKind::gamma) {
    const double shape = 1 / (a.cv * a.cv);  // mean 1, CV a.cv
    op_time_ += rng_.gamma(shape) / shape;
  } else {
    op_time_ += rng_.exponential(1);
  }
  if (a.profile.empty()) return op_time_ / a.rate_per_s;
  const double slot_s = a.period_s / static_cast<double>(a.profile.size());
  for (;;) {
    const double rate = a.rate_per_s * a.profile[slot_ % a.profile.size()];
    const double slot_op = rate * slot_s;
    if (rate > 0 && op_time_ < slot_start_op_ + slot_op) return slot_start_t_ + (op_time_ - slot_start_op_) / rate;
    slot_start_op_ += slot_op;
    slot_start_t_ += slot_s;
    ++slot_;
    if (slot_start_t_ > c_.duration_s) return slot_start_t_;  // past the end: no more arrivals
  }
}

std::optional<RequestSpec> RequestStream::next() {
  if (emitted_ >= c_.max_requests) return std::nullopt;
  RequestSpec r;
  if (c_.arrivals.kind == ArrivalKind::trace) {
    if (emitted_ >= static_cast<std::int64_t>(trace_.size())) return std::nullopt;
    r = trace_[static_cast<std::size_t>(emitted_)];
  } else {
    r.arrival_s = next_arrival_time();
    r.prompt = draw_length(c_.prompt, rng_);
    r.output = draw_length(c_.output, rng_);
    if (c_.sessions > 0) r.session = static_cast<std::int64_t>(rng_.bits() % static_cast<std::uint64_t>(c_.sessions));
  }
  if (c_.duration_s > 0 && r.arrival_s > c_.duration_s) return std::nullopt;
  ++emitted_;
  return r;
}

}  // namespace gwsim::requests
