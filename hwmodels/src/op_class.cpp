#include "gwsim/hwmodels/op_class.h"

namespace gwsim {

static_assert(
    [] {
      for (std::size_t i = 0; i < kOpClasses.size(); ++i)
        if (static_cast<std::size_t>(kOpClasses[i]) != i) return false;
      return true;
    }(),
    "kOpClasses lists the classes in enum order (to_string indexes by value)");

namespace {

// The one spelling of each class, in kOpClasses order.
const std::array<std::string, kOpClasses.size()>& names() {
  static const std::array<std::string, kOpClasses.size()> n = {
      "gemm", "grouped_gemm", "attention", "attention_backward", "mla_decode", "memory_bound"};
  return n;
}

}  // namespace

const std::string& to_string(OpClass c) { return names()[static_cast<std::size_t>(c)]; }

std::optional<OpClass> parse_op_class(std::string_view name) {
  for (OpClass c : kOpClasses)
    if (to_string(c) == name) return c;
  return std::nullopt;
}

}  // namespace gwsim
