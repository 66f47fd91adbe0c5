#pragma once
// Seeded random draws that give the same numbers with every standard library: std::mt19937_64's
// output is specified by the standard, its distributions are not, so the transforms are here.
#include <cmath>
#include <cstdint>
#include <random>

namespace gwsim::requests {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform in (0, 1): 53 random bits, never 0 (logs of it stay finite).
  double uniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  double exponential(double mean) { return -mean * std::log(uniform()); }
  // Standard normal by Box-Muller (one of the pair; the other is dropped so a draw is stateless).
  double normal() { return std::sqrt(-2 * std::log(uniform())) * std::cos(2 * kPi * uniform()); }
  // Gamma(shape, scale 1): Marsaglia and Tsang (2000), "A simple method for generating gamma
  // variables", ACM TOMS 26(3); shape < 1 through the boost U^(1/shape).
  double gamma(double shape) {
    if (shape < 1) return gamma(shape + 1) * std::pow(uniform(), 1 / shape);
    const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
      double x = 0, v = 0;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  std::uint64_t bits() { return engine_(); }

 private:
  static constexpr double kPi = 3.14159265358979323846;
  std::mt19937_64 engine_;
};

}  // namespace gwsim::requests
