#pragma once
// How far to trust a training (or serving) report: the recorded errors (validation_record.h) of the validated
// training runs in the scenario's region (validation_region.h: same GPU family, same parallelism
// kinds, MoE or dense), as errors of the step time. A scenario in no validated region says so and
// names the nearest one. Rows in-sample (their figure built a profile or default) do not count.
// Documented in docs/report.md (`error_band`).
#include <nlohmann/json.hpp>

#include <string>

#include "gwsim/sim/validation/validation_record.h"
#include "gwsim/sim/validation/validation_region.h"

namespace gwsim {

// backend: the run's backend; its recorded errors are used (simgrid: des's).
nlohmann::json training_error_band(const ValidationRecord& record, const ValidationRegion& region,
                                   const std::string& backend);
// How far to trust a serving report: the validated serving deployments (kind "inference" rows with
// a region: DeepSeek's Day 6) in the region of its decode instance, as errors of the GPUs needed.
nlohmann::json serving_error_band(const ValidationRecord& record, const ValidationRegion& region);
// The same for a serving scenario, from the shipped record (sim/data/validation_record.json).
nlohmann::json serving_error_band_of(const ServingScenario& scenario);

// "similar validated runs: -22.8%..-22.7% step time (n=2: Hopper, pp+ep+dp, MoE)" or "outside every
// validated region (Blackwell, ...); nearest Hopper, ...: -22.8%..-22.7% step time (n=2)".
std::string error_band_line(const nlohmann::json& band);

}  // namespace gwsim
