#include "gwsim/sim/validation/error_band.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace gwsim {

namespace {

// A validated row's error as an error of the time (or of the GPUs a load needs): predicted /
// published - 1. A rate row (TFLOP/s, tokens/s per node) predicted e% high means a time (or a GPU
// count) 100 / (100 + e) - 1 off; times and resource counts (nodes) are taken as they are.
double step_time_error_pct(const RecordedRow& row, const std::string& backend) {
  const double e = row.error_pct(backend);
  return row.speed_sense == "throughput" ? 100 * (100 / (100 + e) - 1) : e;  // step_time, resources: as is
}

double round1(double x) { return std::round(x * 10) / 10; }

struct Spread {
  nlohmann::json rows = nlohmann::json::array();
  double min_pct = std::numeric_limits<double>::infinity();
  double max_pct = -std::numeric_limits<double>::infinity();
};

Spread spread_of(const std::vector<const RecordedRow*>& rows, const std::string& backend) {
  Spread s;
  for (const auto* r : rows) {
    const double e = step_time_error_pct(*r, backend);
    s.min_pct = std::min(s.min_pct, e);
    s.max_pct = std::max(s.max_pct, e);
    s.rows.push_back(r->case_id + " | " + r->metric);
  }
  s.min_pct = round1(s.min_pct);
  s.max_pct = round1(s.max_pct);
  return s;
}

}  // namespace

namespace {

// The band over the validated rows of `kind` ("training": one row per published run states its
// speed; "inference": the serving deployment's per-node throughputs and node counts). A row whose
// figure built a profile or default (in-sample) would vouch for itself, so it does not count.
nlohmann::json error_band(const ValidationRecord& record, const ValidationRegion& region, const std::string& backend,
                          const std::string& kind, const std::string& basis, const std::string& measure) {
  std::vector<const RecordedRow*> runs;
  for (const auto& r : record.rows)
    if (r.kind == kind && !r.speed_sense.empty() && r.region && r.in_sample != true) runs.push_back(&r);
  std::vector<const RecordedRow*> same;
  int nearest_distance = std::numeric_limits<int>::max();
  for (const auto* r : runs) {
    const int d = region_distance(region, *r->region);
    if (d == 0) same.push_back(r);
    nearest_distance = std::min(nearest_distance, d);
  }
  nlohmann::json band;
  band["region"] = region.describe();
  band["measure"] = measure;
  band["basis"] = basis;
  if (!same.empty()) {
    const auto s = spread_of(same, backend);
    band["outside"] = false;
    band["similar_runs"] = same.size();
    band["min_pct"] = s.min_pct;
    band["max_pct"] = s.max_pct;
    band["rows"] = s.rows;
    return band;
  }
  band["outside"] = true;
  band["similar_runs"] = 0;
  if (!runs.empty()) {
    // The nearest region: fewest differing attributes; of its rows, those of the first region met
    // in record order, so the answer is one region and does not depend on anything but the record.
    const RecordedRow* first = nullptr;
    for (const auto* r : runs)
      if (region_distance(region, *r->region) == nearest_distance) {
        first = r;
        break;
      }
    std::vector<const RecordedRow*> nearest;
    for (const auto* r : runs)
      if (*r->region == *first->region) nearest.push_back(r);
    const auto s = spread_of(nearest, backend);
    band["nearest"] = {{"region", first->region->describe()},
                       {"differences", nearest_distance},
                       {"similar_runs", nearest.size()},
                       {"min_pct", s.min_pct},
                       {"max_pct", s.max_pct},
                       {"rows", s.rows}};
  }
  return band;
}

}  // namespace

nlohmann::json training_error_band(const ValidationRecord& record, const ValidationRegion& region,
                                   const std::string& backend) {
  return error_band(
      record, region, backend, "training",
      fmt::format(
          "errors of the step time (predicted / published - 1; TFLOP/s rows converted) of the validated training "
          "runs with the same GPU family, the same parallelism kinds with degree > 1 (tp, pp, ep, cp, dp) and the "
          "same model kind (MoE or dense), as recorded in sim/data/validation_record.json for the {} backend; "
          "negative: the published run was slower than gwsim predicts",
          backend == "analytical" ? "analytical" : "des"),
      "step time");
}

nlohmann::json serving_error_band(const ValidationRecord& record, const ValidationRegion& region) {
  return error_band(record, region, "analytical", "inference",
                    "errors of the GPUs a load needs (predicted / published - 1; per-node throughput rows converted) "
                    "of the validated serving deployments with the same GPU family, the same parallelism kinds of the "
                    "decode instance (tp, ep, dp) and the same model kind, as recorded in "
                    "sim/data/validation_record.json; negative: the deployment needed more GPUs than gwsim predicts",
                    "GPUs needed");
}

nlohmann::json serving_error_band_of(const ServingScenario& scenario) {
  return serving_error_band(cached_validation_record(default_validation_record_path()), region_of(scenario));
}

std::string error_band_line(const nlohmann::json& band) {
  const std::string measure = band.value("measure", "step time");
  auto range = [&](const nlohmann::json& b) {
    return fmt::format("{:+.1f}%..{:+.1f}% {}", b["min_pct"].get<double>(), b["max_pct"].get<double>(), measure);
  };
  if (!band["outside"].get<bool>())
    return fmt::format("similar validated runs: {} (n={}: {})", range(band), band["similar_runs"].get<std::size_t>(),
                       band["region"].get<std::string>());
  std::string s = "outside every validated region (" + band["region"].get<std::string>() + ")";
  if (band.contains("nearest")) {
    const auto& n = band["nearest"];
    s += fmt::format("; nearest {}: {} (n={})", n["region"].get<std::string>(), range(n),
                     n["similar_runs"].get<std::size_t>());
  }
  return s;
}

}  // namespace gwsim
