#pragma once
// Op classes: how the simulator prices a kernel (profile.h says what each one means). Code compares
// the enum; the names below are the only spelling, used by profile files ("<class>.<precision>"
// keys) and by reports.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace gwsim {

enum class OpClass { gemm, grouped_gemm, attention, attention_backward, mla_decode, memory_bound };

// Every class, in the order profile errors list them.
inline constexpr std::array<OpClass, 6> kOpClasses = {OpClass::gemm,       OpClass::grouped_gemm,
                                                      OpClass::attention,  OpClass::attention_backward,
                                                      OpClass::mla_decode, OpClass::memory_bound};

const std::string& to_string(OpClass c);
std::optional<OpClass> parse_op_class(std::string_view name);

// Priced by bytes over HBM bandwidth (its work is bytes), not by FLOPs over peak FLOP/s.
constexpr bool bandwidth_bound(OpClass c) { return c == OpClass::memory_bound || c == OpClass::mla_decode; }
// A matrix multiplication of the GEMM kinds (dense or grouped), attention aside.
constexpr bool is_gemm(OpClass c) { return c == OpClass::gemm || c == OpClass::grouped_gemm; }

}  // namespace gwsim
