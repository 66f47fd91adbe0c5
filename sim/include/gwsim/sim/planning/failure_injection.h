#pragma once
// Seeded failure injection over a whole training run: a discrete-event simulation of the job
// (compute, checkpoint writes, failures, restarts) next to goodput.h's analytical Daly model.
//
// The job must do `failure_free_s` of work. After every checkpoint interval of work (the one
// goodput chose) it writes a checkpoint (`checkpoint_write_s`). Each component of
// hwmodels/data/reliability.json (gpu, hbm, nic, switch, host, software) fails as its own
// exponential process at GPUs x per-GPU-hour rate x failure_rate_scale. A failure, whenever it
// comes (computing, writing a checkpoint, or restarting), loses the work since the last completed
// checkpoint and starts a restart of `restart_s`; a failure during a restart starts it again.
// Planned maintenance (include_planned) falls due as its own exponential process; while the job
// runs it is held until the next checkpoint completes (then one restart, no work lost), and what
// falls due while the job is restarting anyway is done in that downtime at no extra cost.
//
// Without planned maintenance this is the process Daly's (2006) renewal model takes the
// expectation of (failed restarts are its e^(R/M) factor), so the Monte-Carlo mean and the
// analytical value agree to sampling error. Planned maintenance differs a little: estimate_goodput
// charges every maintenance a restart over the whole wall clock, this one only those that fall
// due while the job runs (Llama 3 405B: under 0.1 points of goodput).
//
// Random numbers: std::mt19937_64 (its output sequence is fixed by the C++ standard) and our own
// inverse CDF on 53-bit uniform doubles, because std::exponential_distribution differs between
// standard libraries. Trial k uses seed + k.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/goodput.h"

namespace gwsim {

struct FailureProcess {
  std::string component;  // gpu, hbm, ... (reliability_defaults())
  double rate_per_s = 0;  // the whole job's rate: GPUs x per GPU-hour x scale / 3600
};

struct InjectionSetup {
  double work_s = 0;                 // failure-free run time
  double step_time_s = 0;            // for "which step" (0: steps not reported)
  double checkpoint_interval_s = 0;  // work between checkpoints (> 0)
  double checkpoint_write_s = 0;
  double restart_s = 0;
  std::vector<FailureProcess> failures;  // unexpected, lose work
  double planned_rate_per_s = 0;         // planned maintenance: a restart, no work lost
  // Guards against a job that cannot make progress (failures faster than restarts or
  // checkpoints complete): a trial stops, flagged `stalled`, once its wall clock exceeds
  // max_wall_factor x work_s or it has seen max_failures failures.
  double max_wall_factor = 1000;
  std::int64_t max_failures = 10'000'000;
};

// From the analytical estimate (interval, checkpoint and restart times it used) and the
// scenario's reliability assumptions (rates, scale, include_planned).
InjectionSetup injection_setup(const GoodputEstimate& g, const ReliabilityAssumptions& r);

struct InjectionEvent {
  enum class Kind { failure, restart, planned };
  Kind kind = Kind::failure;
  double t_s = 0;                // wall clock when it happened (restart: when the job runs again)
  std::string component;         // failure: which component
  std::string during;            // failure: "compute", "checkpoint" or "restart"
  double lost_work_s = 0;        // failure: work since the last completed checkpoint
  std::int64_t step = -1;        // failure/planned: steps completed when it happened; restart: the step resumed from
  std::int64_t checkpoints = 0;  // checkpoints completed so far
  double duration_s = 0;         // restart: from the interruption to running again (failed restarts included)
};

struct InjectionTrial {
  std::uint64_t seed = 0;
  bool stalled = false;            // stopped by a guard: the job cannot make progress
  double work_done_s = 0;          // = work_s unless stalled
  double wall_s = 0;               // = work_done + lost_work + restart + checkpoint
  double lost_work_s = 0;          // computation thrown away by failures
  double restart_s = 0;            // time spent restarting (failed restarts included)
  double checkpoint_s = 0;         // time spent writing checkpoints (aborted writes included)
  std::int64_t interruptions = 0;  // unexpected failures
  std::int64_t planned = 0;
  std::int64_t failures_during_checkpoint = 0;
  std::int64_t failures_during_restart = 0;
  std::int64_t checkpoints = 0;  // completed
  std::int64_t restarts = 0;     // completed (one per interruption that is not followed by another during it)
  std::map<std::string, std::int64_t> by_component;
  std::vector<InjectionEvent> events;  // the first `keep_events`
  std::int64_t events_total = 0;
  double goodput_fraction() const { return wall_s > 0 ? work_done_s / wall_s : 0; }
};

// One run of the job with its own seed; keeps the first keep_events events.
InjectionTrial simulate_failures(const InjectionSetup& s, std::uint64_t seed, std::size_t keep_events);

struct Spread {
  double mean = 0, stdev = 0, p10 = 0, p50 = 0, p90 = 0;
};

struct InjectionResult {
  InjectionTrial first;     // the run with the scenario's seed, events kept
  std::int64_t trials = 0;  // run (fewer than asked if one stalled)
  std::int64_t trials_asked = 0;
  Spread goodput, wall_days, interruptions, lost_work_hours;
  bool stalled = false;    // some trial stalled; Monte-Carlo stopped there
  std::string stall_note;  // which trial stopped, where, and by which guard
};

// Trials seed, seed + 1, ..., seed + trials - 1; stops at the first stalled trial.
InjectionResult inject_failures(const InjectionSetup& s, std::uint64_t seed, std::int64_t trials,
                                std::size_t keep_events = 200);

// The report's goodput.injected object (docs/report.md), with the analytical values beside it.
nlohmann::json injection_to_json(const InjectionResult& r, const GoodputEstimate& analytical);

}  // namespace gwsim
