#include "gwsim/sim/requests/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <queue>
#include <unordered_map>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/requests/kv_transfer.h"
#include "gwsim/sim/requests/router.h"
#include "simulation_state.h"

namespace gwsim::requests {

// Defined in simulation_report.cpp and fleet_setup.cpp.
nlohmann::json simulation_report(const ServingScenario& s, const FleetSetup& fleet, const RunObservations& run);
std::string requests_csv(const RunObservations& run);
std::string simulation_trace(const FleetSetup& fleet, const RunObservations& run);
FleetSetup plan_fleet(const ServingScenario& s);
double max_context_tokens(const RequestSimConfig& c, const std::vector<RequestSpec>& trace);

namespace {

enum class EventKind { arrival, step_end, transfer_done, sample, rescale };

struct Event {
  double t;
  std::uint64_t order;  // ties in time: in the order they were scheduled (deterministic)
  EventKind kind;
  std::int64_t arg;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : order > o.order; }
};

class Simulation {
 public:
  Simulation(const ServingScenario& s, const FleetSetup& fleet, std::vector<RequestSpec> trace, StepTables tables,
             bool trace_steps);
  RunObservations run();

 private:
  void schedule(double t, EventKind kind, std::int64_t arg) { events_.push({t, order_++, kind, arg}); }
  void on_arrival(const RequestSpec& spec);
  void on_step_end(int instance);
  void on_prefilled(Instance& inst, Request& r);
  void on_finished(Request& r);
  void kick(int instance);
  void take_sample();
  void rescale(std::int64_t interval);
  std::int64_t prefix_hit(const Request& r, int instance) const;
  bool idle() const;
  bool stuck() const;

  const ServingScenario& s_;
  const RequestSimConfig& c_;
  const FleetSetup& fleet_;
  RequestStream stream_;
  std::shared_ptr<const StepTable> decode_table_, prefill_table_;
  std::vector<std::unique_ptr<Instance>> instances_;  // prefill pool first (if any), then decode
  std::vector<Instance*> entry_pool_, decode_pool_;
  Router entry_router_, decode_router_;
  std::unique_ptr<KvTransferNetwork> network_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t order_ = 0;
  std::vector<double> step_started_;
  std::unordered_map<std::int64_t, std::pair<int, std::int64_t>> session_cache_;  // session -> (instance, tokens)
  void account_to(double t);
  RequestSpec pending_arrival_;
  double active_decode_gpus_ = 0, active_prefill_gpus_ = 0, accounted_t_ = 0, last_work_t_ = 0;
  std::int64_t in_transfer_ = 0, steps_ = 0;
  bool arrivals_done_ = false, trace_steps_;
  double now_ = 0;
  RunObservations obs_;
};

Simulation::Simulation(const ServingScenario& s, const FleetSetup& fleet, std::vector<RequestSpec> trace,
                       StepTables tables, bool trace_steps)
    : s_(s),
      c_(*s.requests),
      fleet_(fleet),
      stream_(*s.requests, std::move(trace)),
      decode_table_(std::move(tables.decode)),
      prefill_table_(std::move(tables.prefill)),
      entry_router_(s.requests->routing),
      decode_router_(s.requests->routing),
      trace_steps_(trace_steps) {
  const int query_tokens = 1 + s.decode.mtp_depth;
  std::vector<int> nics;
  auto nics_of = [&](int gpus) { return std::max(1, gpus / s.cluster.gpus_per_node * s.cluster.nics_per_node); };
  if (fleet.disaggregated) {
    for (int i = 0; i < fleet.prefill_instances; ++i) {
      instances_.push_back(std::make_unique<Instance>(static_cast<int>(instances_.size()), Role::prefill, c_.prefill,
                                                      fleet.prefill_kv_capacity_tokens, 1.0, 1));
      entry_pool_.push_back(instances_.back().get());
      nics.push_back(nics_of(fleet.prefill_gpus_per_instance));
    }
  }
  for (int i = 0; i < fleet.decode_instances; ++i) {
    instances_.push_back(std::make_unique<Instance>(
        static_cast<int>(instances_.size()), fleet.disaggregated ? Role::decode : Role::mixed, c_.decode,
        fleet.decode_kv_capacity_tokens, fleet.kept_per_step, query_tokens));
    decode_pool_.push_back(instances_.back().get());
    nics.push_back(nics_of(fleet.decode_gpus_per_instance));
  }
  if (!fleet.disaggregated) entry_pool_ = decode_pool_;
  network_ = std::make_unique<KvTransferNetwork>(nics, s.cluster.nic_bps, s.cluster.scaleout_latency_s());
  step_started_.assign(instances_.size(), 0);
}

bool Simulation::idle() const {
  if (!arrivals_done_ || in_transfer_ > 0) return false;
  return std::none_of(instances_.begin(), instances_.end(), [](const auto& i) { return i->busy || i->has_work(); });
}

// Work waits, nothing runs or moves, and no request will arrive to change that.
bool Simulation::stuck() const {
  if (!arrivals_done_ || in_transfer_ > 0) return false;
  return std::none_of(instances_.begin(), instances_.end(), [](const auto& i) { return i->busy; }) &&
         std::any_of(instances_.begin(), instances_.end(), [](const auto& i) { return i->has_work(); });
}

// The prompt tokens a request finds cached where it is sent: its session's earlier context on
// that instance, or the configured share of its prompt. At least one token is always computed.
std::int64_t Simulation::prefix_hit(const Request& r, int instance) const {
  std::int64_t hit = 0;
  if (c_.sessions > 0 && r.spec.session >= 0) {
    const auto it = session_cache_.find(r.spec.session);
    if (it != session_cache_.end() && it->second.first == instance) hit = it->second.second;
  } else {
    hit = static_cast<std::int64_t>(std::floor(c_.prefix_hit_ratio * static_cast<double>(r.spec.prompt)));
  }
  return std::clamp<std::int64_t>(hit, 0, r.spec.prompt - 1);
}

void Simulation::on_arrival(const RequestSpec& spec) {
  Request r;
  r.id = static_cast<std::int64_t>(obs_.requests.size());
  r.spec = spec;
  const int target = entry_router_.choose(entry_pool_, spec.session);
  r.cached = prefix_hit(r, target);
  r.context = spec.prompt;
  r.to_prefill = spec.prompt - r.cached;
  r.prefill_instance = target;
  obs_.requests.push_back(r);
  instances_[static_cast<std::size_t>(target)]->enqueue(r.id);
  kick(target);
  if (auto next = stream_.next()) {
    schedule(next->arrival_s, EventKind::arrival, 0);
    pending_arrival_ = *next;
  } else {
    arrivals_done_ = true;
  }
}

void Simulation::kick(int index) {
  Instance& inst = *instances_[static_cast<std::size_t>(index)];
  if (inst.busy || !inst.has_work()) return;
  std::vector<std::int64_t> preempted;
  const StepTable& table = inst.role() == Role::prefill ? *prefill_table_ : *decode_table_;
  const double duration = inst.begin_step(obs_.requests, table, preempted);
  obs_.preemptions += static_cast<std::int64_t>(preempted.size());
  if (duration <= 0) return;  // waiting for memory that only a transfer or a finish frees
  if (++steps_ > kMaxSimSteps)
    throw InputError(s_.file, "$.requests",
                     fmt::format("the run took more than {} instance steps: expected fewer requests (max_requests, "
                                 "duration_s) or shorter outputs",
                                 kMaxSimSteps));
  inst.busy = true;
  step_started_[static_cast<std::size_t>(index)] = now_;
  // Every sequence decoding in this step waits `duration` for its next tokens.
  if (inst.step_decoding > 0) obs_.itl.add(duration, static_cast<double>(inst.step_decoding));
  if (trace_steps_) {
    if (obs_.step_spans.size() < kMaxTraceSpans) {
      std::string name = inst.step_decoding > 0 ? fmt::format("decode {}", inst.step_decoding) : "";
      if (inst.step_prefill_tokens > 0)
        name += fmt::format("{}prefill {}", name.empty() ? "" : " + ", inst.step_prefill_tokens);
      obs_.step_spans.push_back(
          {0, index, name, inst.step_prefill_tokens > 0 ? "prefill" : "decode", now_, now_ + duration});
    } else {
      obs_.trace_truncated = true;
    }
  }
  schedule(now_ + duration, EventKind::step_end, index);
}

void Simulation::on_finished(Request& r) {
  r.finish_s = now_;
  if (c_.sessions > 0 && r.spec.session >= 0)
    session_cache_[r.spec.session] = {r.prefill_instance, r.spec.prompt + r.spec.output};
}

// A prompt (or a recompute) is in the cache: its first token is out; it decodes here, or its cache
// moves to a decode instance.
void Simulation::on_prefilled(Instance& inst, Request& r) {
  if (r.generated == 0) {
    r.first_token_s = now_;
    r.generated = 1;
    r.context = r.spec.prompt + 1;
  }
  if (r.generated >= r.spec.output) {
    on_finished(r);
    return;
  }
  if (inst.role() != Role::prefill) {
    inst.join_decode(r);
    return;
  }
  const int to = decode_router_.choose(decode_pool_, r.spec.session);
  const double bytes = fleet_.kv_bytes_per_token * static_cast<double>(r.context);
  const double done = network_->transfer(inst.index(), to, bytes, now_);
  r.transfer_s = done - now_;
  r.decode_instance = to;
  r.to_prefill = 0;
  ++in_transfer_;
  schedule(done, EventKind::transfer_done, r.id);
}

void Simulation::on_step_end(int index) {
  Instance& inst = *instances_[static_cast<std::size_t>(index)];
  inst.busy = false;
  const StepOutcome out = inst.end_step(obs_.requests);
  for (std::int64_t id : out.finished) on_finished(obs_.requests[static_cast<std::size_t>(id)]);
  for (std::int64_t id : out.prefilled) on_prefilled(inst, obs_.requests[static_cast<std::size_t>(id)]);
  kick(index);
}

void Simulation::take_sample() {
  Sample smp;
  smp.t_s = now_;
  double used = 0, capacity = 0;
  for (const auto& i : instances_) {
    smp.queued += i->waiting();
    smp.running += i->running();
    if (i->active)
      smp.active_gpus +=
          i->role() == Role::prefill ? fleet_.prefill_gpus_per_instance : fleet_.decode_gpus_per_instance;
    if (i->role() != Role::prefill) {
      used += i->kv_used_tokens();
      capacity += i->kv_capacity_tokens();
    }
  }
  smp.kv_utilization = capacity > 0 ? used / capacity : 0;
  if (obs_.samples.size() < kMaxSeriesSamples)
    obs_.samples.push_back(smp);
  else
    obs_.series_truncated = true;
}

// Autoscaling: the first n instances of each pool take new requests in this interval; the others
// finish what they hold. GPU time is counted for the active ones (draining is not charged).
void Simulation::rescale(std::int64_t interval) {
  auto apply = [&](const std::vector<Instance*>& pool, const std::vector<int>& counts, int gpus, double& gpu_s) {
    const int n = counts.empty() ? static_cast<int>(pool.size())
                                 : counts[std::min(counts.size() - 1, static_cast<std::size_t>(interval))];
    for (std::size_t i = 0; i < pool.size(); ++i) pool[i]->active = static_cast<int>(i) < n;
    gpu_s += static_cast<double>(n) * gpus;  // per second of the interval; scaled when it ends
    return static_cast<std::int64_t>(n) * gpus;
  };
  double decode_rate = 0, prefill_rate = 0;
  std::int64_t gpus = apply(decode_pool_, fleet_.decode_active, fleet_.decode_gpus_per_instance, decode_rate);
  if (fleet_.disaggregated)
    gpus += apply(entry_pool_, fleet_.prefill_active, fleet_.prefill_gpus_per_instance, prefill_rate);
  obs_.peak_gpus = std::max(obs_.peak_gpus, gpus);
  active_decode_gpus_ = decode_rate;
  active_prefill_gpus_ = prefill_rate;
  if (fleet_.autoscale_interval_s > 0)
    schedule(static_cast<double>(interval + 1) * fleet_.autoscale_interval_s, EventKind::rescale, interval + 1);
}

void Simulation::account_to(double t) {
  if (t <= accounted_t_) return;
  obs_.decode_gpu_s += active_decode_gpus_ * (t - accounted_t_);
  obs_.prefill_gpu_s += active_prefill_gpus_ * (t - accounted_t_);
  accounted_t_ = t;
}

RunObservations Simulation::run() {
  obs_.requests.reserve(static_cast<std::size_t>(std::min<std::int64_t>(c_.max_requests, 1 << 20)));
  rescale(0);
  if (auto first = stream_.next()) {
    pending_arrival_ = *first;
    schedule(first->arrival_s, EventKind::arrival, 0);
  } else {
    arrivals_done_ = true;
  }
  schedule(0, EventKind::sample, 0);
  while (!events_.empty()) {
    const Event e = events_.top();
    events_.pop();
    const bool periodic = e.kind == EventKind::sample || e.kind == EventKind::rescale;
    if (periodic && idle()) break;
    if (periodic && stuck())  // a safety net: the capacity checks below make this unreachable
      throw InfeasibleError(s_.file, "$.requests", "requests wait for KV-cache memory that no instance can free");
    account_to(e.t);
    now_ = e.t;
    switch (e.kind) {
      case EventKind::arrival:
        on_arrival(pending_arrival_);
        break;
      case EventKind::step_end:
        on_step_end(static_cast<int>(e.arg));
        last_work_t_ = now_;
        break;
      case EventKind::transfer_done: {
        --in_transfer_;
        const Request& r = obs_.requests[static_cast<std::size_t>(e.arg)];
        instances_[static_cast<std::size_t>(r.decode_instance)]->enqueue(r.id);
        kick(r.decode_instance);
        break;
      }
      case EventKind::sample:
        take_sample();
        schedule(now_ + c_.sample_interval_s, EventKind::sample, 0);
        break;
      case EventKind::rescale:
        rescale(e.arg);
        break;
    }
  }
  obs_.end_s = last_work_t_;
  return std::move(obs_);
}

}  // namespace

namespace {

// The tables for requests of at most `max_ctx` tokens (prompt + output).
StepTables step_tables_for(const ServingScenario& s, double max_ctx, std::int64_t max_batch) {
  const RequestSimConfig& c = *s.requests;
  StepTables t;
  t.decode = std::make_shared<StepTable>(
      s, s.decode.layout, static_cast<double>(std::max(max_batch, c.decode.max_batch)),
      static_cast<double>(c.decode.max_tokens_per_step), std::max(max_ctx, s.decode.kv_len));
  if (c.disaggregated)
    t.prefill = std::make_shared<StepTable>(s, s.prefill->layout, 1.0,
                                            static_cast<double>(c.prefill.max_tokens_per_step), max_ctx);
  return t;
}

}  // namespace

StepTables build_step_tables(const ServingScenario& s, std::int64_t max_batch) {
  if (!s.requests) throw InputError(s.file, "$.requests", "expected a \"requests\" section to simulate");
  const RequestSimConfig& c = *s.requests;
  std::vector<RequestSpec> trace;
  if (c.arrivals.kind == ArrivalKind::trace)
    trace = read_trace_csv(c.arrivals.trace_file, c.max_requests, c.arrivals.trace_time_scale);
  return step_tables_for(s, max_context_tokens(c, trace), max_batch);
}

SimulationResult simulate_requests(const ServingScenario& s, const SimulationOptions& options) {
  if (!s.requests) throw InputError(s.file, "$.requests", "expected a \"requests\" section to simulate");
  std::vector<RequestSpec> trace;
  if (s.requests->arrivals.kind == ArrivalKind::trace)
    trace = read_trace_csv(s.requests->arrivals.trace_file, s.requests->max_requests,
                           s.requests->arrivals.trace_time_scale);
  FleetSetup fleet = plan_fleet(s);
  fleet.max_context = max_context_tokens(*s.requests, trace);
  // Every request must fit an empty instance of each pool it passes through, or it would wait forever.
  const double longest =
      fleet.max_context + 2 * std::max(s.requests->decode.block_tokens, s.requests->prefill.block_tokens);
  if (longest > fleet.decode_kv_capacity_tokens || (fleet.disaggregated && longest > fleet.prefill_kv_capacity_tokens))
    throw InfeasibleError(
        s.file, "$.requests",
        fmt::format("the longest request ({:g} tokens) does not fit one {} instance's KV cache "
                    "({:.0f} tokens): expected shorter caps or more GPUs per instance",
                    fleet.max_context, longest > fleet.decode_kv_capacity_tokens ? "decode" : "prefill",
                    longest > fleet.decode_kv_capacity_tokens ? fleet.decode_kv_capacity_tokens
                                                              : fleet.prefill_kv_capacity_tokens));
  StepTables tables = options.tables;
  if (!tables.decode) tables = step_tables_for(s, fleet.max_context, 0);
  // Tables from another run must cover this one: the grid clamps at its edges, it does not extrapolate.
  if (tables.decode->decode_grid().xs().back() < static_cast<double>(s.requests->decode.max_batch) ||
      (fleet.disaggregated && !tables.prefill))
    throw std::logic_error("simulate_requests: the step tables passed in do not cover this run's limits");
  Simulation sim(s, fleet, std::move(trace), std::move(tables), options.trace);
  const RunObservations run = sim.run();
  SimulationResult result;
  result.report = simulation_report(s, fleet, run);
  if (options.request_rows) result.requests_csv = requests_csv(run);
  if (options.trace) result.trace_json = simulation_trace(fleet, run);
  return result;
}

}  // namespace gwsim::requests
