#pragma once
// `gwsim plan`: the capacity planner. From a base scenario it enumerates every layout of a search
// space (chips, cluster sizes, global batch, precision; TP/SP, PP and its schedule, EP, CP, DP,
// ZeRO stage, micro-batch, recomputation), prunes what cannot run with exact checks (the
// conditions plan_training refuses, and memory ordered by recomputation), evaluates the rest with
// plan_training + the analytical backend on a pool of threads, applies the constraints and ranks
// by the objectives. The outcome is deterministic: the same request gives the same bytes for any
// thread count (documented in docs/planner.md, the file schemas in docs/formats.md).
#include <algorithm>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/campus.h"

namespace gwsim {

// A scale-out network to try: NICs per node, their line rate and the fabric, over the base cluster.
struct FabricOption {
  std::string label;                 // as the user names it ("200G x4, 2:1"); unique
  nlohmann::json cluster_overrides;  // nic_gbps, nics_per_node, fabric (replacing the cluster's)
  bool operator==(const FabricOption& o) const { return label == o.label; }
};

// What to search. An empty list means the default of docs/formats.md ("gwsim.plan/1").
struct PlanSpace {
  std::vector<std::string> chips;               // NAME or NAME@RULE:CAP; empty: the base scenario's chip
  std::vector<std::int64_t> gpus;               // cluster sizes; empty: the base scenario's
  std::vector<std::int64_t> global_batch_seqs;  // empty: the base scenario's (or global_batch_tokens)
  // Global batches in tokens, min..max by `factor` (whole sequences of the base's seq_len); 0: none.
  double global_batch_tokens_min = 0, global_batch_tokens_max = 0;
  int global_batch_tokens_factor = 2;
  std::vector<Precision> precisions;           // empty: the base scenario's
  std::vector<int> tp;                         // empty: divisors of the heads within a node
  std::vector<bool> sp;                        // empty: {false, true} (only with tp > 1)
  std::vector<int> pp;                         // empty: 1..layers
  std::vector<PipelineSchedule> schedules;     // empty: all four (only with pp > 1)
  std::vector<int> virtual_stages;             // interleaved; empty: every v >= 2 with layers % (pp*v) == 0
  std::vector<int> ep;                         // empty: divisors of the routed experts (MoE), {1} (dense)
  std::vector<int> cp;                         // empty: {1, 2, 4, 8}
  std::vector<int> zero_stages;                // empty: {0, 1, 2, 3}
  std::vector<std::int64_t> micro_batch_seqs;  // empty: {1, 2, 4, 8}
  std::vector<Recompute> recompute;            // empty: {none, selective, full}
  std::vector<FabricOption> fabrics;           // empty: the base scenario's cluster network
};

enum class BudgetKind { rental, owned, capex };

struct PlanConstraints {
  double memory_headroom = 0;  // fraction of HBM left free (0: fill it)
  double deadline_days = 0;    // wall-clock days (goodput included); 0: none
  double power_mw = 0;         // facility MW cap; 0: none
  double budget_usd = 0;       // 0: none
  BudgetKind budget_kind = BudgetKind::rental;
  std::string export_rule;  // every chip must be "not controlled" under it; empty: none
  double min_goodput = 0;   // goodput fraction; 0: none
};

// tokens: the largest token budget the run's layout fits in constraints.deadline_days (the deadline
// is then the window, not a constraint); ranked like time, reported as tokens.
enum class PlanObjective { time, cost, energy, gpus, power, tokens };
std::string to_string(PlanObjective o);
std::string to_string(BudgetKind k);
// Tokens a layout trains within `deadline_days` at its measured pace (goodput included): the run's
// tokens scaled by deadline / wall-clock days.
double tokens_within_deadline(double run_tokens, double wall_clock_days, double deadline_days);

struct PlanRequest {
  std::string file;          // the plan file or "command line" (for errors)
  nlohmann::json base;       // the base scenario document (schema gwsim.scenario/1)
  std::string base_file;     // where relative references in `base` resolve
  bool base_layout = false;  // `base` states a layout (a scenario file): rank it among the results
  PlanSpace space;
  PlanConstraints constraints;
  std::vector<PlanObjective> objectives{PlanObjective::time};
  int top_k = 10;
  nlohmann::json query;  // the request as read, for the report

  bool asks(PlanObjective o) const { return std::find(objectives.begin(), objectives.end(), o) != objectives.end(); }
};

// One (chip, cluster size, global batch, precision) point: the scenario every layout of it shares.
struct PlanContext {
  std::string chip;    // as asked ("H100-SXM@2022-10:interconnect")
  std::string fabric;  // the fabric option's label ("" : the base cluster's network)
  std::int64_t gpus = 0;
  std::int64_t global_batch_seqs = 0;
  Precision precision = Precision::bf16;
  bool ok = false;
  std::string refused;  // why no layout of it runs (rule in `refused_rule`)
  std::string refused_rule;
  nlohmann::json doc;  // scenario document (parallelism filled per layout)
  Scenario scenario;
  GpuSpec plan_gpu;         // scenario.gpu with unbounded HBM: the memory test is the planner's
  bool fixed_power = true;  // GPU power fraction stated, so the footprint is per context
  ClusterFootprint footprint;
};
// "H800-SXM x2048", with the fabric option's label when there is one: "H800-SXM x2048 [8x200G]".
std::string context_label(const PlanContext& c);

struct PlanLayout {
  Parallelism par;
  Recompute recompute = Recompute::selective;
};
std::string layout_string(const PlanLayout& l);

// Breakdown terms of StepEstimate::breakdown_s, in this order.
inline constexpr std::array<const char*, 10> kPlanBreakdownKeys = {
    "bubble",          "comm_sm_contention", "compute",         "exposed_comm_cp", "exposed_comm_dp",
    "exposed_comm_ep", "exposed_comm_pp",    "exposed_comm_tp", "optimizer",       "recompute"};

struct PlanResult {
  int context = 0;
  PlanLayout layout;
  std::string key;  // canonical: chip, GPUs, batch, precision, layout (total order)
  double step_time_s = 0, tokens_per_s = 0, tokens_per_step = 0, mfu = 0;
  double days = 0, wall_clock_days = 0, goodput = 0;
  double gpu_hours = 0, cost_rental_usd = 0, cost_owned_usd = 0, capex_usd = 0;
  double facility_mw = 0, energy_mwh = 0;
  double memory_bytes = 0, memory_fraction = 0;
  std::string bottleneck;
  std::array<double, kPlanBreakdownKeys.size()> breakdown_s{};
  std::string infeasible;  // "" when every constraint holds, else the rule it broke
  // --verify des
  bool verified = false;
  double des_step_time_s = 0;
  std::string verify_error;
};

struct PlanCounts {
  std::int64_t enumerated = 0;                     // layouts in the space (per context, contexts refused included)
  std::map<std::string, std::int64_t> pruned;      // by rule, before any estimate
  std::int64_t evaluated = 0;                      // planned (and estimated when they fit)
  std::map<std::string, std::int64_t> infeasible;  // evaluated, refused by the rule named
  std::int64_t feasible = 0;
  std::int64_t unexpected_refusals = 0;  // plan_training refused what the pre-checks passed
};

struct PlanOptions {
  int threads = 0;    // 0: std::thread::hardware_concurrency()
  bool prune = true;  // false: brute force (every layout through plan_training; tests)
  // Called from the search's threads now and then (done, total candidates); may be empty.
  std::function<void(std::int64_t, std::int64_t)> progress;
  // Several processes (MPI ranks) splitting one search: this one takes every `ranks`-th group of
  // layouts from `rank`. `gather` sends this rank's partial result (text) to rank 0 and returns,
  // on rank 0, every rank's in rank order (empty elsewhere). ranks == 1: no gather is called.
  int rank = 0, ranks = 1;
  std::function<std::vector<std::string>(const std::string&)> gather;
};

struct PlanOutcome {
  bool root = true;  // false on MPI ranks other than 0: their results went to rank 0, this holds none
  PlanRequest request;
  std::vector<PlanContext> contexts;
  PlanCounts counts;
  std::vector<PlanResult> ranked;  // every feasible layout, best first
  std::vector<PlanResult> top;     // the first top_k of ranked
  std::vector<PlanResult> pareto;  // with several objectives: the non-dominated layouts
  std::string reason;              // why #1 beats #2
  nlohmann::json error_band;       // of the winner's region (training_error_band)
  // The base scenario's own layout, when its context is searched: its metrics and rank among the
  // feasible layouts (1 = best; 0 when it breaks a constraint: probe_refused says which).
  int probe_context = -1;
  PlanResult probe;
  std::int64_t probe_rank = 0;
  std::string probe_refused;
};

// Reads a gwsim.plan/1 document (InputError with file and JSON path).
PlanRequest parse_plan_request(const nlohmann::json& doc, const std::string& file);
PlanRequest load_plan_request(const std::string& path);
// A base scenario for a model named on the command line (no scenario file).
nlohmann::json base_scenario_for_model(const std::string& model, const std::string& gpu, std::int64_t gpus,
                                       double tokens, std::int64_t global_batch_seqs, Precision precision);

std::vector<PlanContext> build_plan_contexts(const PlanRequest& req);
PlanOutcome run_plan(const PlanRequest& req, const PlanOptions& options = {});

// The scenario document of one result: `gwsim run` on it reproduces the result's step time.
nlohmann::json plan_result_scenario(const PlanOutcome& o, const PlanResult& r, int rank);
// Re-simulates the top layouts with the des backend (run_training(sc, "des")).
void verify_top_with_des(PlanOutcome& o);

nlohmann::json plan_report_json(const PlanOutcome& o);  // schema gwsim.plan-report/1
std::string plan_report_csv(const PlanOutcome& o);      // the ranked top k, one row each
std::string format_plan(const PlanOutcome& o);          // the summary `gwsim plan` prints

}  // namespace gwsim
