// The des training step's task graph (step_build.h): each rank's compute and collective templates,
// then every rank's order of passes (pipeline_schedule.h) as compute tasks with their collectives
// and sends, then the step's end (DP reduction, optimizer, parameter gather).
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "gwsim/sim/engines/analytical.h"
#include "step_build.h"

namespace gwsim {

using namespace net;

namespace {

// A rank's compute per pass (one of its v chunks) and per micro-batch, from its ops' times.
void set_compute_times(StageTemplates& S, const StageWork& w, int v, const GpuSpec& gpu, const Profile& profile) {
  const double f = ops_time_s(w.forward, gpu, profile);
  const double bi = ops_time_s(w.backward_input, gpu, profile);
  const double bw = ops_time_s(w.backward_weight, gpu, profile);
  const double rc = ops_time_s(w.recompute, gpu, profile);
  S.f = f / v;
  S.b = (bi + rc) / v;
  S.w = bw / v;
  S.f_mb = f;
  S.bi_mb = bi;
  S.bw_mb = bw;
  S.rc_mb = rc;
}

// Stage s's compute per pass, its collectives' templates, the SM contention the overlapped ones
// cause and its optimizer step.
StageTemplates build_stage(const StepInputs& in, InstanceBuilder& inst, int s, double sm_slowdown,
                           bool static_sm_split) {
  const auto& cluster = in.sc.cluster;
  const auto& profile = in.sc.profile;
  StageTemplates S;
  set_compute_times(S, in.plan.stages[s], in.v, in.sc.gpu, profile);
  double overlapped_phase = 0;
  for (const auto& c : in.plan.comms) {
    const double k = c.per_micro_batch / 2 / in.v;
    S.mb.push_back(c.kind != CommKind::pp && c.per_micro_batch > 0 ? inst.collective(c, s, k, 2.0 * in.passes)
                                                                   : Template{});
    S.step.push_back(c.per_step > 0 ? inst.collective(c, s, c.per_step, 1) : Template{});
    if (c.kind != CommKind::pp && c.per_micro_batch > 0 && overlapped(c, in.plan.train))
      overlapped_phase += comm_cost(c, in.plan, cluster, profile).time_s * k;
  }
  // The backward phase's collectives overlap its B and W (charged to B, whether or not W is split
  // off), so every schedule carries the same contention. Under a static split (DualPipe) all
  // compute runs on the SMs left, as in the analytical backend.
  const double cap = static_sm_split ? std::numeric_limits<double>::infinity() : overlapped_phase;
  S.contention_f = overlapped_phase > 0 ? sm_slowdown * std::min(S.f, cap) : 0;
  S.contention_b = overlapped_phase > 0 ? sm_slowdown * std::min(S.b + S.w, cap) : 0;
  S.opt = optimizer_time_s(in.plan.stages[s], in.plan.par, in.plan.train, in.sc.gpu, profile);
  return S;
}

std::vector<int> without_missing(std::vector<int> l) {
  l.erase(std::remove(l.begin(), l.end(), -1), l.end());
  return l;
}

// Builds the step's graph: every rank runs its order; a pass waits for its rank's previous compute
// and for the activations (F) or gradients (B) it receives.
class ScheduleBuilder {
 public:
  ScheduleBuilder(const StepInputs& in, std::vector<StageTemplates>& st, InstanceBuilder& inst)
      : in_(in),
        st_(st),
        inst_(inst),
        g_(out_.graph.g),
        chain_(in.pp, -1),
        comm_track_(in.pp, -1),
        pre_last_b_(in.pp, -1),
        last_done_(in.pp, -1),
        done_f_(in.order.keys(), -1),
        sent_f_(in.order.keys(), -1),
        sent_b_(in.order.keys(), -1) {
    out_.compute_tasks.resize(in.pp);
  }

  StepSchedule build() {
    visit_in_dependency_order(in_.order, [&](int s, const WorkItem& item) { add_item(s, item); });
    out_.opt_task.assign(in_.pp, 0);
    out_.ag_end.assign(in_.pp, -1);
    for (int s = 0; s < in_.pp; ++s) add_step_end(s);
    return std::move(out_);
  }

 private:
  struct ItemInputs {
    double compute_s = 0;
    std::vector<int> deps;  // the rank's previous compute, the passes' inputs
    bool backward = false;
  };
  ItemInputs inputs_of(int s, const WorkItem& item) const;
  void add_item(int s, const WorkItem& item);
  void add_pass_collectives(int s, const WorkItem& item, const Pass& p, const std::vector<int>& deps, int compute,
                            std::vector<int>& done);
  void send_output(int s, const Pass& p, int done);
  void add_step_end(int s);

  const StepInputs& in_;
  std::vector<StageTemplates>& st_;
  InstanceBuilder& inst_;
  StepSchedule out_;
  TaskGraph& g_;
  // Per rank: its last compute-track task, communication-track task, the compute before its last
  // backward, and its last item's end.
  std::vector<int> chain_, comm_track_, pre_last_b_, last_done_;
  // Per pass, indexed by order.key(rank, chunk, micro-batch) of the pass that produced it: its
  // forward done (compute and collectives), and its output arrived where it was sent.
  std::vector<int> done_f_, sent_f_, sent_b_;
};

ScheduleBuilder::ItemInputs ScheduleBuilder::inputs_of(int s, const WorkItem& item) const {
  const auto& S = st_[s];
  const auto& order = in_.order;
  ItemInputs r;
  r.deps = {chain_[s]};
  for (const auto& p : item.passes) {
    switch (p.kind) {
      case PassKind::forward:
        r.compute_s += S.f + S.contention_f;
        if (p.from_rank >= 0) r.deps.push_back(sent_f_[order.key(p.from_rank, p.from_chunk, p.micro_batch)]);
        break;
      case PassKind::backward:
        r.compute_s += S.b + S.contention_b + (p.with_weight ? S.w : 0);
        // The last stage's backward starts from its own forward's loss.
        r.deps.push_back(p.from_rank >= 0 ? sent_b_[order.key(p.from_rank, p.from_chunk, p.micro_batch)]
                                          : done_f_[order.key(s, p.chunk, p.micro_batch)]);
        r.backward = true;
        break;
      case PassKind::weight:
        r.compute_s += S.w;
        break;
    }
  }
  r.deps = without_missing(r.deps);
  return r;
}

void ScheduleBuilder::add_item(int s, const WorkItem& item) {
  const ItemInputs inputs = inputs_of(s, item);
  if (inputs.backward) pre_last_b_[s] = chain_[s];
  const int c0 = g_.add_delay(inputs.compute_s, inputs.deps);
  out_.graph.span(c0, c0, s, 0, label(in_.order, item), "compute");
  out_.compute_tasks[s].push_back(c0);
  chain_[s] = c0;
  std::vector<int> done{c0};
  for (const auto& p : item.passes)
    if (p.kind != PassKind::weight) add_pass_collectives(s, item, p, inputs.deps, c0, done);
  const int d = done.size() == 1 ? done[0] : g_.add_delay(0, done);
  last_done_[s] = d;
  for (const auto& p : item.passes)
    if (p.kind != PassKind::weight) send_output(s, p, d);
}

// Each F and B pass's per-micro-batch collectives: overlapped ones on the communication track
// after the compute, or (an overlapped F&B pair) from the pair's start, beside its computation;
// blocking ones on the compute track.
void ScheduleBuilder::add_pass_collectives(int s, const WorkItem& item, const Pass& p, const std::vector<int>& deps,
                                           int compute, std::vector<int>& done) {
  const auto& comms = in_.plan.comms;
  for (std::size_t ci = 0; ci < comms.size(); ++ci) {
    const auto& c = comms[ci];
    if (c.kind == CommKind::pp || c.per_micro_batch <= 0) continue;
    const std::string nm = fmt::format("{} {}", c.name, label(in_.order, p));
    const int first = static_cast<int>(g_.tasks.size());
    if (overlapped(c, in_.plan.train)) {
      // ZeRO-3's layer-wise gathers and reduce-scatters are prefetched beside the pass's
      // compute, so they start with it, as an overlapped F&B pair's collectives do.
      const bool beside_compute = item.overlapped() || c.kind == CommKind::dp;
      auto after = beside_compute ? deps : std::vector<int>{compute};
      after.push_back(comm_track_[s]);
      const int e = out_.graph.copy(st_[s].mb[ci], without_missing(after));
      comm_track_[s] = out_.graph.span(first, e, s, 1, nm, to_string(c.kind), static_cast<int>(ci));
      done.push_back(e);
    } else {
      const int e = out_.graph.copy(st_[s].mb[ci], {chain_[s]});
      chain_[s] = out_.graph.span(first, e, s, 1, nm, to_string(c.kind), static_cast<int>(ci));
      done[0] = chain_[s];
    }
  }
}

// A pass's output (activations of F, gradients of B) goes to the next rank once its compute and
// collectives are `done`. Without PP overlap the rank's next compute waits for the send. DualPipe
// always waits: the reference (deepseek-ai/DualPipe) posts a chunk's sends after its compute and
// commits them with the next chunk's receives in one batch_isend_irecv that it waits for before
// computing (_commit_and_wait_comm), so a rank's sends never run beside its next chunk's EP
// all-to-all. Were they allowed to, a send still in flight when the next chunk's dispatch starts
// would get a sliver of the NIC for the whole all-to-all phase, and whether it finished just before
// or just after would flip with op times: a step time discontinuous in them.
void ScheduleBuilder::send_output(int s, const Pass& p, int done) {
  const int key = in_.order.key(s, p.chunk, p.micro_batch);
  const bool fwd = p.kind == PassKind::forward;
  if (fwd) done_f_[key] = done;
  auto& sent = fwd ? sent_f_ : sent_b_;
  if (p.to_rank < 0) return;
  if (p.to_rank == s) {  // interleaved on one rank: the next chunk is on the same GPU
    sent[key] = done;
    return;
  }
  const int first = static_cast<int>(g_.tasks.size());
  const int e = out_.graph.copy(inst_.pipeline_send(s, p.to_rank), {done});
  out_.graph.span(first, e, s, 2, fmt::format("{} {}", fwd ? "send" : "send_grad", label(in_.order, p)), "pp");
  sent[key] = e;
  const bool wait_for_send = !in_.plan.train.overlap_pp || in_.order.schedule == PipelineSchedule::dualpipe;
  if (wait_for_send) chain_[s] = g_.add_delay(0, {chain_[s], e});
}

// Step end: DP reduction, optimizer, parameter gather.
void ScheduleBuilder::add_step_end(int s) {
  const auto& comms = in_.plan.comms;
  std::vector<int> before_opt{last_done_[s]};
  std::vector<std::size_t> gathers;
  for (std::size_t ci = 0; ci < comms.size(); ++ci) {
    const auto& c = comms[ci];
    if (c.per_step <= 0) continue;
    if (c.op == "all_gather") {
      gathers.push_back(ci);
      continue;
    }
    // Overlapped: from the start of the rank's last backward (its W passes follow it).
    const int start = in_.plan.train.overlap_dp && pre_last_b_[s] >= 0 ? pre_last_b_[s] : last_done_[s];
    const int first = static_cast<int>(g_.tasks.size());
    const int e = out_.graph.copy(st_[s].step[ci], {start});
    before_opt.push_back(out_.graph.span(first, e, s, 1, c.name, to_string(c.kind), static_cast<int>(ci)));
  }
  auto& opt = out_.opt_task[s];
  opt = g_.add_delay(st_[s].opt, before_opt);
  out_.graph.span(opt, opt, s, 0, "optimizer", "optimizer");
  auto& ag_end = out_.ag_end[s];
  for (auto ci : gathers) {
    const int first = static_cast<int>(g_.tasks.size());
    const int e = out_.graph.copy(st_[s].step[ci], {ag_end >= 0 ? ag_end : opt});
    ag_end = out_.graph.span(first, e, s, 1, comms[ci].name, to_string(comms[ci].kind), static_cast<int>(ci));
  }
}

}  // namespace

bool overlapped(const Comm& c, const TrainingSettings& tr) {
  switch (c.kind) {
    case CommKind::tp:
      return tr.overlap_tp;
    case CommKind::cp:
      return true;
    case CommKind::ep:
      return tr.overlap_ep;
    // Per-micro-batch DP traffic is ZeRO-3's layer-wise gathers and reduce-scatters, prefetched
    // beside the compute when DP overlap is on (the analytical backend also charges the first
    // gather and the last reduce-scatter of a pass, which this pass-level graph does not split off).
    case CommKind::dp:
      return tr.overlap_dp;
    default:
      return false;
  }
}

// Per-stage templates and phase times.
std::vector<StageTemplates> build_stage_templates(const StepInputs& in, InstanceBuilder& inst) {
  std::vector<StageTemplates> st;
  const double sm_slowdown = comm_sm_slowdown(in.sc.gpu, in.plan.train);
  const bool static_sm_split = comm_sms_split_statically(in.plan.par, in.plan.train);
  for (int s = 0; s < in.pp; ++s) st.push_back(build_stage(in, inst, s, sm_slowdown, static_sm_split));
  inst.forget_shapes();
  return st;
}

int StepGraph::copy(Template& t, const std::vector<int>& after) {
  if (!t.usable) return g.add_delay(t.fallback_s, after);
  if (t.batch_offset < 0) {
    t.batch_offset = static_cast<int>(g.batches.size());
    for (const auto& b : t.g.batches) g.batches.push_back(b);
  }
  const int off = static_cast<int>(g.tasks.size());
  for (const auto& src : t.g.tasks) {
    Task task = src;
    task.label.clear();
    task.track = -1;
    if (task.kind == TaskKind::transfer) task.batch += t.batch_offset;
    if (task.after.empty()) {
      task.after = after;
    } else {
      for (auto& a : task.after) a += off;
    }
    g.tasks.push_back(std::move(task));
  }
  int end = off + t.end;
  if (t.extra_latency_s > 0) end = g.add_delay(t.extra_latency_s, {end});
  return end;
}

int StepGraph::span(int first, int end, int stage, int tid, std::string name, std::string kind, int comm) {
  spans.push_back({first, end, stage, tid, std::move(name), std::move(kind), comm});
  span_of_end[end] = static_cast<int>(spans.size()) - 1;
  return end;
}

StepSchedule build_step_schedule(const StepInputs& in, std::vector<StageTemplates>& st, InstanceBuilder& inst) {
  return ScheduleBuilder(in, st, inst).build();
}

}  // namespace gwsim
