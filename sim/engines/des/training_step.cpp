// One training step on the network layer: see training_step.h. Its phases: the sub-cluster's layout
// and the collectives' instances (step_instances.cpp), the stages' templates and the schedule's task
// graph (step_schedule.cpp), their shared state (step_build.h); here, the orchestration and the report.
//
// Approximations (also reported in des.notes):
//   - one GPU per pipeline stage is simulated; every stage carries the critical stage's
//     communications (plan.comms) with its own compute ops.
//   - each collective group sits on its own block of scale-up domains (stage s on block s) of a
//     sub-cluster of pp blocks, so link sharing inside a group and between stages is simulated.
//   - multiplicity: beside the representative instance of each collective, its stage's other
//     instances (the other DP replicas' reductions, the other EP groups' all-to-alls, the other TP
//     groups, every GPU's pipeline send) run on the rest of the stage's block as copies, tiling the
//     block's domains by the group's domain span and each domain's lanes by its ranks per domain,
//     as the real stage's GPUs are split among its groups. Symmetric, their flows join the
//     representative's flow groups (CollectiveSpec::copies): shared links carry every instance's
//     flows at no extra rate variable. Instances beyond the block (a capped sub-cluster) are not
//     simulated; the report counts both (DesStepResult::instances).
//   - the many executions of a collective in one phase (forward or backward of one micro-batch) run
//     as one collective of their summed bytes; their extra per-call latency is one delay after it.
//   - per-micro-batch collectives are split half forward, half backward.
//   - schedules: each rank runs its order from pipeline_schedule.h (1F1B, Megatron interleaved,
//     ZB-H1, DualPipe) as compute tasks: F = forward ops, B = backward_input + recompute, W =
//     backward_weight (in B where the schedule does not split it). An interleaved chunk is 1/v of
//     the rank's work; a DualPipe chunk of either direction takes the rank's folded per-micro-batch
//     work (the plan sums both stages at half count), so the first and last ranks' embedding / head
//     imbalance between the two directions is averaged. An overlapped F&B pair computes F then B
//     back to back while both passes' collectives run beside it from the pair's start.
//   - per-micro-batch collectives belong to F and B passes (none to W); a pass's output is sent to
//     the next rank once its compute and collectives are done. The rank's next compute waits for
//     the send without PP overlap, and always under DualPipe, whose reference commits a chunk's
//     sends with the next chunk's receives and waits for them all before computing.
//   - comm SMs (comm_sm_slowdown, shared with the analytical backend): compute beside
//     communication kernels runs on the SMs left, comm_sms / (sm_count - comm_sms) slower, for the
//     overlapped time (the analytical cost of the overlapped collectives, capped at the compute),
//     or for all compute under DualPipe's static split.
//   - capped sub-cluster (kMaxSimulatedGpus): when the pp blocks do not fit side by side, the
//     per-micro-batch groups size the block and per-step groups wider than it fall back to their
//     α-β cost; asymmetry (asymmetry.h) is placed on the stages' representative GPUs.
#include "gwsim/sim/engines/des/training_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/common/input_error.h"
#include "gwsim/network/backend.h"
#include "gwsim/network/topology.h"
#include "gwsim/sim/engines/des/asymmetry.h"
#include "gwsim/sim/engines/des/pipeline_schedule.h"
#include "gwsim/sim/engines/des/trace_writer.h"
#include "step_build.h"

namespace gwsim {

namespace {

using namespace net;

// The schedule: every rank's order of passes (pipeline_schedule.h). An interleaved rank's work is
// split into v chunks; every other schedule runs one chunk's worth per pass (DualPipe: a stage of
// either direction).
StepInputs step_inputs(const TrainingPlan& plan, const Scenario& sc, const std::string& backend_name) {
  const auto& par = plan.par;
  const int m = static_cast<int>(plan.micro_batches);
  const int v = par.schedule == PipelineSchedule::interleaved ? std::max(1, par.virtual_stages) : 1;
  PipelineOrder order;
  try {
    order = make_pipeline_order(par.schedule, par.pp, m, v);
  } catch (const std::invalid_argument& e) {
    throw InputError("--backend", "", fmt::format("{}: {}", backend_name, e.what()));
  }
  return StepInputs{plan, sc, backend_name, backend_name == "simgrid", std::move(order), par.pp, m, v, m * v};
}

void check_sub_cluster_size(const StepInputs& in, const StepLayout& lay) {
  if (in.simgrid && lay.sub.gpus > kSimgridGpuLimit)
    throw InputError(
        "--backend", "",
        fmt::format("simgrid: this step needs a {}-GPU sub-cluster, above the simgrid backend's limit of {} "
                    "GPUs (one flow per GPU pair): use --backend des",
                    lay.sub.gpus, kSimgridGpuLimit));
}

void check_engine_limits(const StepInputs& in, const TaskGraph& g, EngineEntries& engine_entries) {
  // What the engine's work grows with: resources crossed per transfer, after merging.
  const double link_entries = engine_entries.work(g);
  if (link_entries > kMaxStepLinkEntries)
    throw InputError(
        "--backend", "",
        fmt::format("{}: this step's task graph crosses {:.3g} (flow group, link) pairs, above the limit of "
                    "{:.0g}: use --backend analytical",
                    in.backend_name, link_entries, kMaxStepLinkEntries));
  if (in.simgrid && g.flow_count() > kSimgridFlowLimit)
    throw InputError("--backend", "",
                     fmt::format("simgrid: this step has {:.3g} flows, above the simgrid backend's limit of {:.0g}: "
                                 "use --backend des",
                                 g.flow_count(), kSimgridFlowLimit));
}

// The executed step as its summaries read it: the graph, when each task ran, and the slowest stage.
struct ExecutedStep {
  const StepInputs& in;
  const std::vector<StageTemplates>& st;
  const StepSchedule& sched;
  const ExecutionResult& res;
  int slowest = 0;    // the stage that ends last
  double step_s = 0;  // when it ends: the step time

  const StepGraph& graph() const { return sched.graph; }
  double start_of(const Span& sp) const { return res.start_s[sp.first]; }
  double duration_of(const Span& sp) const { return res.finish_s[sp.end] - start_of(sp); }
};

// Stage end times and the slowest stage.
void find_slowest_stage(ExecutedStep& x) {
  const auto& res = x.res;
  std::vector<double> stage_end(x.in.pp);
  int cs = 0;
  for (int s = 0; s < x.in.pp; ++s) {
    const int ag_end = x.sched.ag_end[s];
    double e = res.finish_s[x.sched.opt_task[s]];
    if (ag_end >= 0)
      e = std::max(e, x.in.plan.train.overlap_dp ? res.finish_s[ag_end] - x.st[s].f_mb : res.finish_s[ag_end]);
    stage_end[s] = e;
    if (e > stage_end[cs] + 1e-15) cs = s;
  }
  x.slowest = cs;
  x.step_s = stage_end[cs];
}

// The dependency of task t that finished last.
int latest_dep(const ExecutedStep& x, int t) {
  int best = -1;
  for (int a : x.graph().g.tasks[t].after)
    if (best < 0 || x.res.finish_s[a] > x.res.finish_s[best]) best = a;
  return best;
}

// Walks back through zero-length joins to the span that ended last.
std::pair<int, std::string> span_kind(const ExecutedStep& x, int t) {
  const StepGraph& graph = x.graph();
  for (int guard = 0; guard < 64 && t >= 0; ++guard) {
    auto it = graph.span_of_end.find(t);
    if (it != graph.span_of_end.end()) return {it->second, graph.spans[it->second].kind};
    if (graph.g.tasks[t].kind == TaskKind::delay && graph.g.tasks[t].delay_s == 0)
      t = latest_dep(x, t);
    else
      break;
  }
  return {-1, "bubble"};
}

// A compute task's wait of `gap` that ended with pipeline send `sp`.
void attribute_pipeline_wait(const ExecutedStep& x, int sp, double gap, std::map<std::string, double>& exposed) {
  const auto& spans = x.graph().spans;
  const auto& comms = x.in.plan.comms;
  const double d = std::min(gap, x.duration_of(spans[sp]));
  exposed["pp"] += d;
  // Waiting for the neighbouring stage: its compute or blocking communication is the pipeline
  // bubble; an overlapped collective that outlasted its compute is exposed communication.
  auto [sp2, kind2] = span_kind(x, latest_dep(x, spans[sp].first));
  const bool comm_track_bound = sp2 >= 0 && spans[sp2].comm >= 0 && spans[sp2].tid == 1 &&
                                comms[spans[sp2].comm].per_micro_batch > 0 &&
                                overlapped(comms[spans[sp2].comm], x.in.plan.train);
  if (comm_track_bound) exposed[kind2] += gap - d;
}

// Attribution on the slowest stage: each gap before a compute task goes to what it waited for;
// what is not exposed communication is the pipeline bubble (the remainder of the step, in
// fill_breakdown).
std::map<std::string, double> exposed_comm(const ExecutedStep& x) {
  std::map<std::string, double> exposed;
  double prev_end = 0;
  for (int t : x.sched.compute_tasks[x.slowest]) {
    const double gap = x.res.start_s[t] - prev_end;
    prev_end = x.res.finish_s[t];
    if (gap <= 1e-15) continue;
    auto [sp, kind] = span_kind(x, latest_dep(x, t));
    if (kind == "pp") {
      attribute_pipeline_wait(x, sp, gap, exposed);
    } else if (kind != "compute" && kind != "bubble" && kind != "optimizer") {
      exposed[kind] += gap;
    }
  }
  const double opt_s = x.st[x.slowest].opt;
  const double tail = x.step_s - prev_end - opt_s;
  if (tail > 0) exposed["dp"] += tail;
  return exposed;
}

void fill_breakdown(StepEstimate& est, const ExecutedStep& x) {
  std::map<std::string, double> exposed = exposed_comm(x);
  const auto& C = x.st[x.slowest];
  est.breakdown_s.clear();
  est.breakdown_s["compute"] = x.in.m * (C.f_mb + C.bi_mb + C.bw_mb);
  est.breakdown_s["recompute"] = x.in.m * C.rc_mb;
  est.breakdown_s["comm_sm_contention"] = x.in.passes * (C.contention_f + C.contention_b);
  est.breakdown_s["optimizer"] = C.opt;
  for (const char* k : {"tp", "cp", "ep", "pp", "dp"}) est.breakdown_s[std::string("exposed_comm_") + k] = exposed[k];
  double accounted = 0;
  for (const auto& [k, val] : est.breakdown_s) accounted += val;
  est.breakdown_s["bubble"] = std::max(0.0, x.step_s - accounted);
}

// Communications: simulated time per execution and per step on the slowest stage.
void fill_comm_times(StepEstimate& est, const ExecutedStep& x) {
  const auto& comms = x.in.plan.comms;
  std::vector<double> sum(comms.size(), 0), count(comms.size(), 0);
  for (const auto& sp : x.graph().spans)
    if (sp.stage == x.slowest && sp.comm >= 0) {
      sum[sp.comm] += x.duration_of(sp);
      count[sp.comm] += 1;
    }
  for (std::size_t ci = 0; ci < comms.size() && ci < est.comms.size(); ++ci) {
    const auto& c = comms[ci];
    auto& ce = est.comms[ci];
    if (count[ci] > 0) {
      const double execs = c.per_micro_batch * x.in.m + c.per_step;
      ce.per_step_time_s = sum[ci];
      if (execs > 0) ce.time_s = sum[ci] / execs;
    }
  }
}

// Instances per stage: simulated against the real stage's, as a note's list ("name k of n, ...").
struct InstanceCounts {
  std::string text;
  bool missing = false;  // some comm runs fewer instances on the links than a real stage
};

InstanceCounts fill_instances(DesStepResult& out, const StepInputs& in, const StepLayout& lay,
                              const InstanceBuilder& inst) {
  InstanceCounts counts;
  for (const auto& c : in.plan.comms) {
    CommInstances ci;
    ci.name = c.name;
    ci.kind = to_string(c.kind);
    ci.group = c.kind == CommKind::pp ? 2 : c.group;
    if (c.kind == CommKind::pp) {
      ci.simulated = in.pp > 1 ? inst.pp_instances : 0;
      ci.per_stage = static_cast<double>(lay.stage_gpus);
    } else if (c.group < 2) {
      continue;
    } else {
      const auto it = inst.simulated_instances.find(c.name);
      ci.simulated = it == inst.simulated_instances.end() ? 0 : it->second;
      ci.per_stage = lay.instances_per_stage(c);
    }
    counts.missing = counts.missing || (ci.simulated > 0 && ci.simulated < ci.per_stage);
    counts.text +=
        fmt::format("{}{} {} of {:.0f}", counts.text.empty() ? "" : ", ", ci.name, ci.simulated, ci.per_stage);
    out.instances.push_back(std::move(ci));
  }
  out.traffic_gpus = static_cast<int>(std::count(inst.traffic_gpu.begin(), inst.traffic_gpu.end(), 1));
  return counts;
}

void add_placement_notes(DesStepResult& out, const StepInputs& in, const StepLayout& lay, const InstanceBuilder& inst,
                         const InstanceCounts& counts) {
  out.notes.push_back(fmt::format(
      "one GPU per pipeline stage simulated ({} of {}); collectives as flows on a {}-GPU sub-cluster (D-mod-k "
      "routing), "
      "each stage's block holding beside its representative the concurrent instances of the same collective that "
      "the stage runs (other TP/EP/DP groups, every GPU's pipeline send) as far as the block holds them, their flows "
      "joined with the representative's{} so that shared links carry their multiplicity; instances per stage on the "
      "links, of the real stage's: {}; {} GPUs' traffic on the links",
      in.pp, in.sc.cluster.gpus, lay.sub.gpus,
      inst.separate_copies ? " (in flow groups of their own: the link asymmetry breaks their symmetry)" : "",
      counts.text, out.traffic_gpus));
  if (counts.missing)
    out.notes.push_back(
        "instances that do not fit a stage's block (or, in a capped sub-cluster whose stages' blocks "
        "overlap, would share GPUs with another stage) are not simulated: their traffic on the links "
        "they share with the simulated ones (leaf uplinks, spines) is missing, so contention there "
        "is a lower bound");
  if (lay.stages_share_gpus)
    out.notes.push_back(
        fmt::format("the {} stages' groups need {} domains of lanes {} GPUs wide, more than the {}-GPU "
                    "sub-cluster holds: some stages share GPUs there, so their links are more contended "
                    "than in the real cluster",
                    in.pp, lay.block * in.pp, lay.lane_width, lay.sub.gpus));
  out.notes.push_back(
      "every stage carries the critical stage's communications; per-micro-batch collectives split "
      "half forward, half backward, each phase's executions run as one collective of their summed "
      "bytes plus their extra per-call latency; EP all-to-all as direct, its scale-out share from the "
      "plan (node-limited routing with per-node dedup), spread evenly over the other domains' GPUs");
}

std::string schedule_note(PipelineSchedule schedule, int v, int m) {
  switch (schedule) {
    case PipelineSchedule::one_f_one_b:
      return "schedule 1f1b: pp-r-1 warm-up forwards on rank r, then one forward and one backward "
             "(weight gradients included) at a time; trace spans F<micro-batch>, B<micro-batch>+W";
    case PipelineSchedule::interleaved:
      return fmt::format(
          "schedule interleaved (Megatron-LM): rank r holds model chunks r, r+pp, ... ({} per rank, each 1/{} of the "
          "rank's work); micro-batches in groups of pp (the smallest larger group Megatron accepts when the count is "
          "not a multiple of pp), warm-up (pp-r-1)*2 + (v-1)*group forwards; every chunk boundary sends a whole "
          "activation; trace spans F<micro-batch> c<chunk>",
          v, v);
    case PipelineSchedule::zero_bubble:
      return "schedule zero_bubble (ZB-H1, Qi et al. 2024): the backward split into B (activation "
             "gradients and recomputation) and W (weight gradients); rank r defers its first r W passes "
             "to fill the cool-down, keeping 1F1B's peak activation memory";
    case PipelineSchedule::dualpipe:
      return fmt::format(
          "schedule dualpipe (DeepSeek-V3; deepseek-ai/DualPipe's eight phases): rank r runs stage r of the forward "
          "direction (c0) and stage pp-1-r of the reverse one (c1), {} micro-batches each; overlapped F&B pairs "
          "compute back to back while both passes' collectives run beside them from the pair's start; a chunk's sends "
          "complete before the rank's next chunk starts (the reference waits for them with the next receives); W "
          "split off where the reference splits it; a chunk of either direction takes the rank's mean per-micro-batch "
          "work (the plan folds both stages together), so the first and last ranks' embedding/head imbalance "
          "between the directions is averaged",
          m / 2);
  }
  return {};
}

// Comms whose analytical cost stood in, and the compute slowed by communication kernels' SMs.
void add_stand_in_notes(DesStepResult& out, const StepInputs& in, const StepLayout& lay, const InstanceBuilder& inst) {
  for (const auto& name : inst.fallbacks)
    out.notes.push_back(
        fmt::format("{}: group wider than a stage's block of {} domains in the sub-cluster (capped at {} "
                    "GPUs): its analytical cost stands in as a delay",
                    name, lay.block, kMaxSimulatedGpus));
  for (const auto& name : inst.heavy)
    out.notes.push_back(
        fmt::format("{}: routed flow by flow (no D-mod-k symmetry on this fabric) with above {:.0g} "
                    "(flow group, link) pairs over the step: its analytical cost stands in as a delay",
                    name, kMaxCollectiveLinkEntries));
  const auto& tr = in.plan.train;
  const double sm_slowdown = comm_sm_slowdown(in.sc.gpu, tr);
  const bool static_sm_split = comm_sms_split_statically(in.plan.par, tr);
  if (sm_slowdown > 0)
    out.notes.push_back(
        fmt::format("communication kernels hold {} of {} SMs: {} compute runs on the rest, {:.1f}% slower{}",
                    tr.comm_sms, in.sc.gpu.sm_count.value, static_sm_split ? "all" : "overlapped", 100 * sm_slowdown,
                    static_sm_split ? " (DualPipe sizes its kernels to the SMs left for the whole phase)"
                                    : " (for the overlapped time only)"));
}

// The busiest links over the step: wire bytes (protocol efficiency included) over capacity x step.
std::vector<LinkLoad> busiest_links(const Topology& topo, const ExecutionResult& res, double step) {
  std::vector<LinkLoad> busiest;
  std::vector<int> ids;
  for (int id = 0; id < topo.link_count(); ++id)
    if (id < static_cast<int>(res.link_bytes.size()) && res.link_bytes[id] > 0) ids.push_back(id);
  auto util = [&](int id) { return res.link_bytes[id] / (topo.link(id).capacity_bps * step); };
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return util(a) > util(b); });
  for (std::size_t i = 0; i < ids.size() && i < 10; ++i) {
    const auto& l = topo.link(ids[i]);
    busiest.push_back({topo.link_name(ids[i]), l.link_class == LinkClass::scaleup ? "scaleup" : "scaleout",
                       res.link_bytes[ids[i]], l.capacity_bps, util(ids[i])});
  }
  return busiest;
}

// Chrome trace: one process per stage (named by its representative GPU), its spans on the compute,
// comm and pp tracks.
std::string step_trace(const ExecutedStep& x, const StepLayout& lay) {
  std::vector<std::string> stages;
  for (int p = 0; p < x.in.pp; ++p) stages.push_back(fmt::format("stage {} (GPU {})", p, lay.rep_gpu(p)));
  std::vector<TraceSpan> trace;
  for (const auto& sp : x.graph().spans)
    trace.push_back({sp.stage, sp.tid, sp.name, sp.kind, x.start_of(sp), x.res.finish_s[sp.end]});
  return chrome_trace_json(stages, {"compute", "comm", "pp"}, trace);
}

// What the report says about the executed step: its time and breakdown, the comms' simulated times,
// the instances on the links and the approximations made.
void summarise(DesStepResult& out, const ExecutedStep& x, const StepLayout& lay, const InstanceBuilder& inst) {
  auto& est = out.step;
  fill_breakdown(est, x);
  fill_comm_times(est, x);
  est.step_time_s = x.step_s;
  summarise_step(est, x.in.plan);
  est.notes.clear();

  out.simulated_ranks = x.in.pp;
  out.ranks_represented = static_cast<double>(x.in.sc.cluster.gpus);
  const InstanceCounts counts = fill_instances(out, x.in, lay, inst);
  add_placement_notes(out, x.in, lay, inst, counts);
  if (std::string note = schedule_note(x.in.plan.par.schedule, x.in.v, x.in.m); !note.empty())
    out.notes.push_back(std::move(note));
  add_stand_in_notes(out, x.in, lay, inst);
}

}  // namespace

DesStepResult simulate_training_step(const TrainingPlan& symmetric_plan, const Scenario& sc,
                                     const std::string& backend_name, bool want_trace) {
  DesStepResult out;
  // Asymmetry (asymmetry.h): the representative GPUs' compute changes in the plan they run, their
  // links on the topology below.
  AppliedAsymmetry asym;
  const TrainingPlan plan = sc.asymmetry.any()
                                ? apply_compute_asymmetry(symmetric_plan, sc.asymmetry, sc.model, sc.seed, asym)
                                : symmetric_plan;
  auto backend = make_backend(backend_name);  // InputError for unknown names
  out.step = estimate_training_step(plan, sc.cluster, sc.gpu, sc.profile);
  const StepInputs in = step_inputs(plan, sc, backend_name);

  // Sub-cluster: pp blocks of scale-up domains, each large enough for the largest group; stage s's
  // groups on its block (step_instances.cpp).
  const StepLayout lay = lay_out_sub_cluster(plan, sc.cluster);
  check_sub_cluster_size(in, lay);
  Topology topo(lay.sub, sc.seed, Ecmp::dmodk);
  apply_link_asymmetry(topo, sc.asymmetry, lay.rep_gpu(sc.asymmetry.link.stage), asym);

  // The task graph (step_schedule.cpp): each stage's collectives on its block, every rank's order.
  InstanceBuilder inst(in, lay, topo, asym);
  std::vector<StageTemplates> st = build_stage_templates(in, inst);
  const StepSchedule sched = build_step_schedule(in, st, inst);
  const TaskGraph& g = sched.graph.g;
  check_engine_limits(in, g, inst.engine_entries);

  const auto res = backend->execute(topo, g);
  out.events = res.events;
  out.tasks = static_cast<long long>(g.tasks.size());
  out.flows = g.flow_count();
  out.sub_cluster_gpus = static_cast<int>(lay.sub.gpus);
  ExecutedStep x{in, st, sched, res};
  find_slowest_stage(x);
  summarise(out, x, lay, inst);
  out.asymmetry_applied = asym.applied;
  out.busiest_links = busiest_links(topo, res, x.step_s);
  if (want_trace) out.trace_json = step_trace(x, lay);
  return out;
}

}  // namespace gwsim
