#include "gwsim/hwmodels/reliability.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace {

Figure read_sourced(const JsonObject& parent, const std::string& key) {
  JsonObject o = parent.object(key);
  Figure f;
  f.value = o.number("value");
  f.source = o.string("source");
  if (f.source.empty()) o.fail("source", "expected a non-empty source for this figure");
  f.estimate = o.boolean_or("estimate", false);
  o.allow({"notes"});
  o.reject_unknown_keys();
  if (!std::isfinite(f.value) || f.value <= 0)
    parent.fail(key, fmt::format("expected a positive figure, got {}", f.value));
  return f;
}

}  // namespace

double ReliabilityDefaults::unexpected_per_gpu_hour() const {
  double r = 0;
  for (const auto& c : components) r += c.per_gpu_hour;
  return r;
}

const ReliabilityDefaults& reliability_defaults() {
  static const ReliabilityDefaults d = [] {
    const std::string path = data_dir() + "/hwmodels/data/reliability.json";
    auto doc = parse_json_file(path);
    JsonObject o(doc, path, "$");
    o.require_schema("gwsim.reliability/1");
    ReliabilityDefaults r;
    r.source = o.string("source");
    r.observed_gpus = o.positive("observed_gpus");
    r.observed_hours = o.positive("observed_hours");
    const double gpu_hours = r.observed_gpus * r.observed_hours;
    r.planned_per_gpu_hour = o.number_or("planned_interruptions", 0) / gpu_hours;
    for (const auto& c : o.array_of_objects("components")) {
      ComponentFailureRate f;
      f.name = c.string("name");
      f.interruptions = c.number("interruptions");
      if (f.interruptions < 0) c.fail("interruptions", "expected 0 or more");
      f.table5 = c.string_or("table5", "");
      f.per_gpu_hour = f.interruptions / gpu_hours;
      c.reject_unknown_keys();
      r.components.push_back(f);
    }
    r.checkpoint_bytes_per_param = read_sourced(o, "checkpoint_bytes_per_param");
    r.checkpoint_write_gbs = read_sourced(o, "checkpoint_write_gbs");
    r.restart_s = read_sourced(o, "restart_s");
    o.allow({"notes"});
    o.reject_unknown_keys();
    return r;
  }();
  return d;
}

double young_interval_s(double checkpoint_s, double mtbf_s) { return std::sqrt(2 * checkpoint_s * mtbf_s); }

double daly_interval_s(double d, double m) {
  if (d >= 2 * m) return m;
  const double x = d / (2 * m);
  return std::sqrt(2 * d * m) * (1 + std::sqrt(x) / 3 + x / 9) - d;
}

double expected_wall_s(double work_s, double interval_s, double checkpoint_s, double restart_s, double mtbf_s) {
  if (work_s <= 0) return 0;
  const double tau = std::min(interval_s, work_s);
  const double segments = work_s / tau;
  if (!std::isfinite(mtbf_s)) return segments * (tau + checkpoint_s);
  const double m = mtbf_s;
  // Daly 2006: expected time of one segment (tau of work, then a checkpoint)
  // under exponential failures with restart R, each failure losing the work
  // since the last checkpoint.
  const double seg = m * std::exp(restart_s / m) * std::expm1((tau + checkpoint_s) / m);
  return segments * seg;
}

double optimal_interval_s(double checkpoint_s, double restart_s, double mtbf_s) {
  if (!std::isfinite(mtbf_s)) return std::numeric_limits<double>::infinity();
  // Work per unit of wall time is convex enough in log tau; search 1e-3..1e3 x
  // Young.
  const double y = std::max(young_interval_s(checkpoint_s, mtbf_s), 1e-6);
  double lo = std::log(y * 1e-3), hi = std::log(y * 1e3);
  auto cost = [&](double lt) {
    const double tau = std::exp(lt);
    return expected_wall_s(tau, tau, checkpoint_s, restart_s, mtbf_s) / tau;
  };
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = cost(a), fb = cost(b);
  for (int i = 0; i < 200 && hi - lo > 1e-9; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = cost(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = cost(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

}  // namespace gwsim
