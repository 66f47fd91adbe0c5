#pragma once
// Private to the des training step (training_step.cpp, step_instances.cpp, step_schedule.cpp): the
// state its phases share. training_step.cpp describes the approximations.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gwsim/cost/cost.h"
#include "gwsim/network/task_graph.h"
#include "gwsim/network/topology.h"
#include "gwsim/sim/engines/des/asymmetry.h"
#include "gwsim/sim/engines/des/pipeline_schedule.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

constexpr double kSimgridFlowLimit = 2e6;          // member flows SimGrid is asked to simulate at most
constexpr std::int64_t kMaxSimulatedGpus = 65536;  // sub-cluster size cap (des)
// Engine work: (flow group, link) pairs crossed per transfer, summed over the transfers.
// Per comm: the representative instance's links (what its copies add merges away under symmetry).
constexpr double kMaxCollectiveLinkEntries = 1e8;  // of one comm over the step, des
// Over the step: links the des engine merges (same capacity, groups and counts) counted once. Measured
// (2-core x86): DeepSeek-V3 2048 5.6e4 (0.2 s), the same at 4:1 9.8e5 (1.6 s), Megatron 1T 3072
// 1.4e6 (2.8 s), H100 gigawatt at 1M GPUs 6.5e4 (1.4 s); a GB200 layout whose stages' copies
// overlapped, 1.8e7, ran 6.5 minutes.
constexpr double kMaxStepLinkEntries = 1e7;
constexpr std::int64_t kSimgridGpuLimit = 1024;  // GPUs of the sub-cluster SimGrid is given at most

// What every phase reads: the plan the representative GPUs run (asymmetry applied), the scenario
// and the schedule.
struct StepInputs {
  const TrainingPlan& plan;
  const Scenario& sc;
  const std::string& backend_name;
  bool simgrid = false;
  PipelineOrder order;
  int pp = 1;
  int m = 0;       // micro-batches per step
  int v = 1;       // chunks per rank (interleaved: its virtual stages)
  int passes = 0;  // forward passes per rank per step (and as many backward ones)
};

// Where the stages' groups sit on the simulated sub-cluster: pp blocks of `block` scale-up domains,
// stage s's from base_domain(s), in the lanes (local GPU indices) from lane(s).
struct StepLayout {
  int pp = 1;
  int dom = 1;          // GPUs per scale-up domain
  int block = 1;        // domains of one stage's block
  int sim_domains = 1;  // domains of the sub-cluster
  int lane_width = 1;   // lanes a stage's widest group needs in a domain
  int wraps = 1;        // times the pp blocks go round the sub-cluster
  int lane_span = 1;    // lanes a stage owns in each of its domains
  bool stages_share_gpus = false;
  std::int64_t stage_gpus = 1;      // GPUs of one real stage
  ClusterSpec sub;                  // the simulated sub-cluster
  std::vector<char> free_position;  // per (domain, lane) offset in a stage's region: copies may go there

  int ranks_per_domain(const Comm& c) const;
  int base_domain(int s) const { return (s * block) % sim_domains; }
  int lane(int s) const { return ((s * block) / sim_domains * lane_width) % dom; }
  int rep_gpu(int s) const { return base_domain(s) * dom + lane(s); }
  int gpu_at(int s, int d, int j) const { return ((base_domain(s) + d) % sim_domains) * dom + (lane(s) + j) % dom; }
  bool free_at(int d, int j) const { return free_position[static_cast<std::size_t>(d) * lane_span + j] != 0; }
  // Instances of `c` a real stage runs at once.
  double instances_per_stage(const Comm& c) const;
  // Rank lists of the instances of `c` simulated on stage s, the representative first; empty when
  // the group does not fit the sub-cluster.
  std::vector<std::vector<int>> group_instances(const Comm& c, int s) const;
};

StepLayout lay_out_sub_cluster(const TrainingPlan& plan, const ClusterSpec& cluster);

// Per batch of a graph: the (flow group, resource) pairs its groups weigh on once the des engine
// has merged links whose capacity and (group, member flows) signature over the whole graph are the
// same (des_backend.cpp, merge_shared_links; signatures hashed here). What a transfer of that batch
// costs the engine at each rate update; copies of a symmetric collective add no resources.
class EngineEntries {
 public:
  explicit EngineEntries(const net::Topology& topo)
      : topo_(topo), sig_(topo.link_count(), 0), first_(topo.link_count(), 0) {}

  std::vector<double> per_batch(const net::TaskGraph& g);
  // Summed over the graph's transfer tasks.
  double work(const net::TaskGraph& g);

 private:
  const net::Topology& topo_;
  std::vector<std::uint64_t> sig_;
  std::vector<char> first_;
  std::vector<int> touched_;
};

// A collective built once on its own graph and copied into the step's graph for every execution.
struct Template {
  net::TaskGraph g;
  int end = -1;
  int batch_offset = -1;  // where its batches went in the step graph
  double extra_latency_s = 0;
  bool usable = true;  // false: the group did not fit the sub-cluster; a delay stands in
  double fallback_s = 0;
};

// Builds the stages' collectives (each instance beside its copies, or its analytical cost where
// it does not fit or is too heavy for the engine) and counts what they put on the links.
class InstanceBuilder {
 public:
  InstanceBuilder(const StepInputs& in, const StepLayout& lay, const net::Topology& topo, const AppliedAsymmetry& asym);

  // `executions` executions of c on stage s as one collective; `instances`: how often the step
  // copies the template (for the engine-work cap).
  Template collective(const Comm& c, int s, double executions, double instances);
  // The activation (or gradient) send from stage src to stage dst, built once per pair.
  Template& pipeline_send(int src, int dst);
  // The flow graphs shared by comms of one shape are no longer needed once the templates are built.
  void forget_shapes() { shapes_.clear(); }

  EngineEntries engine_entries;
  // Where link asymmetry sits under the representative only, its instances are no longer
  // symmetric with the copies: each instance then gets flow groups of its own.
  const bool separate_copies;
  std::vector<char> traffic_gpu;                   // GPUs some simulated instance runs on
  std::map<std::string, int> simulated_instances;  // per comm name: per stage, the least
  int pp_instances = 0;                            // pipeline sends per stage, the least
  std::set<std::string> fallbacks, heavy;          // comms whose analytical cost stands in

 private:
  // A flow graph for 1 byte, per stage and shape (op, group, placement, routing skew).
  struct Shape {
    net::TaskGraph g;
    int end = -1;
    double work = 0;  // engine_entries' work over the graph
  };
  Shape& shape(const Comm& c, int s, const std::vector<std::vector<int>>& inst);
  double skew_of(const Comm& c) const;
  // Skewed routing (asymmetry.expert_routing) is on: the busiest EP rank's traffic runs as its own flows.
  bool hot_routing() const;
  void count_instances(const std::string& name, int k);
  void fall_back(Template& t, const Comm& c, const CollectiveRequest& req, std::set<std::string>& reason);
  std::vector<std::pair<int, int>> pipeline_send_pairs(int src, int dst);
  net::Batch pipeline_send_batch(const std::vector<std::pair<int, int>>& pairs) const;

  const StepInputs& in_;
  const StepLayout& lay_;
  const net::Topology& topo_;
  const AppliedAsymmetry& asym_;
  const Comm* pp_comm_ = nullptr;
  std::map<std::tuple<int, std::string, int, int, double, bool>, Shape> shapes_;
  std::map<std::pair<int, int>, Template> pipeline_sends_;
};

// Whether c runs beside the compute (on the communication track) rather than blocking it.
bool overlapped(const Comm& c, const TrainingSettings& tr);

// One rank's compute and the templates of its collectives (step_schedule.cpp).
struct StageTemplates {
  std::vector<Template> mb;    // per comm (per-micro-batch comms): one phase's executions
  std::vector<Template> step;  // per comm (per-step comms)
  // Per pass (one chunk): F, B (activation gradients + recompute), W (weight gradients).
  double f = 0, b = 0, w = 0, opt = 0, contention_f = 0, contention_b = 0;
  // One micro-batch's whole work on this rank: forward, backward input, backward weight, recompute.
  double f_mb = 0, bi_mb = 0, bw_mb = 0, rc_mb = 0;
};

std::vector<StageTemplates> build_stage_templates(const StepInputs& in, InstanceBuilder& inst);

// A named interval of the step's graph on one stage's track: a trace span, and what the slowest
// stage's waits are attributed to.
struct Span {
  int first = -1, end = -1;  // task ids
  int stage = 0, tid = 0;
  std::string name, kind;  // kind: tp|cp|ep|pp|dp|compute|optimizer
  int comm = -1;           // index into plan.comms
};

// The step's task graph and its spans.
struct StepGraph {
  net::TaskGraph g;
  std::vector<Span> spans;
  std::map<int, int> span_of_end;  // end task -> span

  // Copies template t into the graph after `after` (its analytical delay where it is not usable);
  // returns its end task.
  int copy(Template& t, const std::vector<int>& after);
  // Names tasks first..end; returns end.
  int span(int first, int end, int stage, int tid, std::string name, std::string kind, int comm = -1);
};

// The step's task graph, every rank running its order, then its step end (step_schedule.cpp).
struct StepSchedule {
  StepGraph graph;
  std::vector<std::vector<int>> compute_tasks;  // per rank: its compute tasks, in order
  std::vector<int> opt_task;                    // per rank: its optimizer
  std::vector<int> ag_end;                      // per rank: its last parameter gather (-1: none)
};

StepSchedule build_step_schedule(const StepInputs& in, std::vector<StageTemplates>& st, InstanceBuilder& inst);

}  // namespace gwsim
