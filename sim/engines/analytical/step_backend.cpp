#include "gwsim/sim/engines/step_backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gwsim/common/input_error.h"

namespace gwsim {

std::unique_ptr<StepBackend> make_network_step_backend(const std::string& network);  // des/des_step_backend.cpp

namespace {

class AnalyticalStepBackend final : public StepBackend {
 public:
  std::string name() const override { return "analytical"; }
  bool simulates_asymmetry() const override { return false; }
  bool writes_trace() const override { return false; }
  StepOutcome estimate(const TrainingPlan& plan, const Scenario& sc, bool) const override {
    StepOutcome out;
    out.step = estimate_training_step(plan, sc.cluster, sc.gpu, sc.profile);
    return out;
  }
};

// The registry: one entry per backend, built once.
const std::vector<std::unique_ptr<StepBackend>>& registry() {
  static const auto backends = [] {
    std::vector<std::unique_ptr<StepBackend>> b;
    b.push_back(std::make_unique<AnalyticalStepBackend>());
    b.push_back(make_network_step_backend("des"));
    b.push_back(make_network_step_backend("simgrid"));
    return b;
  }();
  return backends;
}

}  // namespace

std::vector<std::string> step_backend_names() {
  std::vector<std::string> names;
  for (const auto& b : registry()) names.push_back(b->name());
  return names;
}

const StepBackend& find_step_backend(const std::string& name) {
  for (const auto& b : registry())
    if (b->name() == name) return *b;
  throw InputError(
      "--backend", "",
      fmt::format("backend \"{}\" is not available: expected {}", name, fmt::join(step_backend_names(), "|")));
}

}  // namespace gwsim
