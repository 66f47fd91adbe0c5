// Multiplicity: the concurrent instances of a collective (CollectiveSpec::copies) load the links they
// share with the representative's, and a training step places its stage's instances beside the
// representative and says how many it simulated of how many the stage runs.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/network/collective.h"
#include "gwsim/sim/engines/des/training_step.h"
#include "gwsim/sim/report/report.h"
#include "test_clusters.h"

using namespace gwsim;
using namespace gwsim::net;

namespace {

// GPU at local index `lane` of node `node` (8 GPUs per node).
int gpu(int node, int lane) { return node * 8 + lane; }

// One rank per node on `nodes` nodes, at local index `lane`.
std::vector<int> across_nodes(int nodes, int lane) {
  std::vector<int> r;
  for (int n = 0; n < nodes; ++n) r.push_back(gpu(n, lane));
  return r;
}

// `per_node` consecutive local indices from `first_lane` on nodes [first_node, first_node + nodes).
std::vector<int> block(int first_node, int nodes, int first_lane, int per_node) {
  std::vector<int> r;
  for (int n = first_node; n < first_node + nodes; ++n)
    for (int j = 0; j < per_node; ++j) r.push_back(gpu(n, first_lane + j));
  return r;
}

CollectiveSpec spec_of(const std::string& op, const std::string& algo, double bytes, std::vector<int> ranks,
                       std::vector<std::vector<int>> copies, bool aggregate) {
  CollectiveSpec s;
  s.op = op;
  s.algorithm = algo;
  s.bytes = bytes;
  s.ranks = std::move(ranks);
  s.copies = std::move(copies);
  s.aggregate = aggregate;
  return s;
}

double run_time(const ClusterSpec& c, const CollectiveSpec& s, const std::string& backend = "des") {
  Topology t(c, 1, Ecmp::dmodk);
  auto b = make_backend(backend);
  return simulate_collective(t, h100_profile(), s, *b).time_s;
}

// The most member flows any scale-out link carries in the collective's graph.
double max_scaleout_count(const ClusterSpec& c, const CollectiveSpec& s) {
  Topology t(c, 1, Ecmp::dmodk);
  TaskGraph g;
  append_collective(g, t, h100_profile(), s, {}, false);
  double most = 0;
  for (const auto& b : g.batches)
    for (const auto& grp : b.groups)
      for (const auto& [l, k] : grp.link_flows)
        if (t.link(l).link_class == LinkClass::scaleout) most = std::max(most, k);
  return most;
}

// 4 nodes of 8 GPUs on a two-tier fat tree. Non-blocking (radix 16): a leaf holds one node and has
// 8 spine uplinks. 4:1 (radix 20): a leaf holds two nodes (16 NICs) and has 4 uplinks.
ClusterSpec four_nodes(bool oversubscribed) {
  auto c = test_cluster(32, FabricKind::fat_tree, oversubscribed ? 20 : 16);
  c.fabric.oversubscription = oversubscribed ? 4 : 1;
  return c;
}

}  // namespace

// (a) Two instances of a ring all-reduce over the same 4 nodes, on local GPUs 0 and 4. D-mod-k
// sends a flow up the spine its destination's leaf port selects (port mod uplinks): non-blocking,
// ports 0 and 4 of 8 uplinks, the two rings never meet above the NICs and take the time of one;
// 4:1, ports 0 and 4 of 4 uplinks, the two rings' leaf-crossing flows share every spine link they
// use, two on a link, and (bandwidth part) take twice as long.
TEST(Multiplicity, RingCopiesShareOnlyOversubscribedUplinks) {
  const double bytes = 1e9;
  for (bool over : {false, true}) {
    const auto c = four_nodes(over);
    auto one = spec_of("all_reduce", "ring", bytes, across_nodes(4, 0), {}, true);
    auto two = spec_of("all_reduce", "ring", bytes, across_nodes(4, 0), {across_nodes(4, 4)}, true);
    // The bandwidth part: the time less the time of a 1-byte collective (α-β: linear in bytes).
    auto tiny = [](CollectiveSpec s) {
      s.bytes = 1;
      return s;
    };
    const double t1 = run_time(c, one) - run_time(c, tiny(one));
    const double t2 = run_time(c, two) - run_time(c, tiny(two));
    const double predicted = max_scaleout_count(c, two) / max_scaleout_count(c, one);
    std::cout << fmt::format(
        "  {}: one ring {:.6f} s, two {:.6f} s (bandwidth part), x{:.4f}; link counts predict x{}\n",
        over ? "4:1" : "non-blocking", t1, t2, t2 / t1, predicted);
    if (!over) {
      EXPECT_EQ(predicted, 1);
      EXPECT_NEAR(t2 / t1, 1.0, 1e-9);
    } else {
      EXPECT_EQ(predicted, 2);
      EXPECT_NEAR(t2 / t1, predicted, 1e-6);
    }
    // The joined groups count both rings' flows.
    Topology t(c, 1, Ecmp::dmodk);
    TaskGraph g1, g2;
    append_collective(g1, t, h100_profile(), one, {}, false);
    append_collective(g2, t, h100_profile(), two, {}, false);
    EXPECT_DOUBLE_EQ(g2.flow_count(), 2 * g1.flow_count());
    EXPECT_EQ(g2.batches.size(), g1.batches.size());  // no extra batches or groups: the copies joined
    for (std::size_t b = 0; b < g1.batches.size(); ++b)
      EXPECT_EQ(g2.batches[b].groups.size(), g1.batches[b].groups.size());
  }
}

// (b) des against SimGrid with copies on a 4:1 tree of 8 nodes (4 leaves of 2 nodes, 4 uplinks
// each): a ring all-reduce of 2 ranks per node (2 NCCL channels) in 4 instances on local GPUs
// {0,1}, {2,3}, {4,5}, {6,7}; a direct all-to-all of 4 nodes x 4 GPUs in 4 instances.
TEST(Multiplicity, DesMatchesSimgridWithCopies) {
  auto c = test_cluster(64, FabricKind::fat_tree, 20);
  c.fabric.oversubscription = 4;
  struct Case {
    std::string op, algo;
    double bytes;
    std::vector<int> ranks;
    std::vector<std::vector<int>> copies;
  };
  const std::vector<Case> cases = {
      {"all_reduce", "ring", 256e6, block(0, 8, 0, 2), {block(0, 8, 2, 2), block(0, 8, 4, 2), block(0, 8, 6, 2)}},
      {"all_to_all", "direct", 64e6, block(0, 4, 0, 4), {block(0, 4, 4, 4), block(4, 4, 0, 4), block(4, 4, 4, 4)}},
      {"all_reduce", "hierarchical", 256e6, block(0, 4, 0, 4), {block(4, 4, 0, 4), block(0, 4, 4, 4)}},
  };
  for (const auto& k : cases) {
    const double agg = run_time(c, spec_of(k.op, k.algo, k.bytes, k.ranks, k.copies, true));
    const double flows = run_time(c, spec_of(k.op, k.algo, k.bytes, k.ranks, k.copies, false));
    const double sg = run_time(c, spec_of(k.op, k.algo, k.bytes, k.ranks, k.copies, false), "simgrid");
    const double alone = run_time(c, spec_of(k.op, k.algo, k.bytes, k.ranks, {}, true));
    std::cout << fmt::format(
        "  {} {} x{}: des {:.6f} s (per flow {:.6f} s), simgrid {:.6f} s ({:+.2f}%); one instance "
        "alone {:.6f} s\n",
        k.op, k.algo, 1 + k.copies.size(), agg, flows, sg, 100 * (agg / sg - 1), alone);
    EXPECT_LT(std::abs(agg - sg) / sg, 0.03) << k.op << " " << k.algo;
    EXPECT_LT(std::abs(flows - sg) / sg, 0.03) << k.op << " " << k.algo;
    EXPECT_GT(agg, alone * 1.05) << k.op << " " << k.algo << ": the instances contend on the 4:1 uplinks";
  }
}

// (c) Joining is exact. Per flow, a spec with copies is the same flows and dependencies as the
// instances appended one by one into one graph: the same time to the last bit. Aggregated, joining
// the symmetric instances' flows into one set of groups gives the time of every instance in groups
// of its own (separate_copies), and of the instances appended as separate collectives.
TEST(Multiplicity, JoinedCopiesEqualSeparateCollectives) {
  auto c = test_cluster(64, FabricKind::fat_tree, 20);
  c.fabric.oversubscription = 4;
  Topology t(c, 1, Ecmp::dmodk);
  auto des = make_backend("des");
  struct Case {
    std::string op, algo;
    std::vector<int> ranks;
    std::vector<std::vector<int>> copies;
  };
  const std::vector<Case> cases = {
      {"all_reduce", "ring", across_nodes(8, 0), {across_nodes(8, 1), across_nodes(8, 4), across_nodes(8, 5)}},
      {"all_to_all", "direct", block(0, 4, 0, 4), {block(0, 4, 4, 4), block(4, 4, 0, 4), block(4, 4, 4, 4)}},
      {"all_reduce", "tree", across_nodes(8, 0), {across_nodes(8, 4)}},
      {"all_to_all", "hierarchical", block(0, 4, 0, 4), {block(4, 4, 0, 4)}},
  };
  for (const auto& k : cases) {
    auto with_copies = [&](bool aggregate, bool separate) {
      TaskGraph g;
      auto s = spec_of(k.op, k.algo, 64e6, k.ranks, k.copies, aggregate);
      s.separate_copies = separate;
      append_collective(g, t, h100_profile(), s, {}, false);
      return des->execute(t, g).makespan_s;
    };
    auto one_by_one = [&](bool aggregate) {
      TaskGraph g;
      append_collective(g, t, h100_profile(), spec_of(k.op, k.algo, 64e6, k.ranks, {}, aggregate), {}, false);
      for (const auto& copy : k.copies)
        append_collective(g, t, h100_profile(), spec_of(k.op, k.algo, 64e6, copy, {}, aggregate), {}, false);
      return des->execute(t, g).makespan_s;
    };
    const double flows_joined = with_copies(false, false), flows_apart = one_by_one(false);
    const double joined = with_copies(true, false), separate = with_copies(true, true), apart = one_by_one(true);
    std::cout << fmt::format(
        "  {} {}: per flow {:.9f} s vs one by one {:.9f} s; aggregated joined {:.9f} s, separate "
        "{:.9f} s, one by one {:.9f} s\n",
        k.op, k.algo, flows_joined, flows_apart, joined, separate, apart);
    EXPECT_DOUBLE_EQ(flows_joined, flows_apart) << k.op << " " << k.algo;
    EXPECT_NEAR(joined, separate, 1e-9 * separate) << k.op << " " << k.algo;
    EXPECT_NEAR(joined, apart, 1e-9 * apart) << k.op << " " << k.algo;
  }
}

// Copies must be the main instance's size and shape, and not reuse its GPUs.
TEST(Multiplicity, BadCopiesAreRefused) {
  const auto c = four_nodes(false);
  Topology t(c, 1, Ecmp::dmodk);
  auto expect_refused = [&](std::vector<std::vector<int>> copies) {
    TaskGraph g;
    EXPECT_THROW(
        append_collective(g, t, h100_profile(),
                          spec_of("all_reduce", "ring", 1e6, across_nodes(4, 0), std::move(copies), true), {}, false),
        InputError);
  };
  expect_refused({{gpu(0, 1), gpu(1, 1), gpu(2, 1)}});             // 3 ranks, the main instance 4
  expect_refused({{gpu(0, 1), gpu(1, 1), gpu(2, 1), gpu(0, 0)}});  // GPU 0 is the main instance's
  expect_refused({{gpu(0, 1), gpu(0, 2), gpu(2, 1), gpu(3, 1)}});  // two ranks in one domain
  expect_refused({{gpu(0, 1), gpu(1, 1), gpu(2, 1), gpu(3, 1)}, {gpu(0, 1), gpu(1, 2), gpu(2, 2), gpu(3, 2)}});
}

// (d) DeepSeek-V3 on 2048 H800s, PP16: a stage is 128 GPUs (16 nodes). Its 2 EP64 groups, its one
// DP128 group, its 64 expert-DP groups of 2 and its 128 pipeline sends all fit the stage's block,
// and the report lists them.
TEST(Multiplicity, DeepSeekV3StageInstances) {
  const auto sc = load_scenario(data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json");
  const auto plan = plan_training(sc.model, sc.parallelism, sc.training, sc.cluster, sc.gpu, sc.file);
  const auto r = simulate_training_step(plan, sc, "des", false);
  std::map<std::string, CommInstances> by_name;
  for (const auto& i : r.instances) {
    std::cout << fmt::format("  {} ({}, {} GPUs): {} of {} per stage\n", i.name, i.kind, i.group, i.simulated,
                             i.per_stage);
    by_name[i.name] = i;
  }
  ASSERT_EQ(by_name.count("ep_dispatch"), 1u);
  EXPECT_EQ(by_name["ep_dispatch"].simulated, 2);
  EXPECT_EQ(by_name["ep_dispatch"].per_stage, 2);
  EXPECT_EQ(by_name["ep_combine"].simulated, 2);
  EXPECT_EQ(by_name["dp_grad_reduce_scatter"].simulated, 1);
  EXPECT_EQ(by_name["dp_grad_reduce_scatter"].per_stage, 1);
  EXPECT_EQ(by_name["dp_experts_grad_reduce_scatter"].simulated, 64);
  EXPECT_EQ(by_name["dp_experts_grad_reduce_scatter"].per_stage, 64);
  EXPECT_EQ(by_name["pp_send_recv"].simulated, 128);
  EXPECT_EQ(by_name["pp_send_recv"].per_stage, 128);
  EXPECT_EQ(r.traffic_gpus, 2048);  // every GPU of the cluster carries some instance's flows
  EXPECT_EQ(r.simulated_ranks, 16);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("ep_dispatch 2 of 2") != std::string::npos;
  EXPECT_TRUE(noted);
}

// On a non-blocking fabric the other instances change nothing; at 4:1 they share the leaf uplinks
// with the representative's flows and the step slows, the extra time exposed communication.
TEST(Multiplicity, DeepSeekV3OversubscribedStepSlowsWithItsCopies) {
  const auto path = data_dir() + "/scenarios/deepseek-v3-pretrain-2048xh800.json";
  const auto flat = run_training(load_scenario(path), "des");
  const auto over = run_training(load_scenario(path, {"cluster.fabric.oversubscription=4"}), "des");
  const auto ana = run_training(load_scenario(path, {"cluster.fabric.oversubscription=4"}), "analytical");
  auto exposed = [](const TrainingRun& r) {
    double e = 0;
    for (const char* k : {"tp", "cp", "ep", "pp", "dp"}) e += r.step.breakdown_s.at(std::string("exposed_comm_") + k);
    return e;
  };
  std::cout << fmt::format(
      "  DeepSeek-V3: non-blocking {:.3f} s (exposed comm {:.3f} s), 4:1 {:.3f} s (exposed comm "
      "{:.3f} s: ep {:.3f}, pp {:.3f}), analytical 4:1 {:.3f} s\n",
      flat.step.step_time_s, exposed(flat), over.step.step_time_s, exposed(over),
      over.step.breakdown_s.at("exposed_comm_ep"), over.step.breakdown_s.at("exposed_comm_pp"), ana.step.step_time_s);
  EXPECT_GT(over.step.step_time_s, flat.step.step_time_s * 1.05);
  EXPECT_GT(exposed(over) - exposed(flat), 0.5 * (over.step.step_time_s - flat.step.step_time_s));
}

// Two instances between the same two pods of a non-blocking three-tier fat tree, from different
// leaves to different leaves: D-mod-k should spread them over the cores as over the spines, and
// they take the time of one. (A regression test: D-mod-k's core choice once took the destination's
// port on its leaf / uplinks, 0 whenever a leaf has no more down ports than uplinks, so every flow
// into another pod climbed to the same core and the two instances shared one spine->core link.)
TEST(Multiplicity, ThreeTierCoresSpreadCopies) {
  // Radix 8, 1:1: a leaf holds 4 NICs (half a node) under 4 spines; a pod is 4 leaves (2 nodes).
  auto c = test_cluster(32, FabricKind::fat_tree, 8);
  c.fabric.tiers = 3;
  auto one = spec_of("all_reduce", "ring", 1e9, {gpu(0, 0), gpu(2, 0)}, {}, true);
  auto two = spec_of("all_reduce", "ring", 1e9, {gpu(0, 0), gpu(2, 0)}, {{gpu(0, 4), gpu(2, 4)}}, true);
  EXPECT_EQ(max_scaleout_count(c, two), 1);
  EXPECT_NEAR(run_time(c, two) / run_time(c, one), 1.0, 1e-9);
}
