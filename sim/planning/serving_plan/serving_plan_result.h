#pragma once
// One candidate's result as JSON: the report's rows (serving_plan_output.cpp) and, between MPI
// ranks, the text each rank sends to rank 0 (exact: nlohmann writes doubles to round-trip).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "gwsim/sim/planning/serving_plan.h"

namespace gwsim {

nlohmann::json serving_plan_result_json(const ServingPlanResult& r, bool with_scenario);
ServingPlanResult serving_plan_result_from_json(const nlohmann::json& j);
std::string serving_plan_results_to_text(const std::vector<ServingPlanResult>& results);
std::vector<ServingPlanResult> serving_plan_results_from_text(const std::string& text);

}  // namespace gwsim
