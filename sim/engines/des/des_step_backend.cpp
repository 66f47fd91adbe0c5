// The simulating step backends ("des", "simgrid"): the step on the network layer
// (training_step.h), reported beside the analytical step it refines.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "gwsim/common/text_and_numbers.h"
#include "gwsim/sim/engines/des/training_step.h"
#include "gwsim/sim/engines/step_backend.h"

namespace gwsim {

namespace {

// Seconds per breakdown term of `a` minus the same term of `b` (0 where b lacks it).
std::map<std::string, double> breakdown_change(const StepEstimate& a, const StepEstimate& b) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : a.breakdown_s) {
    const auto it = b.breakdown_s.find(k);
    out[k] = v - (it == b.breakdown_s.end() ? 0 : it->second);
  }
  return out;
}

// Why the simulated step differs from the analytical one by more than 10%: the non-compute term
// that moved most; "" when they agree within 10%.
std::string difference_cause(const StepEstimate& simulated, const StepEstimate& analytical, double pct) {
  if (std::fabs(pct) <= 10) return "";
  std::string worst;
  double worst_d = 0;
  for (const auto& [k, d] : breakdown_change(simulated, analytical)) {
    if (k == "compute" || k == "recompute" || k == "optimizer") continue;
    if (std::fabs(d) > std::fabs(worst_d)) worst_d = d, worst = k;
  }
  const std::string what = worst == "bubble"               ? "pipeline bubbles"
                           : worst == "comm_sm_contention" ? "SMs stolen by communication kernels"
                                                           : "contention / exposure of " + worst;
  return fmt::format("the step differs from the analytical backend's by {:+.1f}%, mostly {} ({:+.3g} s vs analytical)",
                     pct, what, worst_d);
}

// What was simulated: ranks, events, collective instances, the busiest links.
nlohmann::json simulation_json(const DesStepResult& des) {
  nlohmann::json d = {{"simulated_ranks", des.simulated_ranks},
                      {"ranks_represented", des.ranks_represented},
                      {"events", des.events},
                      {"tasks", des.tasks}};
  nlohmann::json instances = nlohmann::json::array();
  for (const auto& i : des.instances)
    instances.push_back({{"comm", i.name},
                         {"kind", i.kind},
                         {"group", i.group},
                         {"simulated", i.simulated},
                         {"per_stage", round_significant(i.per_stage)}});
  d["instances"] = instances;
  d["traffic_gpus"] = des.traffic_gpus;
  d["sub_cluster_gpus"] = des.sub_cluster_gpus;
  d["flows"] = round_significant(des.flows);
  nlohmann::json links = nlohmann::json::array();
  for (const auto& l : des.busiest_links)
    links.push_back({{"link", l.name},
                     {"class", l.link_class},
                     {"bytes", round_significant(l.bytes)},
                     {"capacity_gbs", round_significant(l.capacity_bps / 1e9)},
                     {"utilisation", round_significant(l.utilisation)}});
  d["busiest_links"] = links;
  return d;
}

// What the scenario's asymmetry costs: the step with and without it, and where the time went.
nlohmann::json asymmetry_json(const DesStepResult& des, const StepEstimate& symmetric, const TrainingPlan& plan,
                              const Scenario& sc) {
  const auto& st = des.step;
  const double cost_s = st.step_time_s - symmetric.step_time_s;
  nlohmann::json moved = nlohmann::json::object();
  for (const auto& [k, d] : breakdown_change(st, symmetric))
    if (std::fabs(d) > 1e-6 * st.step_time_s) moved[k] = round_significant(d);
  const double steps = sc.training.tokens / plan.tokens_per_step;
  const double gpus = static_cast<double>(sc.cluster.gpus);
  return {{"applied", des.asymmetry_applied},
          {"symmetric_step_time_s", round_significant(symmetric.step_time_s)},
          {"step_time_s", round_significant(st.step_time_s)},
          {"cost_pct", round_significant(100 * cost_s / symmetric.step_time_s)},
          {"cost_s_per_step", round_significant(cost_s)},
          {"cost_gpu_hours", round_significant(cost_s * steps * gpus / 3600)},
          {"breakdown_change_s", moved}};
}

class NetworkStepBackend final : public StepBackend {
 public:
  explicit NetworkStepBackend(std::string network) : network_(std::move(network)) {}
  std::string name() const override { return network_; }
  bool simulates_asymmetry() const override { return true; }
  bool writes_trace() const override { return true; }

  StepOutcome estimate(const TrainingPlan& plan, const Scenario& sc, bool want_trace) const override {
    DesStepResult des = simulate_training_step(plan, sc, network_, want_trace);
    const auto analytical = estimate_training_step(plan, sc.cluster, sc.gpu, sc.profile);
    const double pct = 100 * (des.step.step_time_s / analytical.step_time_s - 1);
    nlohmann::json d = simulation_json(des);
    nlohmann::json notes = des.notes;
    if (const auto cause = difference_cause(des.step, analytical, pct); !cause.empty()) notes.push_back(cause);
    d["notes"] = notes;
    d["vs_analytical_pct"] = round_significant(pct);
    d["analytical_step_time_s"] = round_significant(analytical.step_time_s);
    if (sc.asymmetry.any()) {
      Scenario symmetric = sc;
      symmetric.asymmetry = Asymmetry{};
      d["asymmetry"] = asymmetry_json(des, simulate_training_step(plan, symmetric, network_, false).step, plan, sc);
    }
    StepOutcome out;
    out.step = std::move(des.step);
    out.trace_json = std::move(des.trace_json);
    out.report_sections["des"] = std::move(d);
    return out;
  }

 private:
  std::string network_;
};

}  // namespace

std::unique_ptr<StepBackend> make_network_step_backend(const std::string& network) {
  return std::make_unique<NetworkStepBackend>(network);
}

}  // namespace gwsim
