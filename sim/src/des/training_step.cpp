// One training step on the network layer: see training_step.h.
//
// Approximations (also reported in des.notes):
//   - one GPU per pipeline stage is simulated; every stage carries the critical stage's
//     communications (plan.comms) with its own compute ops.
//   - each collective group sits on its own block of scale-up domains (stage s on block s) of a
//     sub-cluster of pp blocks, so link sharing inside a group and between stages is simulated; the
//     traffic of the other DP/EP groups on shared upper-tier links is not (no multiplicity).
//   - the many executions of a collective in one phase (forward or backward of one micro-batch) run
//     as one collective of their summed bytes; their extra per-call latency is one delay after it.
//   - per-micro-batch collectives are split half forward, half backward.
//   - schedules: 1F1B with backward_weight right after backward_input. Interleaved (v chunks) and
//     DualPipe (two directions, taken as v = 2) are approximated as 1F1B over m x v micro-batches of
//     1/v of the work each, which gives the interleaved bubble (pp - 1) t / v; zero-bubble as 1F1B.
//   - comm SMs: compute that overlaps communication is stretched by comm_sms / sm_count of the
//     overlapped time (the analytical cost of the overlapped collectives, capped at the compute).
#include "gwsim/sim/des/training_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/collective_cost.h"
#include "gwsim/sim/network/backend.h"
#include "gwsim/sim/network/collective.h"
#include "gwsim/sim/network/topology.h"

namespace gwsim {

namespace {

using namespace net;

constexpr double kSimgridFlowLimit = 2e6;  // member flows SimGrid is asked to simulate at most
constexpr std::int64_t kMaxSimulatedGpus = 32768;  // sub-cluster size cap (des)
constexpr double kMaxCollectiveLinkEntries = 1e8;     // (flow group, link) pairs of one comm over the step, des
constexpr double kMaxStepLinkEntries = 3e7;           // over the whole step, des (DSv3 2048: 1.2e7, ~1 s)
constexpr std::int64_t kSimgridGpuLimit = 1024;  // GPUs of the sub-cluster SimGrid is given at most

// A collective built once on its own graph and copied into the step's graph for every execution.
struct Template {
  TaskGraph g;
  int end = -1;
  int batch_offset = -1;  // where its batches went in the step graph
  double extra_latency_s = 0;
  bool usable = true;     // false: the group did not fit the sub-cluster; a delay stands in
  double fallback_s = 0;
};

struct Span {
  int first = -1, end = -1;  // task ids
  int stage = 0, tid = 0;
  std::string name, kind;    // kind: tp|cp|ep|pp|dp|compute|optimizer
  int comm = -1;             // index into plan.comms
};

struct Builder {
  TaskGraph g;
  std::vector<Span> spans;
  std::map<int, int> span_of_end;  // end task -> span

  int copy(Template& t, const std::vector<int>& after) {
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

  int span(int first, int end, int stage, int tid, std::string name, std::string kind, int comm = -1) {
    spans.push_back({first, end, stage, tid, std::move(name), std::move(kind), comm});
    span_of_end[end] = static_cast<int>(spans.size()) - 1;
    return end;
  }
};

}  // namespace

DesStepResult simulate_training_step(const TrainingPlan& plan, const Scenario& sc, const std::string& backend_name,
                                     bool want_trace) {
  DesStepResult out;
  const auto& par = plan.par;
  const auto& tr = plan.train;
  const auto& cluster = sc.cluster;
  const auto& gpu = sc.gpu;
  const auto& profile = sc.profile;
  const bool simgrid = backend_name == "simgrid";
  auto backend = make_backend(backend_name);  // InputError for unknown names
  out.step = estimate_training_step(plan, cluster, gpu, profile);
  const StepEstimate analytical = out.step;
  auto& est = out.step;
  const int pp = par.pp;

  // Schedule approximation: v chunks per micro-batch.
  int v = 1;
  if (par.schedule == PipelineSchedule::interleaved) v = std::max(1, par.virtual_stages);
  if (par.schedule == PipelineSchedule::dualpipe && pp > 1) v = 2;
  const int m = static_cast<int>(plan.micro_batches);
  const int units = m * v;

  // Sub-cluster: pp blocks of scale-up domains, each large enough for the largest group.
  const int dom = std::max(1, cluster.scaleup_domain_gpus > 0 ? cluster.scaleup_domain_gpus : cluster.gpus_per_node);
  const int total_domains = std::max(1, static_cast<int>(cluster.gpus / dom));
  auto rpd_of = [&](const Comm& c) {
    int r = std::clamp(c.ranks_per_domain, 1, dom);
    while (c.group % r) --r;
    return r;
  };
  // Groups too large for the simulated sub-cluster fall back to their analytical cost (a delay).
  const int max_domains = std::max(1, static_cast<int>(kMaxSimulatedGpus / dom));
  int block = 1;
  for (const auto& c : plan.comms) {
    const int nd = (c.group + rpd_of(c) - 1) / rpd_of(c);
    if (c.kind != CommKind::pp && nd <= max_domains) block = std::max(block, nd);
  }
  block = std::min(block, total_domains);
  const int sim_domains = std::max(block, std::min({total_domains, block * pp, max_domains}));
  ClusterSpec sub = cluster;
  sub.gpus = static_cast<std::int64_t>(sim_domains) * dom;
  if (simgrid && sub.gpus > kSimgridGpuLimit)
    throw InputError("--backend", "",
                     fmt::format("simgrid: this step needs a {}-GPU sub-cluster, above the simgrid backend's limit of {} "
                                 "GPUs (one flow per GPU pair): use --backend des",
                                 sub.gpus, kSimgridGpuLimit));
  Topology topo(sub, sc.seed, Ecmp::dmodk);
  auto base_domain = [&](int s) { return (s * block) % sim_domains; };
  auto rep_gpu = [&](int s) { return base_domain(s) * dom; };

  auto group_ranks = [&](const Comm& c, int s, std::vector<int>& ranks) {
    const int r = rpd_of(c);
    const int nd = c.group / r;
    if (nd > sim_domains) return false;
    ranks.clear();
    for (int d = 0; d < nd; ++d)
      for (int j = 0; j < r; ++j) ranks.push_back(((base_domain(s) + d) % sim_domains) * dom + j);
    return true;
  };

  std::set<std::string> fallbacks, heavy;
  auto make_template = [&](const Comm& c, int s, double executions, double instances) {
    Template t;
    const double k = std::max(executions, 1e-9);
    CollectiveRequest req{c.op, c.bytes * k, c.group, c.link, c.ranks_per_domain,
                          c.op == "all_to_all" ? c.scaleout_fraction : -1};
    CollectiveRequest tiny = req;
    tiny.bytes = 1;
    const double lat1 = c.group > 1 ? collective_cost(tiny, cluster, profile).time_s : 0;
    t.extra_latency_s = std::max(0.0, executions - 1) * lat1;
    std::vector<int> ranks;
    if (c.group < 2) {
      t.end = t.g.add_delay(0, {});
      return t;
    }
    if (!group_ranks(c, s, ranks)) {
      fallbacks.insert(c.name);
      t.usable = false;
      t.fallback_s = collective_cost(req, cluster, profile).time_s + t.extra_latency_s;
      return t;
    }
    CollectiveSpec spec;
    spec.op = c.op;
    spec.bytes = c.bytes * k;
    spec.ranks = ranks;
    spec.aggregate = !simgrid;
    spec.nvls_capable = false;
    t.end = append_collective(t.g, topo, profile, spec, {}, false).back();
    double entries = 0;
    for (const auto& b : t.g.batches)
      for (const auto& grp : b.groups) entries += static_cast<double>(grp.link_flows.size());
    double transfers = 0;
    for (const auto& task : t.g.tasks) transfers += task.kind == TaskKind::transfer;
    entries *= std::max(1.0, transfers / std::max<std::size_t>(1, t.g.batches.size()));
    if (!simgrid && entries * instances * pp > kMaxCollectiveLinkEntries) {
      // Routed pair by pair (no D-mod-k symmetry to count flows by class) and too large to run at
      // every micro-batch: its analytical cost stands in.
      heavy.insert(c.name);
      t = Template{};
      t.usable = false;
      t.fallback_s = collective_cost(req, cluster, profile).time_s + std::max(0.0, executions - 1) * lat1;
    }
    return t;
  };

  auto overlapped = [&](const Comm& c) {
    switch (c.kind) {
      case CommKind::tp: return tr.overlap_tp;
      case CommKind::cp: return true;
      case CommKind::ep: return tr.overlap_ep;
      default: return false;
    }
  };

  // Per-stage templates and phase times.
  struct StageT {
    std::vector<Template> mb;     // per comm (per-micro-batch comms): one phase's executions
    std::vector<Template> step;   // per comm (per-step comms)
    Template p2p;                 // to the next/previous stage
    double f = 0, b = 0, opt = 0, contention_f = 0, contention_b = 0;
  };
  std::vector<StageT> st(pp);
  const double sm_share = profile.comm_sms > 0 && gpu.sm_count.value > 0 ? double(profile.comm_sms) / gpu.sm_count.value : 0;
  const Comm* pp_comm = nullptr;
  for (const auto& c : plan.comms)
    if (c.kind == CommKind::pp) pp_comm = &c;
  for (int s = 0; s < pp; ++s) {
    auto& S = st[s];
    const auto& w = plan.stages[s];
    double f = 0, bi = 0, bw = 0, rc = 0;
    for (const auto& o : w.forward) f += op_time_s(o, gpu, profile);
    for (const auto& o : w.backward_input) bi += op_time_s(o, gpu, profile);
    for (const auto& o : w.backward_weight) bw += op_time_s(o, gpu, profile);
    for (const auto& o : w.recompute) rc += op_time_s(o, gpu, profile);
    S.f = f / v;
    S.b = (bi + rc + bw) / v;
    double overlapped_phase = 0;
    for (const auto& c : plan.comms) {
      const double k = c.per_micro_batch / 2 / v;
      S.mb.push_back(c.kind != CommKind::pp && c.per_micro_batch > 0 ? make_template(c, s, k, 2.0 * units) : Template{});
      S.step.push_back(c.per_step > 0 ? make_template(c, s, c.per_step, 1) : Template{});
      if (c.kind != CommKind::pp && c.per_micro_batch > 0 && overlapped(c)) {
        CollectiveRequest req{c.op, c.bytes, c.group, c.link, c.ranks_per_domain,
                              c.op == "all_to_all" ? c.scaleout_fraction : -1};
        overlapped_phase += collective_cost(req, cluster, profile).time_s * k;
      }
    }
    S.contention_f = sm_share * std::min(S.f, overlapped_phase);
    S.contention_b = sm_share * std::min(S.b, overlapped_phase);
    if (pp_comm && pp > 1) {
      Comm c = *pp_comm;
      c.bytes /= v;
      // One send to the neighbouring stage's representative GPU.
      const int dst = rep_gpu((s + 1) % pp);
      CollectiveSpec spec;
      Template t;
      Batch batch;
      batch.groups.push_back(make_group(topo, {{rep_gpu(s), dst}},
                                        1 / profile.collective(c.link, "all_to_all").bus_efficiency));
      batch.groups.back().latency_s += profile.collective(c.link, "all_to_all").alpha_s;
      const int bt = t.g.add_batch(std::move(batch));
      t.end = t.g.add_transfer(bt, c.bytes, {});
      S.p2p = std::move(t);
    }
    // Optimizer, as the analytical backend counts it, for this stage's parameters.
    double local_params = w.params;
    if (par.zero_stage >= 1) {
      const double dense = w.params - w.expert_params;
      local_params = dense / (par.dp * par.cp) +
                     w.expert_params / std::max(1.0, static_cast<double>(par.dp) * par.tp * par.cp / par.ep);
    }
    Op optimizer{"optimizer", "memory_bound", Precision::fp32, 0, (tr.precision == Precision::fp8 ? 26 : 30) * local_params, 1};
    S.opt = op_time_s(optimizer, gpu, profile);
  }

  // The schedule: per stage a list of (forward?, unit).
  Builder bld;
  auto& g = bld.g;
  std::vector<std::vector<std::pair<bool, int>>> order(pp);
  for (int s = 0; s < pp; ++s) {
    const int warm = std::min(pp - 1 - s, units);
    for (int i = 0; i < warm; ++i) order[s].push_back({true, i});
    for (int i = 0; i + warm < units; ++i) {
      order[s].push_back({true, i + warm});
      order[s].push_back({false, i});
    }
    for (int i = units - warm; i < units; ++i) order[s].push_back({false, i});
  }
  std::vector<std::size_t> cursor(pp, 0);
  std::vector<int> chain(pp, -1), comm_track(pp, -1), pre_last_b(pp, -1), last_b_done(pp, -1);
  std::vector<std::vector<int>> recv_f(pp, std::vector<int>(units, -1)), recv_b(pp, std::vector<int>(units, -1)),
      done_f(pp, std::vector<int>(units, -1));
  std::vector<std::vector<int>> compute_tasks(pp);
  auto deps_of = [](std::initializer_list<int> l) {
    std::vector<int> d;
    for (int x : l)
      if (x >= 0) d.push_back(x);
    return d;
  };
  bool progress = true;
  while (progress) {
    progress = false;
    for (int s = 0; s < pp; ++s) {
      while (cursor[s] < order[s].size()) {
        const auto [fwd, i] = order[s][cursor[s]];
        int dep = -1;
        if (fwd && s > 0) {
          if (recv_f[s][i] < 0) break;
          dep = recv_f[s][i];
        }
        if (!fwd) {
          dep = s == pp - 1 ? done_f[s][i] : recv_b[s][i];
          if (dep < 0) break;
        }
        auto& S = st[s];
        const double dur = fwd ? S.f + S.contention_f : S.b + S.contention_b;
        if (!fwd && i == units - 1) pre_last_b[s] = chain[s];
        const int c0 = g.add_delay(dur, deps_of({chain[s], dep}));
        bld.span(c0, c0, s, 0, fmt::format("{}{}", fwd ? "F" : "B", i), "compute");
        compute_tasks[s].push_back(c0);
        chain[s] = c0;
        std::vector<int> done{c0};
        for (std::size_t ci = 0; ci < plan.comms.size(); ++ci) {
          const auto& c = plan.comms[ci];
          if (c.kind == CommKind::pp || c.per_micro_batch <= 0) continue;
          const std::string nm = fmt::format("{} {}{}", c.name, fwd ? "F" : "B", i);
          if (overlapped(c)) {
            auto after = deps_of({c0, comm_track[s]});
            const int first = static_cast<int>(g.tasks.size());
            const int e = bld.copy(S.mb[ci], after);
            comm_track[s] = bld.span(first, e, s, 1, nm, to_string(c.kind), static_cast<int>(ci));
            done.push_back(e);
          } else {
            const int first = static_cast<int>(g.tasks.size());
            const int e = bld.copy(S.mb[ci], {chain[s]});
            chain[s] = bld.span(first, e, s, 1, nm, to_string(c.kind), static_cast<int>(ci));
            done[0] = chain[s];
          }
        }
        const int d = done.size() == 1 ? done[0] : g.add_delay(0, done);
        if (fwd) done_f[s][i] = d;
        if (!fwd && i == units - 1) last_b_done[s] = d;
        const int peer = fwd ? s + 1 : s - 1;
        if (pp > 1 && peer >= 0 && peer < pp) {
          const int first = static_cast<int>(g.tasks.size());
          const int e = bld.copy(S.p2p, {d});
          bld.span(first, e, s, 2, fmt::format("{} {}{}", fwd ? "send" : "send_grad", fwd ? "F" : "B", i), "pp");
          (fwd ? recv_f : recv_b)[peer][i] = e;
          if (!tr.overlap_pp) chain[s] = g.add_delay(0, {chain[s], e});
        }
        ++cursor[s];
        progress = true;
      }
    }
  }
  for (int s = 0; s < pp; ++s)
    if (cursor[s] < order[s].size()) throw std::logic_error("des training step: schedule deadlock");

  // Step end: DP reduction, optimizer, parameter gather.
  std::vector<int> opt_task(pp), ag_end(pp, -1);
  for (int s = 0; s < pp; ++s) {
    std::vector<int> before_opt{last_b_done[s]};
    std::vector<std::size_t> gathers;
    for (std::size_t ci = 0; ci < plan.comms.size(); ++ci) {
      const auto& c = plan.comms[ci];
      if (c.per_step <= 0) continue;
      if (c.op == "all_gather") {
        gathers.push_back(ci);
        continue;
      }
      const int start = tr.overlap_dp && pre_last_b[s] >= 0 ? pre_last_b[s] : last_b_done[s];
      const int first = static_cast<int>(g.tasks.size());
      const int e = bld.copy(st[s].step[ci], {start});
      before_opt.push_back(bld.span(first, e, s, 1, c.name, to_string(c.kind), static_cast<int>(ci)));
    }
    opt_task[s] = g.add_delay(st[s].opt, before_opt);
    bld.span(opt_task[s], opt_task[s], s, 0, "optimizer", "optimizer");
    for (auto ci : gathers) {
      const int first = static_cast<int>(g.tasks.size());
      const int e = bld.copy(st[s].step[ci], {ag_end[s] >= 0 ? ag_end[s] : opt_task[s]});
      ag_end[s] = bld.span(first, e, s, 1, plan.comms[ci].name, to_string(plan.comms[ci].kind), static_cast<int>(ci));
    }
  }

  double link_entries = 0;  // what the engine's work grows with: links crossed per transfer
  {
    std::vector<double> per_batch(g.batches.size(), 0);
    for (std::size_t b = 0; b < g.batches.size(); ++b)
      for (const auto& grp : g.batches[b].groups) per_batch[b] += static_cast<double>(grp.link_flows.size());
    for (const auto& task : g.tasks)
      if (task.kind == TaskKind::transfer) link_entries += per_batch[task.batch];
  }
  if (link_entries > kMaxStepLinkEntries)
    throw InputError("--backend", "",
                     fmt::format("{}: this step's task graph crosses {:.3g} (flow group, link) pairs, above the limit of "
                                 "{:.0g}: use --backend analytical",
                                 backend_name, link_entries, kMaxStepLinkEntries));
  if (simgrid && g.flow_count() > kSimgridFlowLimit)
    throw InputError("--backend", "",
                     fmt::format("simgrid: this step has {:.3g} flows, above the simgrid backend's limit of {:.0g}: "
                                 "use --backend des",
                                 g.flow_count(), kSimgridFlowLimit));

  const auto res = backend->execute(topo, g);
  out.events = res.events;
  out.tasks = static_cast<long long>(g.tasks.size());
  auto start_of = [&](const Span& sp) { return res.start_s[sp.first]; };

  // Stage end times and the slowest stage.
  std::vector<double> stage_end(pp);
  int cs = 0;
  for (int s = 0; s < pp; ++s) {
    double e = res.finish_s[opt_task[s]];
    if (ag_end[s] >= 0)
      e = std::max(e, tr.overlap_dp ? res.finish_s[ag_end[s]] - st[s].f * v : res.finish_s[ag_end[s]]);
    stage_end[s] = e;
    if (e > stage_end[cs] + 1e-15) cs = s;
  }
  const double step = stage_end[cs];

  // Attribution on the slowest stage: each gap before a compute task goes to what it waited for.
  std::map<std::string, double> exposed;
  double bubble = 0;
  auto latest_dep = [&](int t) {
    int best = -1;
    for (int a : g.tasks[t].after)
      if (best < 0 || res.finish_s[a] > res.finish_s[best]) best = a;
    return best;
  };
  // Walks back through zero-length joins to the span that ended last.
  auto span_kind = [&](int t) -> std::pair<int, std::string> {
    for (int guard = 0; guard < 64 && t >= 0; ++guard) {
      auto it = bld.span_of_end.find(t);
      if (it != bld.span_of_end.end()) return {it->second, bld.spans[it->second].kind};
      if (g.tasks[t].kind == TaskKind::delay && g.tasks[t].delay_s == 0) t = latest_dep(t);
      else break;
    }
    return {-1, "bubble"};
  };
  double prev_end = 0;
  for (int t : compute_tasks[cs]) {
    const double gap = res.start_s[t] - prev_end;
    prev_end = res.finish_s[t];
    if (gap <= 1e-15) continue;
    auto [sp, kind] = span_kind(latest_dep(t));
    if (kind == "pp") {
      const double d = std::min(gap, res.finish_s[bld.spans[sp].end] - start_of(bld.spans[sp]));
      exposed["pp"] += d;
      // Waiting for the neighbouring stage: its compute or blocking communication is the pipeline
      // bubble; an overlapped collective that outlasted its compute is exposed communication.
      auto [sp2, kind2] = span_kind(latest_dep(bld.spans[sp].first));
      const bool comm_track_bound = sp2 >= 0 && bld.spans[sp2].comm >= 0 && bld.spans[sp2].tid == 1 &&
                                    plan.comms[bld.spans[sp2].comm].per_micro_batch > 0 &&
                                    overlapped(plan.comms[bld.spans[sp2].comm]);
      (comm_track_bound ? exposed[kind2] : bubble) += gap - d;
    } else if (kind == "compute" || kind == "bubble" || kind == "optimizer") {
      bubble += gap;
    } else {
      exposed[kind] += gap;
    }
  }
  const double opt_s = st[cs].opt;
  const double tail = step - prev_end - opt_s;
  if (tail > 0) exposed["dp"] += tail;

  const auto& w = plan.stages[cs];
  double f = 0, bi = 0, bw = 0, rc = 0;
  for (const auto& o : w.forward) f += op_time_s(o, gpu, profile);
  for (const auto& o : w.backward_input) bi += op_time_s(o, gpu, profile);
  for (const auto& o : w.backward_weight) bw += op_time_s(o, gpu, profile);
  for (const auto& o : w.recompute) rc += op_time_s(o, gpu, profile);
  est.breakdown_s.clear();
  est.breakdown_s["compute"] = m * (f + bi + bw);
  est.breakdown_s["recompute"] = m * rc;
  est.breakdown_s["comm_sm_contention"] = units * (st[cs].contention_f + st[cs].contention_b);
  est.breakdown_s["optimizer"] = opt_s;
  for (const char* k : {"tp", "cp", "ep", "pp", "dp"}) est.breakdown_s[std::string("exposed_comm_") + k] = exposed[k];
  double accounted = 0;
  for (const auto& [k, val] : est.breakdown_s) accounted += val;
  est.breakdown_s["bubble"] = std::max(0.0, bubble + (step - accounted - bubble));
  est.step_time_s = step;

  // Communications: simulated time per execution and per step on the slowest stage.
  std::vector<double> sum(plan.comms.size(), 0), count(plan.comms.size(), 0);
  for (const auto& sp : bld.spans)
    if (sp.stage == cs && sp.comm >= 0) {
      sum[sp.comm] += res.finish_s[sp.end] - start_of(sp);
      count[sp.comm] += 1;
    }
  for (std::size_t ci = 0; ci < plan.comms.size() && ci < est.comms.size(); ++ci) {
    const auto& c = plan.comms[ci];
    auto& ce = est.comms[ci];
    if (count[ci] > 0) {
      const double execs = c.per_micro_batch * m + c.per_step;
      ce.per_step_time_s = sum[ci];
      if (execs > 0) ce.time_s = sum[ci] / execs;
    }
  }
  for (auto& c : est.comms) {
    double kind_total = 0;
    for (const auto& d : est.comms)
      if (d.kind == c.kind) kind_total += d.per_step_time_s;
    const double ek = est.breakdown_s["exposed_comm_" + to_string(c.kind)];
    c.exposed_s = kind_total > 0 ? ek * c.per_step_time_s / kind_total : 0;
  }
  est.tokens_per_s = plan.tokens_per_step / step;
  est.compute_fraction = est.breakdown_s["compute"] / step;
  std::string worst = "compute";
  double worst_v = 0;
  for (const auto& [k, val] : est.breakdown_s)
    if (k != "compute" && val > worst_v) {
      worst_v = val;
      worst = k;
    }
  est.bottleneck = worst_v > 0 ? fmt::format("{} ({:.1f}% of the step)", worst, 100 * worst_v / step) : "compute";
  est.notes.clear();

  out.simulated_ranks = pp;
  out.ranks_represented = static_cast<double>(cluster.gpus);
  out.notes.push_back(fmt::format(
      "one GPU per pipeline stage simulated ({} of {}); collectives as flows on a {}-GPU sub-cluster holding one "
      "group per stage (D-mod-k routing); traffic of the other DP/EP groups on shared upper-tier links is not simulated",
      pp, cluster.gpus, sub.gpus));
  out.notes.push_back("every stage carries the critical stage's communications; per-micro-batch collectives split "
                      "half forward, half backward, each phase's executions run as one collective of their summed "
                      "bytes plus their extra per-call latency; all-to-all as direct with uniform destinations (node-limited routing's smaller scale-out share is "
                      "not modelled, so EP traffic over the fabric is an upper bound)");
  if (v > 1)
    out.notes.push_back(fmt::format("{} schedule approximated as 1F1B over {} micro-batches of 1/{} of the work "
                                    "(bubble (pp-1) t / {})",
                                    to_string(par.schedule), units, v, v));
  if (par.schedule == PipelineSchedule::zero_bubble)
    out.notes.push_back("zero_bubble approximated as 1F1B (backward_weight not deferred): bubbles are overestimated");
  for (const auto& name : fallbacks)
    out.notes.push_back(fmt::format("{}: group larger than the simulated sub-cluster ({} GPUs at most): its analytical "
                                    "cost stands in as a delay",
                                    name, kMaxSimulatedGpus));
  for (const auto& name : heavy)
    out.notes.push_back(fmt::format("{}: routed flow by flow (no D-mod-k symmetry on this fabric) with above {:.0g} "
                                    "(flow group, link) pairs over the step: its analytical cost stands in as a delay",
                                    name, kMaxCollectiveLinkEntries));
  if (sm_share > 0)
    out.notes.push_back(fmt::format("compute overlapping communication is slowed by comm_sms/sm_count = {:.1f}% of the "
                                    "overlapped time",
                                    100 * sm_share));
  (void)analytical;

  if (want_trace) {
    std::string s = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    bool first = true;
    auto add = [&](const std::string& e) {
      if (!first) s += ",\n";
      s += e;
      first = false;
    };
    static const char* kTid[] = {"compute", "comm", "pp"};
    for (int p = 0; p < pp; ++p) {
      add(fmt::format(R"J({{"ph":"M","pid":{},"tid":0,"name":"process_name","args":{{"name":"stage {} (GPU {})"}}}})J", p, p,
                      rep_gpu(p)));
      for (int t = 0; t < 3; ++t)
        add(fmt::format(R"J({{"ph":"M","pid":{},"tid":{},"name":"thread_name","args":{{"name":"{}"}}}})J", p, t, kTid[t]));
    }
    for (const auto& sp : bld.spans) {
      const double ts = start_of(sp) * 1e6, dur = (res.finish_s[sp.end] - start_of(sp)) * 1e6;
      add(fmt::format(R"J({{"ph":"X","pid":{},"tid":{},"name":"{}","cat":"{}","ts":{:.3f},"dur":{:.3f}}})J", sp.stage,
                      sp.tid, sp.name, sp.kind, ts, dur));
    }
    s += "\n]}\n";
    out.trace_json = std::move(s);
  }
  return out;
}

}  // namespace gwsim
