#pragma once
// A step backend prices one training step of a plan. Three implement it: "analytical" (closed form,
// analytical.h), "des" (gwsim's flow-level engine) and "simgrid" (SimGrid), the last two simulating
// the step on the network layer (des/training_step.h). run_training (report.h) looks one up by name
// and builds the report from what it returns; adding a backend is one entry in step_backend.cpp's
// registry, and nothing else chooses between them.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

struct StepOutcome {
  StepEstimate step;
  // Report sections of the backend's own, merged into the report's top level (a simulating
  // backend adds "des": what it simulated, how it differs from the analytical step).
  nlohmann::json report_sections = nlohmann::json::object();
  std::string trace_json;  // Chrome trace-event JSON when asked for and the backend writes one
};

class StepBackend {
 public:
  virtual ~StepBackend() = default;
  virtual std::string name() const = 0;
  // Whether it can price a scenario's "asymmetry" (stragglers, degraded links): only a simulated step can.
  virtual bool simulates_asymmetry() const = 0;
  virtual bool writes_trace() const = 0;
  virtual StepOutcome estimate(const TrainingPlan& plan, const Scenario& scenario, bool want_trace) const = 0;
};

// The registered backends' names, in the order --backend lists them.
std::vector<std::string> step_backend_names();
// The backend of that name; InputError("--backend") naming the ones there are otherwise.
const StepBackend& find_step_backend(const std::string& name);

}  // namespace gwsim
