#pragma once
// `gwsim compare`: one workload on several chips or export-control variants,
// side by side. The GPU count follows a budget (same count, same facility
// power, same total TPP); the layout keeps its TP/PP/CP/EP degrees and global
// batch and scales DP. A chip that cannot hold the model, or whose count admits
// no valid layout, gets a row saying why instead of a result.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "gwsim/sim/input/scenario.h"

namespace gwsim {

enum class CompareBudget { same_count, same_power, same_tpp };
CompareBudget parse_compare_budget(const std::string& s);  // InputError naming --budget
std::string to_string(CompareBudget b);

struct CompareRow {
  std::string label;  // as asked: "H800-SXM", "H100-SXM@2022-10:interconnect"
  std::string gpu;    // the chip simulated (variant name if capped)
  std::string profile;
  std::vector<std::string> caps_applied;
  std::vector<std::string> notes;  // precision fallback, count rounding
  bool ok = false;
  std::string refused;           // why no result (memory, layout)
  std::int64_t target_gpus = 0;  // what the budget asks
  std::int64_t gpus = 0;         // what a valid layout uses
  int dp = 0;
  double tpp_per_gpu = 0;
  double step_time_s = 0, tokens_per_s = 0, mfu = 0;
  double days = 0, wall_clock_days = 0, gpu_hours = 0;
  double facility_mw = 0, capex_usd = 0, cost_owned_usd = 0, cost_rental_usd = 0;
  double goodput = 0;
  std::string bottleneck;
  bool bottleneck_moved = false;  // vs the scenario as given
};

struct Comparison {
  CompareBudget budget = CompareBudget::same_count;
  std::string scenario;
  std::string baseline_gpu;
  std::int64_t baseline_gpus = 0;
  double baseline_facility_mw = 0;
  double baseline_tpp = 0;  // whole cluster
  std::string baseline_bottleneck;
  std::vector<CompareRow> rows;
};

// chips: catalogue names, optionally "NAME@RULE:CAP" for the variant capped to
// fall outside RULE.
Comparison compare_chips(const Scenario& sc, const std::vector<std::string>& chips, CompareBudget budget);
nlohmann::json comparison_to_json(const Comparison& c);
std::string format_comparison(const Comparison& c);

}  // namespace gwsim
