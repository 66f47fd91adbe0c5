#include "gwsim/sim/planning/failure_injection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "gwsim/common/text_and_numbers.h"
#include "gwsim/hwmodels/reliability.h"

namespace gwsim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// mt19937_64's sequence is specified by the standard; the distributions are not (libstdc++ and
// libc++ draw exponentials differently), so the conversion to doubles and the inverse CDF are ours.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  // Uniform on [0, 1): the top 53 bits.
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  // Exponential waiting time: -ln(1 - U) / rate, 1 - U in (0, 1].
  double exponential(double rate) { return rate > 0 ? -std::log1p(-uniform()) / rate : kInf; }

 private:
  std::mt19937_64 gen_;
};

class Run {
 public:
  Run(const InjectionSetup& s, std::uint64_t seed, std::size_t keep)
      : s_(s), rng_(seed), keep_(keep), next_(s.failures.size()), counts_(s.failures.size(), 0) {
    tr_.seed = seed;
    // Each component is its own process; memorylessness lets a clock be redrawn only when it fires.
    for (std::size_t i = 0; i < next_.size(); ++i) next_[i] = rng_.exponential(s.failures[i].rate_per_s);
    next_planned_ = rng_.exponential(s.planned_rate_per_s);
    wall_limit_s_ = s.max_wall_factor * s.work_s;
  }

  InjectionTrial run() {
    const double w = s_.work_s;
    if (w > 0) simulate(w);
    for (std::size_t i = 0; i < counts_.size(); ++i) tr_.by_component[s_.failures[i].component] += counts_[i];
    tr_.wall_s = t_;
    return std::move(tr_);
  }

 private:
  void simulate(double w) {
    const double tau = std::min(s_.checkpoint_interval_s, w);
    // Whole segments counted in integers, so that summing tau never leaves a sliver of work (and
    // an extra checkpoint) behind: the last segment holds what is left.
    const auto segments = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(w / tau - 1e-9)));
    std::int64_t k = 0;  // segments completed (checkpointed)
    while (k < segments) {
      if (over()) return stall();
      const double done = static_cast<double>(k) * tau;
      const double seg = k + 1 < segments ? tau : w - done;
      const double compute_end = t_ + seg, checkpoint_end = compute_end + s_.checkpoint_write_s;
      const std::size_t i = earliest();
      if (i == next_.size() || next_[i] >= checkpoint_end) {
        t_ = checkpoint_end;
        tr_.checkpoint_s += s_.checkpoint_write_s;
        ++tr_.checkpoints;
        ++k;
        tr_.work_done_s = static_cast<double>(k) * tau;
        if (k == segments) break;
        if (!planned_maintenance()) return stall();
        continue;
      }
      // A failure before the checkpoint completed: the segment's work is lost, so is the
      // partial checkpoint write.
      const double tf = next_[i];
      const bool in_checkpoint = tf >= compute_end;
      const double lost = std::min(tf - t_, seg);
      if (in_checkpoint) {
        tr_.checkpoint_s += tf - compute_end;
        ++tr_.failures_during_checkpoint;
      }
      tr_.lost_work_s += lost;
      t_ = tf;
      failure(i, in_checkpoint ? "checkpoint" : "compute", lost, step_at(done + lost));
      if (!restart()) return stall();
    }
    tr_.work_done_s = w;
  }

  // Maintenance that fell due while the job ran was held for this checkpoint: one planned
  // restart, which also covers whatever falls due during it.
  bool planned_maintenance() {
    if (!(next_planned_ <= t_)) return true;
    ++tr_.planned;
    InjectionEvent e;
    e.kind = InjectionEvent::Kind::planned;
    e.t_s = t_;
    e.step = step_at(tr_.work_done_s);
    e.checkpoints = tr_.checkpoints;
    record(std::move(e));
    return restart();
  }

  // Restart from the last checkpoint; a failure during it starts it over.
  bool restart() {
    const double begin = t_;
    double end = t_ + s_.restart_s;
    while (true) {
      const std::size_t i = earliest();
      if (i == next_.size() || next_[i] >= end) break;
      t_ = next_[i];
      ++tr_.failures_during_restart;
      failure(i, "restart", 0, step_at(tr_.work_done_s));
      if (over()) {
        tr_.restart_s += t_ - begin;
        return false;
      }
      end = t_ + s_.restart_s;
    }
    t_ = end;
    tr_.restart_s += t_ - begin;
    ++tr_.restarts;
    // Maintenance due by now is done while the job is down anyway. Without this, a restart that
    // failures stretch past the maintenance interval would queue maintenance for ever.
    while (next_planned_ <= t_) next_planned_ += rng_.exponential(s_.planned_rate_per_s);
    InjectionEvent e;
    e.kind = InjectionEvent::Kind::restart;
    e.t_s = t_;
    e.step = step_at(tr_.work_done_s);
    e.checkpoints = tr_.checkpoints;
    e.duration_s = t_ - begin;
    record(std::move(e));
    return true;
  }

  void failure(std::size_t i, const char* during, double lost, std::int64_t step) {
    next_[i] += rng_.exponential(s_.failures[i].rate_per_s);
    ++counts_[i];
    ++tr_.interruptions;
    InjectionEvent e;
    e.kind = InjectionEvent::Kind::failure;
    e.t_s = t_;
    e.component = s_.failures[i].component;
    e.during = during;
    e.lost_work_s = lost;
    e.step = step;
    e.checkpoints = tr_.checkpoints;
    record(std::move(e));
  }

  void record(InjectionEvent&& e) {
    ++tr_.events_total;
    if (tr_.events.size() < keep_) tr_.events.push_back(std::move(e));
  }

  // The component whose failure comes first (ties: the first listed); size() if none can fail.
  std::size_t earliest() const {
    std::size_t best = next_.size();
    double tb = kInf;
    for (std::size_t i = 0; i < next_.size(); ++i)
      if (next_[i] < tb) {
        tb = next_[i];
        best = i;
      }
    return best;
  }

  std::int64_t step_at(double work_s) const {
    if (!(s_.step_time_s > 0)) return -1;
    return static_cast<std::int64_t>(std::floor(work_s / s_.step_time_s + 1e-9));
  }

  bool over() const { return t_ > wall_limit_s_ || tr_.interruptions >= s_.max_failures; }
  void stall() { tr_.stalled = true; }

  const InjectionSetup& s_;
  Rng rng_;
  std::size_t keep_;
  std::vector<double> next_;  // each component's next failure, absolute wall-clock seconds
  std::vector<std::int64_t> counts_;
  double next_planned_ = kInf;
  double wall_limit_s_ = kInf;
  double t_ = 0;
  InjectionTrial tr_;
};

Spread spread(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  const double n = static_cast<double>(v.size());
  for (double x : v) s.mean += x;
  s.mean /= n;
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.stdev = std::sqrt(ss / (n - 1));
  }
  std::sort(v.begin(), v.end());
  // Linear interpolation between order statistics (R's type 7, numpy's default).
  auto q = [&](double p) {
    const double h = p * (n - 1);
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  s.p10 = q(0.1);
  s.p50 = q(0.5);
  s.p90 = q(0.9);
  return s;
}

nlohmann::json spread_json(const Spread& s) {
  return {{"mean", round_significant(s.mean)},
          {"stdev", round_significant(s.stdev)},
          {"p10", round_significant(s.p10)},
          {"p50", round_significant(s.p50)},
          {"p90", round_significant(s.p90)}};
}

nlohmann::json event_json(const InjectionEvent& e) {
  switch (e.kind) {
    case InjectionEvent::Kind::failure:
      return {
          {"type", "failure"},           {"t_h", round_significant(e.t_s / 3600)},          {"component", e.component},
          {"during", e.during},          {"lost_work_s", round_significant(e.lost_work_s)}, {"step", e.step},
          {"checkpoints", e.checkpoints}};
    case InjectionEvent::Kind::restart:
      return {{"type", "restart"},
              {"t_h", round_significant(e.t_s / 3600)},
              {"duration_s", round_significant(e.duration_s)},
              {"resume_step", e.step},
              {"checkpoints", e.checkpoints}};
    case InjectionEvent::Kind::planned:
      return {{"type", "planned"},
              {"t_h", round_significant(e.t_s / 3600)},
              {"step", e.step},
              {"checkpoints", e.checkpoints}};
  }
  return {};
}

}  // namespace

InjectionSetup injection_setup(const GoodputEstimate& g, const ReliabilityAssumptions& r) {
  const auto& d = reliability_defaults();
  const double n = static_cast<double>(g.gpus);
  InjectionSetup s;
  s.work_s = g.failure_free_s;
  s.step_time_s = g.step_time_s;
  s.checkpoint_interval_s = g.checkpoint_interval_s > 0 ? g.checkpoint_interval_s : g.failure_free_s;
  s.checkpoint_write_s = g.checkpoint_write_s;
  s.restart_s = g.restart_s;
  for (const auto& c : d.components) s.failures.push_back({c.name, c.per_gpu_hour * r.failure_rate_scale * n / 3600});
  // Planned maintenance scales with the cluster and failure_rate_scale as in estimate_goodput.
  if (r.include_planned) s.planned_rate_per_s = d.planned_per_gpu_hour * r.failure_rate_scale * n / 3600;
  return s;
}

InjectionTrial simulate_failures(const InjectionSetup& s, std::uint64_t seed, std::size_t keep_events) {
  return Run(s, seed, keep_events).run();
}

InjectionResult inject_failures(const InjectionSetup& s, std::uint64_t seed, std::int64_t trials,
                                std::size_t keep_events) {
  InjectionResult r;
  r.trials_asked = std::max<std::int64_t>(1, trials);
  std::vector<double> goodput, wall_days, interruptions, lost_h;
  for (std::int64_t k = 0; k < r.trials_asked; ++k) {
    // Unsigned arithmetic: seed + k wraps around rather than overflowing.
    auto t = simulate_failures(s, seed + static_cast<std::uint64_t>(k), k == 0 ? keep_events : 0);
    goodput.push_back(t.goodput_fraction());
    wall_days.push_back(t.wall_s / 86400);
    interruptions.push_back(static_cast<double>(t.interruptions));
    lost_h.push_back(t.lost_work_s / 3600);
    ++r.trials;
    if (t.stalled) {
      r.stalled = true;
      r.stall_note = fmt::format(
          "the job cannot make progress: trial {} (seed {}) stopped after {} failures and {:.4g} days of wall clock "
          "with {:.4g} of {:.4g} days of work done ({}); the Monte-Carlo stopped there",
          k + 1, t.seed, t.interruptions, t.wall_s / 86400, t.work_done_s / 86400, s.work_s / 86400,
          t.interruptions >= s.max_failures
              ? fmt::format("the limit of {} failures", s.max_failures)
              : fmt::format("wall clock past {:g} x the failure-free time", s.max_wall_factor));
    }
    const bool stalled = t.stalled;
    if (k == 0) r.first = std::move(t);
    // A job that cannot make progress in one trial will not in the next: stop the Monte-Carlo.
    if (stalled) break;
  }
  r.goodput = spread(goodput);
  r.wall_days = spread(wall_days);
  r.interruptions = spread(interruptions);
  r.lost_work_hours = spread(lost_h);
  return r;
}

nlohmann::json injection_to_json(const InjectionResult& r, const GoodputEstimate& a) {
  const auto& f = r.first;
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [k, v] : f.by_component) by[k] = v;
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : f.events) events.push_back(event_json(e));
  nlohmann::json j = {{"seed", f.seed},
                      {"stalled", r.stalled},
                      {"goodput_fraction", round_significant(f.goodput_fraction())},
                      {"wall_clock_days", round_significant(f.wall_s / 86400)},
                      {"interruptions", f.interruptions},
                      {"planned_interruptions", f.planned},
                      {"interruptions_by_component", by},
                      {"failures_during_checkpoint", f.failures_during_checkpoint},
                      {"failures_during_restart", f.failures_during_restart},
                      {"checkpoints", f.checkpoints},
                      {"restarts", f.restarts},
                      {"lost_work_hours", round_significant(f.lost_work_s / 3600)},
                      {"restart_hours", round_significant(f.restart_s / 3600)},
                      {"checkpoint_hours", round_significant(f.checkpoint_s / 3600)},
                      {"events_total", f.events_total},
                      {"events", events},
                      {"analytical",
                       {{"goodput_fraction", round_significant(a.goodput_fraction)},
                        {"wall_clock_days", round_significant(a.wall_clock_days)},
                        {"expected_interruptions", round_significant(a.expected_interruptions)},
                        {"planned_interruptions", round_significant(a.planned_interruptions)}}},
                      {"model",
                       "discrete-event run of the whole job: each component fails as an exponential process "
                       "(GPUs x per-GPU-hour rate x failure_rate_scale); a failure while computing, writing a "
                       "checkpoint or restarting loses the work since the last completed checkpoint and starts "
                       "a restart; planned maintenance due while the job runs waits for the next checkpoint "
                       "and costs a restart, while it is down is done in that downtime; "
                       "mt19937_64 from the scenario seed, trial k with seed + k"}};
  if (r.stalled) j["note"] = r.stall_note;
  if (r.trials_asked > 1)
    j["monte_carlo"] = {{"trials", r.trials},
                        {"goodput_fraction", spread_json(r.goodput)},
                        {"wall_clock_days", spread_json(r.wall_days)},
                        {"interruptions", spread_json(r.interruptions)},
                        {"lost_work_hours", spread_json(r.lost_work_hours)}};
  return j;
}

}  // namespace gwsim
