#pragma once
// Small helpers every layer uses for output: rounding reports to significant digits, lower-casing
// names for case-insensitive look-ups.
#include <cctype>
#include <cmath>
#include <string>

namespace gwsim {

// Rounds to `digits` significant digits, so reports stay readable and identical across compilers'
// last-bit differences (same scenario, same bytes).
inline double round_significant(double x, int digits = 6) {
  if (x == 0 || !std::isfinite(x)) return x;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(x)))));
  return std::round(x * scale) / scale;
}

inline std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace gwsim
