#pragma once
// `gwsim rl`: the report of an RL scenario (schema "gwsim.rl-report/1", docs/rl.md and
// docs/formats.md), its printed summary, and the placement comparison (colocated against
// disaggregated pool splits, with and without the one-step off-policy overlap).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "gwsim/sim/input/rl_scenario.h"
#include "gwsim/sim/planning/rl/rl_step.h"

namespace gwsim {

nlohmann::json run_rl(const RlScenario& s, const std::string& backend = "analytical");
std::string format_rl_summary(const nlohmann::json& report);

// Every placement of the scenario's GPUs (the pools' sum) worth comparing: colocated, and up to
// kMaxRlPoolSplits disaggregated splits whose pools fit the update layout and the engine instances,
// each with and without overlap. A split that does not fit is listed with its reason.
inline constexpr int kMaxRlPoolSplits = 8;
nlohmann::json compare_rl_placements(const std::string& path, const std::vector<std::string>& overrides,
                                     const std::string& backend = "analytical");
std::string format_rl_comparison(const nlohmann::json& comparison);

}  // namespace gwsim
