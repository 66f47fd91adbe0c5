// The des training step's placement: the sub-cluster's size, where each stage's groups sit on it,
// and the collectives' instances (the representative and its copies) built there (step_build.h).
#include <algorithm>
#include <cstring>

#include "gwsim/common/hash.h"
#include "gwsim/network/collective.h"
#include "step_build.h"

namespace gwsim {

using namespace net;

namespace {

// Domains of a stage's block. It holds its widest group when the pp blocks fit the sub-cluster
// side by side. When they do not, the per-micro-batch groups (TP, CP, EP: run hundreds of times a
// step) set the block, so that stages do not wrap onto each other's GPUs; per-step groups wider
// than that (DP, once at the step's end) then fall back to their analytical cost.
int block_domains(const TrainingPlan& plan, const StepLayout& lay, int max_domains, int total_domains) {
  int block_all = 1, block_mb = 1;
  for (const auto& c : plan.comms) {
    const int nd = (c.group + lay.ranks_per_domain(c) - 1) / lay.ranks_per_domain(c);
    if (c.kind == CommKind::pp || nd > max_domains) continue;
    block_all = std::max(block_all, nd);
    if (c.per_micro_batch > 0) block_mb = std::max(block_mb, nd);
  }
  int block = block_all * lay.pp > max_domains && block_mb < block_all ? block_mb : block_all;
  return std::min(block, total_domains);
}

// Stages' regions overlap where the sub-cluster is capped (blocks wrap around it, lanes run
// out). Copies go only to positions (domain and lane offsets in a stage's region) where no
// stage's GPU lies in another stage's region, the same positions on every stage: they never
// share a GPU with another stage's instances, and every stage carries as many. Uncapped, every
// position qualifies.
std::vector<char> free_positions(const StepLayout& lay) {
  std::vector<char> free_position(static_cast<std::size_t>(lay.block) * lay.lane_span, 1);
  std::vector<unsigned char> regions(static_cast<std::size_t>(lay.sub.gpus), 0);
  for (int s = 0; s < lay.pp; ++s)
    for (int d = 0; d < lay.block; ++d)
      for (int j = 0; j < lay.lane_span; ++j) {
        auto& n = regions[lay.gpu_at(s, d, j)];
        n = static_cast<unsigned char>(std::min(2, n + 1));
      }
  for (int s = 0; s < lay.pp; ++s)
    for (int d = 0; d < lay.block; ++d)
      for (int j = 0; j < lay.lane_span; ++j)
        if (regions[lay.gpu_at(s, d, j)] > 1) free_position[static_cast<std::size_t>(d) * lay.lane_span + j] = 0;
  return free_position;
}

}  // namespace

int StepLayout::ranks_per_domain(const Comm& c) const {
  int r = std::clamp(c.ranks_per_domain, 1, dom);
  while (c.group % r) --r;
  return r;
}

double StepLayout::instances_per_stage(const Comm& c) const {
  return static_cast<double>(std::max<std::int64_t>(1, stage_gpus / std::max(1, c.group)));
}

// The representative instance takes the block's first domains and lanes; copies tile the rest,
// lanes first, then domains, on free positions only.
std::vector<std::vector<int>> StepLayout::group_instances(const Comm& c, int s) const {
  std::vector<std::vector<int>> out;
  const int r = ranks_per_domain(c);
  const int nd = c.group / r;
  if (nd > block) return out;
  const int lane_tiles = std::max(1, lane_span / r), domain_tiles = std::max(1, block / nd);
  const double wanted = instances_per_stage(c);
  std::vector<int> ranks;
  for (int k = 0; k < lane_tiles * domain_tiles && out.size() < wanted; ++k) {
    const int kl = k % lane_tiles, kd = k / lane_tiles;
    ranks.clear();
    bool free = true;
    for (int d = 0; d < nd; ++d)
      for (int j = 0; j < r; ++j) {
        ranks.push_back(gpu_at(s, kd * nd + d, kl * r + j));
        free = free && free_at(kd * nd + d, kl * r + j);
      }
    if (k == 0 || free) out.push_back(ranks);
  }
  return out;
}

StepLayout lay_out_sub_cluster(const TrainingPlan& plan, const ClusterSpec& cluster) {
  StepLayout lay;
  lay.pp = plan.par.pp;
  // Sub-cluster: pp blocks of scale-up domains, each large enough for the largest group.
  lay.dom = std::max(1, cluster.scaleup_domain_gpus > 0 ? cluster.scaleup_domain_gpus : cluster.gpus_per_node);
  const int total_domains = std::max(1, static_cast<int>(cluster.gpus / lay.dom));
  // Groups too large for the simulated sub-cluster fall back to their analytical cost (a delay).
  const int max_domains = std::max(1, static_cast<int>(kMaxSimulatedGpus / lay.dom));
  lay.block = block_domains(plan, lay, max_domains, total_domains);
  lay.sim_domains = std::max(lay.block, std::min({total_domains, lay.block * lay.pp, max_domains}));
  lay.sub = cluster;
  lay.sub.gpus = static_cast<std::int64_t>(lay.sim_domains) * lay.dom;
  // Stage s's groups start at domain base_domain(s). When the pp blocks do not all fit (the
  // sub-cluster is capped), the blocks wrap around; a stage that wraps moves to the next lane of
  // GPUs in each domain (local index + lane), so that stages sharing domains still use different
  // GPUs and NICs, as they do in the real cluster. Only when the lanes run out do stages share GPUs.
  for (const auto& c : plan.comms)
    if (c.kind != CommKind::pp) lay.lane_width = std::max(lay.lane_width, lay.ranks_per_domain(c));
  lay.wraps = (lay.block * lay.pp + lay.sim_domains - 1) / lay.sim_domains;
  lay.stages_share_gpus = lay.wraps * lay.lane_width > lay.dom;
  // Multiplicity. A real stage's gpus / pp GPUs each run one instance of every collective at the
  // same time: gpus / pp / group instances of each, side by side. The simulated stage owns its
  // block of `block` domains and, in each, the lanes from lane(s): all of them unless blocks wrap,
  // lane_width otherwise. The representative instance takes the block's first domains and lanes;
  // copies tile the rest, lanes first (the groups of one domain set, as a stride-TP DP group's
  // siblings sit on the other local GPUs of the same nodes), then domains.
  lay.stage_gpus = std::max<std::int64_t>(1, cluster.gpus / lay.pp);
  lay.lane_span = lay.wraps == 1 ? lay.dom : std::min(lay.dom, lay.lane_width);
  lay.free_position = free_positions(lay);
  return lay;
}

std::vector<double> EngineEntries::per_batch(const TaskGraph& g) {
  std::uint64_t group_id = 0;
  for (const auto& b : g.batches)
    for (const auto& grp : b.groups) {
      ++group_id;
      for (const auto& [l, k] : grp.link_flows) {
        if (sig_[l] == 0) touched_.push_back(l);
        std::uint64_t kb = 0;
        std::memcpy(&kb, &k, sizeof kb);
        sig_[l] = splitmix64(sig_[l] ^ splitmix64(group_id * 0x100000001b3ULL ^ kb)) | 1;  // never 0 once used
      }
    }
  std::sort(touched_.begin(), touched_.end());  // the engine keeps the lowest id of a class
  std::map<std::pair<double, std::uint64_t>, int> merged;
  for (int l : touched_) first_[l] = merged.emplace(std::make_pair(topo_.link(l).capacity_bps, sig_[l]), l).second;
  std::vector<double> out(g.batches.size(), 0);
  for (std::size_t b = 0; b < g.batches.size(); ++b)
    for (const auto& grp : g.batches[b].groups)
      for (const auto& [l, k] : grp.link_flows) out[b] += first_[l];
  for (int l : touched_) sig_[l] = 0, first_[l] = 0;
  touched_.clear();
  return out;
}

double EngineEntries::work(const TaskGraph& g) {
  const auto pb = per_batch(g);
  double total = 0;
  for (const auto& task : g.tasks)
    if (task.kind == TaskKind::transfer) total += pb[task.batch];
  return total;
}

InstanceBuilder::InstanceBuilder(const StepInputs& in, const StepLayout& lay, const Topology& topo,
                                 const AppliedAsymmetry& asym)
    : engine_entries(topo),
      separate_copies(in.sc.asymmetry.link.active),
      traffic_gpu(static_cast<std::size_t>(lay.sub.gpus), 0),
      pp_instances(lay.block * lay.lane_span),
      in_(in),
      lay_(lay),
      topo_(topo),
      asym_(asym) {
  for (const auto& c : in.plan.comms)
    if (c.kind == CommKind::pp) pp_comm_ = &c;
}

// A collective that falls back to its analytical cost under skewed routing: the busiest rank
// moves load x the mean bytes, and the all-to-all ends when it does.
double InstanceBuilder::skew_of(const Comm& c) const { return c.kind == CommKind::ep ? asym_.hottest_rank_load : 1.0; }
bool InstanceBuilder::hot_routing() const { return asym_.hottest_rank_load > 1; }

void InstanceBuilder::count_instances(const std::string& name, int k) {
  auto [it, fresh] = simulated_instances.try_emplace(name, k);
  if (!fresh) it->second = std::min(it->second, k);
}

void InstanceBuilder::fall_back(Template& t, const Comm& c, const CollectiveRequest& req,
                                std::set<std::string>& reason) {
  reason.insert(c.name);
  count_instances(c.name, 0);
  t.usable = false;
  t.fallback_s = collective_cost(req, in_.sc.cluster, in_.sc.profile).time_s * skew_of(c) + t.extra_latency_s;
}

// Flow graphs are built per stage and shape (op, group, placement, routing skew), for 1 byte: comms
// that differ only in their bytes (EP dispatch and combine) share one, scaled (every transfer's
// bytes are proportional to the collective's).
InstanceBuilder::Shape& InstanceBuilder::shape(const Comm& c, int s, const std::vector<std::vector<int>>& inst) {
  const bool hot = c.kind == CommKind::ep && hot_routing();
  const double scaleout = c.op == "all_to_all" ? c.scaleout_fraction : -1;
  auto [it, fresh] = shapes_.try_emplace({s, c.op, c.group, lay_.ranks_per_domain(c), scaleout, hot});
  Shape& sh = it->second;
  if (!fresh) return sh;
  CollectiveSpec spec;
  spec.op = c.op;
  spec.bytes = 1;
  spec.ranks = inst.front();
  spec.copies.assign(inst.begin() + 1, inst.end());
  spec.separate_copies = separate_copies;
  spec.aggregate = !in_.simgrid;
  spec.nvls_capable = false;
  spec.scaleout_fraction = scaleout;
  if (hot) {
    spec.hot_rank = 0;  // the stage's representative GPU (group_instances puts it first)
    spec.hot_rank_load = asym_.hottest_rank_load;
  }
  sh.end = append_collective(sh.g, topo_, in_.sc.profile, spec, {}, false).back();
  // Engine work per execution: the representative's links (a copy's flows join its groups,
  // and under symmetry the engine merges a copy's links with the representative's), or the
  // resources left after merging within this graph, whichever is more.
  double raw = 0;
  for (const auto& task : sh.g.tasks)
    if (task.kind == TaskKind::transfer)
      for (const auto& grp : sh.g.batches[task.batch].groups) raw += static_cast<double>(grp.link_flows.size());
  sh.work = in_.simgrid ? 0 : std::max(engine_entries.work(sh.g), raw / static_cast<double>(inst.size()));
  return sh;
}

Template InstanceBuilder::collective(const Comm& c, int s, double executions, double instances) {
  Template t;
  const double k = std::max(executions, 1e-9);
  // The plan's own EP load (training.moe_hottest_rank_load, 1 unless stated) stretches every rank's
  // EP traffic, as in the analytical backend; skewed routing (asymmetry) instead routes the busiest
  // rank's extra traffic as flows of its own (shape) and replaces the plan's load.
  const double bytes = c.bytes * k * (c.kind == CommKind::ep && !hot_routing() ? in_.plan.hottest_rank_load : 1);
  const CollectiveRequest req = comm_request(c, bytes);
  CollectiveRequest tiny = req;
  tiny.bytes = 1;
  const double lat1 = c.group > 1 ? collective_cost(tiny, in_.sc.cluster, in_.sc.profile).time_s : 0;
  t.extra_latency_s = std::max(0.0, executions - 1) * lat1;
  if (c.group < 2) {
    t.end = t.g.add_delay(0, {});
    return t;
  }
  auto inst = lay_.group_instances(c, s);
  if (inst.empty()) {
    fall_back(t, c, req, fallbacks);
    return t;
  }
  const Shape& sh = shape(c, s, inst);
  if (!in_.simgrid && sh.work * instances * in_.pp > kMaxCollectiveLinkEntries) {
    // Routed pair by pair (no D-mod-k symmetry to count flows by class) and too large to run at
    // every micro-batch: its analytical cost stands in.
    fall_back(t, c, req, heavy);
    return t;
  }
  t.g = sh.g;
  t.end = sh.end;
  for (auto& task : t.g.tasks) task.bytes_per_flow *= bytes;
  count_instances(c.name, static_cast<int>(inst.size()));
  for (const auto& ranks : inst)
    for (int r : ranks) traffic_gpu[r] = 1;
  return t;
}

// Every GPU of a stage sends to its counterpart in the next: the GPU at a position of the source
// stage's block and lanes to the GPU at the same position of the destination's, as many as the
// block holds.
std::vector<std::pair<int, int>> InstanceBuilder::pipeline_send_pairs(int src, int dst) {
  std::vector<std::pair<int, int>> pairs;
  const int positions = lay_.block * lay_.lane_span;
  for (int i = 0; i < positions && static_cast<std::int64_t>(pairs.size()) < lay_.stage_gpus; ++i) {
    const int d = i / lay_.lane_span, j = i % lay_.lane_span;
    const int a = lay_.gpu_at(src, d, j), b = lay_.gpu_at(dst, d, j);
    if (i > 0 && !lay_.free_at(d, j)) continue;
    pairs.push_back({a, b});
    traffic_gpu[a] = traffic_gpu[b] = 1;
  }
  pp_instances = std::min(pp_instances, static_cast<int>(pairs.size()));
  return pairs;
}

// Joined by class as append_collective joins copies; per pair for SimGrid, and the
// representative's pair on its own under link asymmetry.
Batch InstanceBuilder::pipeline_send_batch(const std::vector<std::pair<int, int>>& pairs) const {
  const auto& coll = in_.sc.profile.collective(pp_comm_->link, "all_to_all");
  Batch batch;
  auto add = [&](std::vector<std::pair<int, int>> members) {
    if (members.empty()) return;
    batch.groups.push_back(make_group(topo_, std::move(members), 1 / coll.bus_efficiency));
    batch.groups.back().latency_s += coll.alpha_s;
  };
  if (in_.simgrid) {
    for (const auto& p : pairs) add({p});
  } else {
    std::vector<std::pair<int, int>> up, across;
    for (std::size_t i = separate_copies ? 1 : 0; i < pairs.size(); ++i)
      (topo_.same_domain(pairs[i].first, pairs[i].second) ? up : across).push_back(pairs[i]);
    if (separate_copies) add({pairs.front()});
    add(std::move(up));
    add(std::move(across));
  }
  return batch;
}

// One activation (or gradient) send between two ranks' representative GPUs, beside the same send
// of the stage's other GPUs.
Template& InstanceBuilder::pipeline_send(int src, int dst) {
  auto [it, fresh] = pipeline_sends_.try_emplace({src, dst});
  if (fresh) {
    Template& t = it->second;
    t.end = t.g.add_transfer(t.g.add_batch(pipeline_send_batch(pipeline_send_pairs(src, dst))), pp_comm_->bytes, {});
  }
  return it->second;
}

}  // namespace gwsim
