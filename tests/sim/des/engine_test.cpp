// The des engine on hand-checkable cases: α-β of one flow, max-min sharing, flow groups equal to
// their explicit flows, merged symmetric links equal to unmerged ones, determinism.
#include <gtest/gtest.h>

#include "gwsim/network/backend.h"
#include "test_clusters.h"

using namespace gwsim;
using namespace gwsim::net;

namespace {

double run(const Topology& t, const TaskGraph& g) { return make_backend("des")->execute(t, g).makespan_s; }

}  // namespace

TEST(DesEngine, OneFlowIsLatencyPlusBytesOverBandwidth) {
  Topology t(test_cluster(16, FabricKind::fat_tree, 16));
  TaskGraph g;
  auto grp = make_group(t, {{0, 1}});
  const double lat = grp.latency_s;
  EXPECT_NEAR(lat, 3e-6, 1e-12);
  g.add_transfer(g.add_batch({{grp}}), 450e6, {});
  EXPECT_NEAR(run(t, g), lat + 1e-3, 1e-9);
}

TEST(DesEngine, FlowsIntoOneGpuShareItsLinkMaxMinFairly) {
  Topology t(test_cluster(16, FabricKind::fat_tree, 16));
  TaskGraph g;
  // 0->2 and 1->2 share nvs->gpu2; 3->4 is alone. 2 x 450 MB into GPU 2 take 2 ms; 3->4 1 ms.
  Batch b;
  b.groups = {make_group(t, {{0, 2}}), make_group(t, {{1, 2}}), make_group(t, {{3, 4}})};
  const int bt = g.add_batch(b);
  const int x = g.add_transfer(bt, 450e6, {});
  auto r = make_backend("des")->execute(t, g);
  EXPECT_NEAR(r.finish_s[x], 3e-6 + 2e-3, 1e-8);
  // The lone flow finished earlier: every link of its path carried its 450 MB.
  std::vector<int> path;
  t.route(3, 4, path);
  for (int id : path) EXPECT_NEAR(r.link_bytes[id], 450e6, 1);
}

TEST(DesEngine, UnequalSharingFreesBandwidthWhenAFlowEnds) {
  Topology t(test_cluster(16, FabricKind::fat_tree, 16));
  TaskGraph g;
  const int small = g.add_transfer(g.add_batch({{make_group(t, {{0, 2}})}}), 225e6, {});
  const int big = g.add_transfer(g.add_batch({{make_group(t, {{1, 2}})}}), 675e6, {});
  auto r = make_backend("des")->execute(t, g);
  // Both at 225 GB/s until the small one ends at 1 ms; the big one then has 450 MB left at 450 GB/s.
  EXPECT_NEAR(r.finish_s[small] - 3e-6, 1e-3, 1e-8);
  EXPECT_NEAR(r.finish_s[big] - 3e-6, 2e-3, 1e-8);
}

TEST(DesEngine, AGroupBehavesLikeItsExplicitFlows) {
  Topology t(test_cluster(64, FabricKind::fat_tree, 16));
  std::vector<std::pair<int, int>> pairs;
  for (int s = 0; s < 64; ++s) pairs.push_back({s, (s + 8) % 64});
  TaskGraph one, many;
  one.add_transfer(one.add_batch({{make_group(t, pairs)}}), 1e8, {});
  Batch b;
  for (const auto& p : pairs) b.groups.push_back(make_group(t, {p}));
  many.add_transfer(many.add_batch(b), 1e8, {});
  EXPECT_NEAR(run(t, one), run(t, many), 1e-9);
  Batch merged{{make_group(t, pairs)}, true};
  TaskGraph m;
  m.add_transfer(m.add_batch(merged), 1e8, {});
  auto r = make_backend("des")->execute(t, m);
  EXPECT_NEAR(r.makespan_s, run(t, one), 1e-9);
  EXPECT_EQ(r.variables, 1);
}

TEST(DesEngine, DelaysAndDependenciesChain) {
  Topology t(test_cluster(8, FabricKind::fat_tree, 16));
  TaskGraph g;
  const int a = g.add_delay(1e-3, {});
  const int b = g.add_delay(2e-3, {});
  const int c = g.add_transfer(g.add_batch({{make_group(t, {{0, 1}})}}), 450e6, {a, b});
  auto r = make_backend("des")->execute(t, g);
  EXPECT_NEAR(r.start_s[c], 2e-3, 1e-12);
  EXPECT_NEAR(r.finish_s[c], 2e-3 + 3e-6 + 1e-3, 1e-9);
}

TEST(DesEngine, SimgridAgreesOnTheHandCheckedCase) {
  Topology t(test_cluster(16, FabricKind::fat_tree, 16));
  TaskGraph g;
  g.add_transfer(g.add_batch({{make_group(t, {{0, 2}})}}), 225e6, {});
  g.add_transfer(g.add_batch({{make_group(t, {{1, 2}})}}), 675e6, {g.add_delay(1e-4, {})});
  const double des = make_backend("des")->execute(t, g).makespan_s;
  const double sg = make_backend("simgrid")->execute(t, g).makespan_s;
  EXPECT_NEAR(sg, des, des * 1e-6);
}
