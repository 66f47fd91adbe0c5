#pragma once
// Latency statistics of a run: exact percentiles of per-request values, and a log-binned weighted
// histogram for the inter-token gaps (one entry per decode step, weighted by the sequences in it,
// so memory stays bounded however many tokens a run makes).
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace gwsim::requests {

struct Summary {
  std::int64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Percentiles by the nearest-rank rule (the smallest value with at least p of the values at or below it).
Summary summarize(std::vector<double> values);
nlohmann::json summary_json(const Summary& s, double scale);

class LogHistogram {
 public:
  // Bins of 1/kBinsPerDecade of a decade from 1 us to 1e4 s: a percentile is within 0.6 % of the
  // true value (half a bin's width) inside that range.
  static constexpr int kBinsPerDecade = 200;
  LogHistogram();
  void add(double value, double weight);
  Summary summary() const;

 private:
  std::vector<double> weights_;
  double total_ = 0, weighted_sum_ = 0, max_ = 0;
};

}  // namespace gwsim::requests
