#pragma once
// The request-level serving simulator (`gwsim serve SCENARIO --simulate`; docs/serving.md,
// "Request-level simulation"): the scenario's "requests" section drives arrivals through a fleet
// of instances (one mixed pool, or prefill and decode pools with KV transfers between them), each
// stepping as a continuous-batching server with step times from the calibrated step model.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "gwsim/sim/input/serving_scenario.h"
#include "gwsim/sim/requests/step_table.h"

namespace gwsim::requests {

// The step tables a run interpolates (docs/serving.md, "Step table"). Pricing them is most of a
// short run's time, and they depend on the layouts, the limits and the longest request only, so a
// caller simulating one layout with many pool sizes (the serving planner) builds them once.
struct StepTables {
  std::shared_ptr<const StepTable> decode, prefill;  // prefill: disaggregated runs only
};
// Tables for the scenario's layouts covering `max_batch` sequences per decode instance (at least
// its requests.decode_pool.max_batch).
StepTables build_step_tables(const ServingScenario& s, std::int64_t max_batch = 0);

struct SimulationOptions {
  bool request_rows = false;  // fill SimulationResult::requests_csv
  bool trace = false;         // fill SimulationResult::trace_json
  StepTables tables;          // empty: priced for this run; else from build_step_tables on the same layouts
};

struct SimulationResult {
  nlohmann::json report;  // schema gwsim.serving-sim-report/1
  std::string requests_csv, trace_json;
};

// Spans the Perfetto trace holds at most (instance steps, then requests); a longer run's trace
// stops there and says so in its metadata and the report's warnings.
inline constexpr std::size_t kMaxTraceSpans = 200000;
// Requests the trace shows at most (the first ones to arrive): each needs its own lane while it runs.
inline constexpr std::int64_t kMaxTraceRequests = 5000;
// Steps a run may take over all instances (each makes at least one token): a bound on the work one
// input can ask for; 2e8 steps take a few minutes.
inline constexpr std::int64_t kMaxSimSteps = 200000000;
// Samples of the time series at most; a longer run samples the first ones only (and says so).
inline constexpr std::size_t kMaxSeriesSamples = 100000;

SimulationResult simulate_requests(const ServingScenario& s, const SimulationOptions& options = {});
std::string format_simulation_summary(const nlohmann::json& report);

}  // namespace gwsim::requests
