#pragma once
// `gwsim plan --serving`: the serving planner (docs/planner.md, "Serving fleets"). From a serving
// scenario with a "requests" section (the load and the P99 SLOs) it enumerates chips, decode
// instance sizes and attention TP, decode batch limits, prefill instance sizes and
// disaggregation; sizes each candidate's pools with the request-level simulator (the fewest decode
// and prefill instances whose simulated P99 TTFT and TPOT meet the SLOs); and ranks the fleets by
// dollars per million output tokens, GPUs or facility megawatts. The prefill:decode ratio is what
// the sizing finds. Candidates run on the training planner's machinery (run_striped: threads, MPI
// ranks); the outcome is the same bytes for any thread or rank count.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gwsim/sim/planning/plan.h"

namespace gwsim {

// What to search. An empty list means the default of docs/planner.md.
struct ServingPlanSpace {
  std::vector<std::string> chips;                  // catalogue names; empty: the scenario's
  std::vector<int> decode_gpus;                    // GPUs per decode instance
  std::vector<int> attention_tp;                   // empty: the scenario's
  std::vector<double> batch_fractions;             // decode max_batch as a share of the SLO batch; empty: {1, 0.5}
  std::vector<int> prefill_gpus;                   // GPUs per prefill instance (disaggregated); empty: the scenario's
  std::vector<bool> disaggregated;                 // empty: the scenario's
  std::map<std::string, double> usd_per_gpu_hour;  // rental price per chip; others: the scenario's
  std::int64_t max_requests = 20000;               // requests per simulation (at most the scenario's)
};

enum class ServingObjective { cost, gpus, power };
std::string to_string(ServingObjective o);

struct ServingPlanRequest {
  std::string file;       // the plan file, the scenario file or "command line" (for errors)
  nlohmann::json base;    // the serving scenario document (gwsim.serving/1, with "requests")
  std::string base_file;  // where relative references in `base` resolve
  ServingPlanSpace space;
  ServingObjective objective = ServingObjective::cost;
  bool owned_cost = false;  // cost basis: the fleet's owned $/GPU-hour (footprint) instead of rental
  std::string export_rule;  // every chip must be "not controlled" under it; empty: none
  double power_mw = 0;      // facility MW cap of the fleet; 0: none
  int top_k = 10;
  nlohmann::json query;  // the request as read, for the report
};

// One layout to size: the chip, the decode instance and its batch limit, the prefill instance.
struct ServingCandidate {
  std::string chip;            // as searched (NAME or NAME@RULE:CAP), or the scenario's GPU
  bool scenario_chip = false;  // the scenario's own cluster as written (no chips searched: its caps kept)
  bool disaggregated = false;
  int decode_gpus = 0, attention_tp = 1, redundant_experts = 0;
  double batch_fraction = 1;
  int prefill_gpus = 0;  // 0 when not disaggregated
};
std::string candidate_string(const ServingCandidate& c);

struct ServingPlanResult {
  int index = 0;  // in the enumeration (the merge order)
  ServingCandidate candidate;
  std::string refused_rule, refused;  // empty when sized
  double slo_batch_per_gpu = 0;       // gwsim serve's batch at the TPOT SLO and memory, at the mix's KV
  std::int64_t max_batch = 0;         // the decode pool's limit per instance
  int decode_instances = 0, prefill_instances = 0;
  std::int64_t gpus = 0;    // the sized fleet at its peak
  double average_gpus = 0;  // over the arrivals (autoscaling: the active instances)
  double p99_ttft_ms = 0, p99_tpot_ms = 0, share_meeting_slo = 0;
  double offered_output_tokens_per_s = 0;  // the load: output tokens over the arrivals' span
  double output_tokens_per_s_per_gpu = 0;  // that load over the average GPUs
  double usd_per_gpu_hour = 0, usd_per_hour = 0, usd_per_million_output_tokens = 0;
  double facility_mw = 0;
  int simulations = 0;
  nlohmann::json scenario;  // the sized fleet as a serving scenario (gwsim serve --simulate reproduces it)
};

struct ServingPlanOutcome {
  bool root = true;  // false on MPI ranks other than 0
  ServingPlanRequest request;
  std::int64_t simulated_requests = 0;        // per simulation
  std::vector<ServingPlanResult> ranked;      // sized fleets meeting every constraint, best first
  std::vector<ServingPlanResult> not_ranked;  // refused or breaking a constraint, in enumeration order
  std::map<std::string, std::int64_t> refused_by_rule;
  std::int64_t candidates = 0, simulations = 0;
  std::string reason;         // why #1 beats #2
  nlohmann::json error_band;  // of the winner's region (serving_error_band); null when nothing ranks
};

// Reads a gwsim.serving-plan/1 document, or a gwsim.serving/1 scenario searched with the defaults
// (InputError with file and JSON path).
ServingPlanRequest load_serving_plan_request(const std::string& path);
ServingPlanRequest parse_serving_plan_request(const nlohmann::json& doc, const std::string& file);

// PlanOptions' threads, progress and MPI fields apply; prune does not.
ServingPlanOutcome run_serving_plan(const ServingPlanRequest& req, const PlanOptions& options = {});

nlohmann::json serving_plan_report_json(const ServingPlanOutcome& o);  // schema gwsim.serving-plan-report/1
std::string format_serving_plan(const ServingPlanOutcome& o);

}  // namespace gwsim
