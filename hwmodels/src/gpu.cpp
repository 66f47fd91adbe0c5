#include "gwsim/hwmodels/gpu.h"

#include <fmt/format.h>

#include <stdexcept>

#include "gwsim/common/input_error.h"

namespace gwsim {

std::string to_string(Precision p) {
  switch (p) {
    case Precision::fp64:
      return "fp64";
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::fp8:
      return "fp8";
    case Precision::int8:
      return "int8";
    case Precision::fp4:
      return "fp4";
  }
  return "unknown";
}

std::optional<Precision> parse_precision(const std::string& s) {
  for (Precision p : {Precision::fp64, Precision::fp32, Precision::tf32, Precision::bf16, Precision::fp16,
                      Precision::fp8, Precision::int8, Precision::fp4}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

// Storage width of one operand. TF32 operands live in 32-bit registers and memory (only 19 bits
// feed the multiplier), so 32 is both the byte count workloads need and the input bit length the
// export-control TPP formula sees; on every catalogue chip tf32 x 32 never exceeds the fp8/bf16 TPP.
int bits_of(Precision p) {
  switch (p) {
    case Precision::fp64:
      return 64;
    case Precision::fp32:
      return 32;
    case Precision::tf32:
      return 32;
    case Precision::bf16:
      return 16;
    case Precision::fp16:
      return 16;
    case Precision::fp8:
      return 8;
    case Precision::int8:
      return 8;
    case Precision::fp4:
      return 4;
  }
  return 0;
}

double GpuSpec::peak_flops(Precision p) const {
  auto it = peak_dense_tflops.find(p);
  if (it == peak_dense_tflops.end())
    throw InputError(fmt::format("GPU {} does not support {} (no peak in its catalogue entry)", name, to_string(p)));
  return it->second.value * 1e12;
}

}  // namespace gwsim
