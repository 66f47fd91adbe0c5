#include "gwsim/sim/requests/metrics.h"

#include <algorithm>
#include <cmath>

namespace gwsim::requests {

namespace {
constexpr double kLowest = 1e-6;
constexpr int kDecades = 10;

double nearest_rank(const std::vector<double>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n)));
  return sorted[std::min(sorted.size(), rank) - 1];
}
}  // namespace

Summary summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = static_cast<std::int64_t>(values.size());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  s.p50 = nearest_rank(values, 0.5);
  s.p90 = nearest_rank(values, 0.9);
  s.p99 = nearest_rank(values, 0.99);
  s.max = values.back();
  return s;
}

nlohmann::json summary_json(const Summary& s, double scale) {
  return {{"count", s.count},     {"mean", s.mean * scale}, {"p50", s.p50 * scale},
          {"p90", s.p90 * scale}, {"p99", s.p99 * scale},   {"max", s.max * scale}};
}

LogHistogram::LogHistogram() : weights_(static_cast<std::size_t>(kBinsPerDecade * kDecades) + 1, 0.0) {}

void LogHistogram::add(double value, double weight) {
  if (weight <= 0) return;
  const double pos = value <= kLowest ? 0 : std::log10(value / kLowest) * kBinsPerDecade;
  const auto bin = std::min(weights_.size() - 1, static_cast<std::size_t>(pos));
  weights_[bin] += weight;
  total_ += weight;
  weighted_sum_ += weight * value;
  max_ = std::max(max_, value);
}

Summary LogHistogram::summary() const {
  Summary s;
  if (total_ <= 0) return s;
  s.count = static_cast<std::int64_t>(total_);
  s.mean = weighted_sum_ / total_;
  s.max = max_;
  // The geometric middle of the bin where the cumulative weight first reaches p.
  auto quantile = [&](double p) {
    double seen = 0;
    for (std::size_t b = 0; b < weights_.size(); ++b) {
      seen += weights_[b];
      if (seen >= p * total_)
        return std::min(max_, kLowest * std::pow(10.0, (static_cast<double>(b) + 0.5) / kBinsPerDecade));
    }
    return max_;
  };
  s.p50 = quantile(0.5);
  s.p90 = quantile(0.9);
  s.p99 = quantile(0.99);
  return s;
}

}  // namespace gwsim::requests
