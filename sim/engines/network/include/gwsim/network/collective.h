#pragma once
// Collectives decomposed into flows between GPUs, the way NCCL and DeepEP run them:
//   ring          all-reduce = reduce-scatter then all-gather, n-1 steps each; a step's flow from
//                 rank i waits for the previous step's flow into rank i. Across nodes, one ring
//                 per NIC (NCCL channels), each entering and leaving every node on its own GPU.
//   tree          NCCL's double binary tree: two trees, each reducing up and broadcasting down half
//                 the data, pipelined (all tree edges busy at once)
//   direct        all-to-all: every rank sends bytes/n to every other rank at once
//   hierarchical  intra-domain phase, then inter-domain among ranks of the same local index, then
//                 intra-domain again (all-reduce); all-to-all as DeepEP: RDMA to the same-index
//                 GPU of every other node while NVLink forwards inside the node
//   nvls          in-network reduction in one NVSwitch domain: each rank sends once, receives once
//   sharp         in-network reduction in the scale-out switches (InfiniBand SHARP), all-reduce over
//                 several domains: in-domain reduce-scatter, each shard up the switch tree once and
//                 back once, in-domain all-gather. Asked for explicitly (auto never picks it: it
//                 needs SHARP-capable switches and has no published figure here to check it)
// Link efficiency: a flow over scale-out (scale-up) links moves bytes / bus_efficiency of the
// profile's entry for its phase's op on that link class, which is the same as running on links
// scaled by the efficiency; the profile's α is paid once per step by every flow of the step.
#include <string>
#include <vector>

#include "gwsim/hwmodels/profile.h"
#include "gwsim/network/backend.h"

namespace gwsim::net {

struct CollectiveSpec {
  std::string op = "all_reduce";   // all_reduce | all_gather | reduce_scatter | all_to_all
  double bytes = 0;                // nccl-tests size (all_gather: the gathered output)
  std::vector<int> ranks;          // GPUs taking part, in rank order; empty: GPUs 0..n-1 of the topology
  std::string algorithm = "auto";  // ring | tree | direct | hierarchical | nvls | sharp | auto
  bool aggregate = true;           // flow groups over symmetric flows (des); false: one flow per pair
  bool nvls_capable = false;       // the scale-up switch reduces in network (NVSwitch 3+)
  // all_to_all only: share of each rank's bytes that leaves its scale-up domain. <0: uniform
  // destinations ((n - local) / n). MoE dispatch with node-limited routing and per-node dedup
  // (DeepSeek-V3: a token reaches at most 4 nodes and crosses the fabric once per node) sends
  // less than the uniform share over the NICs; the in-domain share stays uniform, as in
  // collective_cost() (the analytical backend), so the two backends model the same bytes.
  double scaleout_fraction = -1;
  // all_to_all only: skewed routing. The rank at position hot_rank of `ranks` receives
  // hot_rank_load x the mean bytes (the busiest expert's GPU in a dispatch); the others share the
  // rest evenly. Flows into it form their own flow groups, so its links are what the rest waits on.
  int hot_rank = -1;
  double hot_rank_load = 1;
  // Concurrent instances: other groups running the same collective (same op, bytes, algorithm and
  // size) in lockstep with `ranks`, e.g. the other DP replicas' gradient reductions or the other
  // EP groups' all-to-alls of one pipeline stage. Each copy lists its GPUs in rank order, with
  // the main instance's shape (rank i and rank j share a scale-up domain in a copy iff they do in
  // `ranks`); no GPU may appear in two instances. Under symmetry every instance's flows get the
  // main instance's rates, so aggregated, a copy's flows join the main instance's flow groups: the
  // groups' link counts carry every instance's flows on every link (the multiplicity of shared
  // links), at no extra rate variable. Where routing treats the instances unequally (a D-mod-k or
  // ECMP collision under some of them) a joined group runs every instance at the slowest one's
  // rate: what a synchronous step, which waits for every instance, sees of it, but no longer the
  // max-min rates of each flow. Per flow (aggregate = false, what SimGrid runs) the copies
  // are explicit flows of their own. Skewed routing (hot_rank) applies to every instance at the
  // same position: the instances hold the same experts in the same order, so the same expert is
  // hot in each. Aggregated groups that carry copies list no members (the des engine needs counts
  // only). The ends returned wait for every instance.
  std::vector<std::vector<int>> copies;
  // Aggregated only: every instance in flow groups of its own instead of joined ones. Exact
  // (each instance's flows then get their own rates) where the instances are not symmetric (a
  // degraded link under one of them), at one rate variable per instance and class.
  bool separate_copies = false;
};

// The algorithm `auto` resolves to, or the one asked for; InputError if it does not fit the op.
std::string resolve_algorithm(const CollectiveSpec& spec, const Topology& topo);

// Appends the collective's tasks to `graph`; they start after `after`. Returns the task(s) whose
// completion ends the collective. `exclusive` lets the des engine merge symmetric links (only when
// nothing else runs at the same time).
std::vector<int> append_collective(TaskGraph& graph, const Topology& topo, const Profile& profile,
                                   const CollectiveSpec& spec, const std::vector<int>& after, bool exclusive,
                                   const std::string& label = {}, int track = -1);

struct CollectiveResult {
  std::string algorithm;
  double time_s = 0;
  double algbw_bps = 0;  // bytes / time (of one instance: copies run beside it)
  double busbw_bps = 0;  // algbw x nccl-tests bus factor
  double flows = 0;      // member flows simulated (per-pair flows the collective consists of, copies included)
  long long tasks = 0, events = 0, variables = 0;
};

CollectiveResult simulate_collective(const Topology& topo, const Profile& profile, const CollectiveSpec& spec,
                                     NetworkBackend& backend);

}  // namespace gwsim::net
