// One training step on the network layer: see training_step.h.
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
//     the next rank once its compute and collectives are done.
//   - comm SMs (comm_sm_slowdown, shared with the analytical backend): compute beside
//     communication kernels runs on the SMs left, comm_sms / (sm_count - comm_sms) slower, for the
//     overlapped time (the analytical cost of the overlapped collectives, capped at the compute),
//     or for all compute under DualPipe's static split.
//   - capped sub-cluster (kMaxSimulatedGpus): when the pp blocks do not fit side by side, the
//     per-micro-batch groups size the block and per-step groups wider than it fall back to their
//     α-β cost; asymmetry (asymmetry.h) is placed on the stages' representative GPUs.
#include "gwsim/sim/des/training_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/collective_cost.h"
#include "gwsim/sim/des/asymmetry.h"
#include "gwsim/sim/des/pipeline_schedule.h"
#include "gwsim/sim/des/trace_writer.h"
#include "gwsim/sim/network/backend.h"
#include "gwsim/sim/network/collective.h"
#include "gwsim/sim/network/topology.h"
#include "step_build.h"

namespace gwsim {

namespace {

using namespace net;

using namespace des_step;

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

  // The schedule: every rank's order of passes (pipeline_schedule.h). An interleaved rank's work is
  // split into v chunks; every other schedule runs one chunk's worth per pass (DualPipe: a stage of
  // either direction).
  const int m = static_cast<int>(plan.micro_batches);
  const int v = par.schedule == PipelineSchedule::interleaved ? std::max(1, par.virtual_stages) : 1;
  PipelineOrder order;
  try {
    order = make_pipeline_order(par.schedule, pp, m, v);
  } catch (const std::invalid_argument& e) {
    throw InputError("--backend", "", fmt::format("{}: {}", backend_name, e.what()));
  }
  const int passes = m * v;  // forward passes per rank per step (and as many backward ones)

  // Sub-cluster: pp blocks of scale-up domains, each large enough for the largest group; stage s's
  // groups on its block (step_instances.cpp).
  const StepInputs in{plan, sc, backend_name, simgrid, order, pp, m, v, passes};
  const StepLayout lay = lay_out_sub_cluster(plan, cluster);
  const ClusterSpec& sub = lay.sub;
  const int block = lay.block, lane_width = lay.lane_width;
  const bool stages_share_gpus = lay.stages_share_gpus;
  const std::int64_t stage_gpus = lay.stage_gpus;
  if (simgrid && sub.gpus > kSimgridGpuLimit)
    throw InputError("--backend", "",
                     fmt::format("simgrid: this step needs a {}-GPU sub-cluster, above the simgrid backend's limit of {} "
                                 "GPUs (one flow per GPU pair): use --backend des",
                                 sub.gpus, kSimgridGpuLimit));
  Topology topo(sub, sc.seed, Ecmp::dmodk);
  apply_link_asymmetry(topo, sc.asymmetry, lay.rep_gpu(sc.asymmetry.link.stage), asym);
  InstanceBuilder inst(in, lay, topo, asym);
  const bool separate_copies = inst.separate_copies;
  auto& traffic_gpu = inst.traffic_gpu;
  auto& simulated_instances = inst.simulated_instances;
  auto& engine_entries = inst.engine_entries;
  auto& fallbacks = inst.fallbacks;
  auto& heavy = inst.heavy;
  auto instances_per_stage = [&](const Comm& c) { return lay.instances_per_stage(c); };
  auto rep_gpu = [&](int s) { return lay.rep_gpu(s); };

  std::vector<StageTemplates> st = build_stage_templates(in, inst);
  const double sm_slowdown = comm_sm_slowdown(gpu, tr);
  const bool static_sm_split = comm_sms_split_statically(par, tr);
  StepSchedule sched = build_step_schedule(in, st, inst);
  const StepGraph& bld = sched.graph;
  const TaskGraph& g = bld.g;
  const auto& compute_tasks = sched.compute_tasks;
  const auto& opt_task = sched.opt_task;
  const auto& ag_end = sched.ag_end;

  // What the engine's work grows with: resources crossed per transfer, after merging.
  const double link_entries = engine_entries.work(g);
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
  out.flows = g.flow_count();
  out.sub_cluster_gpus = static_cast<int>(sub.gpus);
  auto start_of = [&](const Span& sp) { return res.start_s[sp.first]; };

  // Stage end times and the slowest stage.
  std::vector<double> stage_end(pp);
  int cs = 0;
  for (int s = 0; s < pp; ++s) {
    double e = res.finish_s[opt_task[s]];
    if (ag_end[s] >= 0)
      e = std::max(e, tr.overlap_dp ? res.finish_s[ag_end[s]] - st[s].f_mb : res.finish_s[ag_end[s]]);
    stage_end[s] = e;
    if (e > stage_end[cs] + 1e-15) cs = s;
  }
  const double step = stage_end[cs];

  // Attribution on the slowest stage: each gap before a compute task goes to what it waited for;
  // what is not exposed communication is the pipeline bubble (the remainder of the step, below).
  std::map<std::string, double> exposed;
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
                                    overlapped(plan.comms[bld.spans[sp2].comm], tr);
      if (comm_track_bound) exposed[kind2] += gap - d;
    } else if (kind != "compute" && kind != "bubble" && kind != "optimizer") {
      exposed[kind] += gap;
    }
  }
  const double opt_s = st[cs].opt;
  const double tail = step - prev_end - opt_s;
  if (tail > 0) exposed["dp"] += tail;

  const auto& C = st[cs];
  est.breakdown_s.clear();
  est.breakdown_s["compute"] = m * (C.f_mb + C.bi_mb + C.bw_mb);
  est.breakdown_s["recompute"] = m * C.rc_mb;
  est.breakdown_s["comm_sm_contention"] = passes * (st[cs].contention_f + st[cs].contention_b);
  est.breakdown_s["optimizer"] = opt_s;
  for (const char* k : {"tp", "cp", "ep", "pp", "dp"}) est.breakdown_s[std::string("exposed_comm_") + k] = exposed[k];
  double accounted = 0;
  for (const auto& [k, val] : est.breakdown_s) accounted += val;
  est.breakdown_s["bubble"] = std::max(0.0, step - accounted);

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
  est.step_time_s = step;
  summarise_step(est, plan);
  est.notes.clear();

  out.simulated_ranks = pp;
  out.ranks_represented = static_cast<double>(cluster.gpus);
  // Instances per stage: simulated against the real stage's.
  std::string counts;
  bool missing = false;
  for (const auto& c : plan.comms) {
    CommInstances ci;
    ci.name = c.name;
    ci.kind = to_string(c.kind);
    ci.group = c.kind == CommKind::pp ? 2 : c.group;
    if (c.kind == CommKind::pp) {
      ci.simulated = pp > 1 ? inst.pp_instances : 0;
      ci.per_stage = static_cast<double>(stage_gpus);
    } else if (c.group < 2) {
      continue;
    } else {
      const auto it = simulated_instances.find(c.name);
      ci.simulated = it == simulated_instances.end() ? 0 : it->second;
      ci.per_stage = instances_per_stage(c);
    }
    missing = missing || (ci.simulated > 0 && ci.simulated < ci.per_stage);
    counts += fmt::format("{}{} {} of {:.0f}", counts.empty() ? "" : ", ", ci.name, ci.simulated, ci.per_stage);
    out.instances.push_back(std::move(ci));
  }
  out.traffic_gpus = static_cast<int>(std::count(traffic_gpu.begin(), traffic_gpu.end(), 1));
  out.notes.push_back(fmt::format(
      "one GPU per pipeline stage simulated ({} of {}); collectives as flows on a {}-GPU sub-cluster (D-mod-k routing), "
      "each stage's block holding beside its representative the concurrent instances of the same collective that "
      "the stage runs (other TP/EP/DP groups, every GPU's pipeline send) as far as the block holds them, their flows "
      "joined with the representative's{} so that shared links carry their multiplicity; instances per stage on the "
      "links, of the real stage's: {}; {} GPUs' traffic on the links",
      pp, cluster.gpus, sub.gpus,
      separate_copies ? " (in flow groups of their own: the link asymmetry breaks their symmetry)" : "", counts,
      out.traffic_gpus));
  if (missing)
    out.notes.push_back("instances that do not fit a stage's block (or, in a capped sub-cluster whose stages' blocks "
                        "overlap, would share GPUs with another stage) are not simulated: their traffic on the links "
                        "they share with the simulated ones (leaf uplinks, spines) is missing, so contention there "
                        "is a lower bound");
  if (stages_share_gpus)
    out.notes.push_back(fmt::format("the {} stages' groups need {} domains of lanes {} GPUs wide, more than the {}-GPU "
                                    "sub-cluster holds: some stages share GPUs there, so their links are more contended "
                                    "than in the real cluster",
                                    pp, block * pp, lane_width, sub.gpus));
  out.notes.push_back("every stage carries the critical stage's communications; per-micro-batch collectives split "
                      "half forward, half backward, each phase's executions run as one collective of their summed "
                      "bytes plus their extra per-call latency; EP all-to-all as direct, its scale-out share from the "
                      "plan (node-limited routing with per-node dedup), spread evenly over the other domains' GPUs");
  switch (par.schedule) {
    case PipelineSchedule::one_f_one_b:
      out.notes.push_back("schedule 1f1b: pp-r-1 warm-up forwards on rank r, then one forward and one backward "
                          "(weight gradients included) at a time; trace spans F<micro-batch>, B<micro-batch>+W");
      break;
    case PipelineSchedule::interleaved:
      out.notes.push_back(fmt::format(
          "schedule interleaved (Megatron-LM): rank r holds model chunks r, r+pp, ... ({} per rank, each 1/{} of the "
          "rank's work); micro-batches in groups of pp (the smallest larger group Megatron accepts when the count is "
          "not a multiple of pp), warm-up (pp-r-1)*2 + (v-1)*group forwards; every chunk boundary sends a whole "
          "activation; trace spans F<micro-batch> c<chunk>",
          v, v));
      break;
    case PipelineSchedule::zero_bubble:
      out.notes.push_back("schedule zero_bubble (ZB-H1, Qi et al. 2024): the backward split into B (activation "
                          "gradients and recomputation) and W (weight gradients); rank r defers its first r W passes "
                          "to fill the cool-down, keeping 1F1B's peak activation memory");
      break;
    case PipelineSchedule::dualpipe:
      out.notes.push_back(fmt::format(
          "schedule dualpipe (DeepSeek-V3; deepseek-ai/DualPipe's eight phases): rank r runs stage r of the forward "
          "direction (c0) and stage pp-1-r of the reverse one (c1), {} micro-batches each; overlapped F&B pairs "
          "compute back to back while both passes' collectives run beside them from the pair's start; W split off "
          "where the reference splits it; a chunk of either direction takes the rank's mean per-micro-batch work "
          "(the plan folds both stages together), so the first and last ranks' embedding/head imbalance between "
          "the directions is averaged",
          m / 2));
      break;
  }
  for (const auto& name : fallbacks)
    out.notes.push_back(fmt::format("{}: group wider than a stage's block of {} domains in the sub-cluster (capped at {} "
                                    "GPUs): its analytical cost stands in as a delay",
                                    name, block, kMaxSimulatedGpus));
  for (const auto& name : heavy)
    out.notes.push_back(fmt::format("{}: routed flow by flow (no D-mod-k symmetry on this fabric) with above {:.0g} "
                                    "(flow group, link) pairs over the step: its analytical cost stands in as a delay",
                                    name, kMaxCollectiveLinkEntries));
  if (sm_slowdown > 0)
    out.notes.push_back(fmt::format(
        "communication kernels hold {} of {} SMs: {} compute runs on the rest, {:.1f}% slower{}", tr.comm_sms,
        gpu.sm_count.value, static_sm_split ? "all" : "overlapped", 100 * sm_slowdown,
        static_sm_split ? " (DualPipe sizes its kernels to the SMs left for the whole phase)"
                        : " (for the overlapped time only)"));
  (void)analytical;
  out.asymmetry_applied = asym.applied;

  // The busiest links over the step: wire bytes (protocol efficiency included) over capacity x step.
  std::vector<int> ids;
  for (int id = 0; id < topo.link_count(); ++id)
    if (id < static_cast<int>(res.link_bytes.size()) && res.link_bytes[id] > 0) ids.push_back(id);
  auto util = [&](int id) { return res.link_bytes[id] / (topo.link(id).capacity_bps * step); };
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return util(a) > util(b); });
  for (std::size_t i = 0; i < ids.size() && i < 10; ++i) {
    const auto& l = topo.link(ids[i]);
    out.busiest_links.push_back({topo.link_name(ids[i]), l.link_class == LinkClass::scaleup ? "scaleup" : "scaleout",
                                 res.link_bytes[ids[i]], l.capacity_bps, util(ids[i])});
  }

  if (want_trace) {
    std::vector<std::string> stages;
    for (int p = 0; p < pp; ++p) stages.push_back(fmt::format("stage {} (GPU {})", p, rep_gpu(p)));
    std::vector<TraceSpan> trace;
    for (const auto& sp : bld.spans)
      trace.push_back({sp.stage, sp.tid, sp.name, sp.kind, start_of(sp), res.finish_s[sp.end]});
    out.trace_json = chrome_trace_json(stages, {"compute", "comm", "pp"}, trace);
  }
  return out;
}

}  // namespace gwsim
