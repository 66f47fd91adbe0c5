// The output lengths of one RL step's samples (rl_scenario.h): portable across standard libraries,
// so std::mt19937_64 (its output sequence is fixed by the standard) with our own transforms from
// uniform doubles; the std:: distributions are implementation-defined and are not used.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "gwsim/sim/input/rl_scenario.h"

namespace gwsim {

namespace {

// A uniform double in (0, 1): the top 53 bits, shifted by half a unit so that log() is finite.
double uniform_open(std::mt19937_64& rng) { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; }

// A standard normal by Box-Muller (two uniforms per draw; the second value is dropped so that each
// sample consumes the same count of generator outputs).
double standard_normal(std::mt19937_64& rng) {
  const double u1 = uniform_open(rng), u2 = uniform_open(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// A length from the histogram: a bin by weight, then uniform within it, rounded up so that a whole
// length stays in (previous upto, upto].
double histogram_draw(const OutputLengthDistribution& d, std::mt19937_64& rng) {
  double total = 0;
  for (const auto& b : d.bins) total += b.weight;
  double pick = uniform_open(rng) * total;
  const double within = uniform_open(rng);
  double lower = 0;
  for (const auto& b : d.bins) {
    if (pick < b.weight || &b == &d.bins.back()) return std::ceil(lower + within * (b.upto_tokens - lower));
    pick -= b.weight;
    lower = b.upto_tokens;
  }
  return d.bins.back().upto_tokens;
}

}  // namespace

std::vector<double> sample_output_lengths(const OutputLengthDistribution& d, std::int64_t samples, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> lengths;
  lengths.reserve(static_cast<std::size_t>(samples));
  // Lognormal with the stated mean: mu = ln(mean) - sigma^2 / 2.
  const double mu = d.kind == OutputLengthDistribution::Kind::lognormal ? std::log(d.mean) - d.sigma * d.sigma / 2 : 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    double l = d.tokens;
    if (d.kind == OutputLengthDistribution::Kind::lognormal)
      l = std::exp(mu + d.sigma * standard_normal(rng));
    else if (d.kind == OutputLengthDistribution::Kind::histogram)
      l = histogram_draw(d, rng);
    // Whole tokens, at least one; generation stops at the maximum (the sample is truncated).
    lengths.push_back(std::clamp(std::round(l), 1.0, d.max_tokens));
  }
  return lengths;
}

}  // namespace gwsim
