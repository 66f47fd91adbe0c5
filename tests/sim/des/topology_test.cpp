// The cluster graph: device and link counts, routes that are shortest paths, ECMP determinism.
#include <gtest/gtest.h>

#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/network/topology.h"
#include "test_clusters.h"

using namespace gwsim;
using namespace gwsim::net;

TEST(Topology, FatTreeHasTheExpectedDevicesAndLinks) {
  // 64 GPUs, 8 per node, 8 NICs per node, radix 16 non-blocking: 8 down ports per leaf -> 8
  // leaves, 8 spines.
  auto c = test_cluster(64, FabricKind::fat_tree, 16);
  Topology t(c);
  int gpus = 0, nvs = 0, nics = 0, leaves = 0, spines = 0;
  for (int v = 0; v < t.vertex_count(); ++v) switch (t.vertex(v).kind) {
      case VertexKind::gpu:
        ++gpus;
        break;
      case VertexKind::nvswitch:
        ++nvs;
        break;
      case VertexKind::nic:
        ++nics;
        break;
      case VertexKind::leaf:
        ++leaves;
        break;
      case VertexKind::spine:
        ++spines;
        break;
      case VertexKind::core:
        break;
    }
  EXPECT_EQ(gpus, 64);
  EXPECT_EQ(nvs, 8);
  EXPECT_EQ(nics, 64);
  EXPECT_EQ(leaves, 8);
  EXPECT_EQ(spines, 8);
  // Directed links: GPU<->NVS, GPU<->NIC, NIC<->leaf (2 each per GPU), leaf<->spine.
  EXPECT_EQ(t.link_count(), 64 * 6 + 8 * 8 * 2);
}

TEST(Topology, RoutesAreShortestPathsAndDeterministic) {
  for (auto kind : {FabricKind::fat_tree, FabricKind::rail_optimized}) {
    auto c = test_cluster(128, kind, 16);
    Topology t(c, 7);
    std::vector<int> p, q;
    for (int s = 0; s < 128; s += 5)
      for (int d = 0; d < 128; d += 3) {
        if (s == d) continue;
        t.route(s, d, p);
        ASSERT_FALSE(p.empty());
        EXPECT_EQ(t.link(p.front()).src, t.gpu_vertex(s));
        EXPECT_EQ(t.link(p.back()).dst, t.gpu_vertex(d));
        for (std::size_t i = 1; i < p.size(); ++i) EXPECT_EQ(t.link(p[i - 1]).dst, t.link(p[i]).src);
        EXPECT_EQ(static_cast<int>(p.size()), t.graph_distance(t.gpu_vertex(s), t.gpu_vertex(d)));
        t.route(s, d, q);
        EXPECT_EQ(p, q);
      }
  }
}

TEST(Topology, EcmpSpreadsPairsOverSpines) {
  auto c = test_cluster(128, FabricKind::fat_tree, 16);
  Topology t(c, 1);
  std::vector<int> p;
  std::map<int, int> uses;
  for (int s = 0; s < 8; ++s)  // leaf 0's GPUs (one node)
    for (int d = 64; d < 128; ++d) {
      t.route(s, d, p);
      uses[p[2]]++;  // leaf -> spine
    }
  EXPECT_EQ(uses.size(), 8u);                        // every uplink used
  for (const auto& [l, k] : uses) EXPECT_GT(k, 20);  // 512 pairs over 8 uplinks, none starved
}

TEST(Topology, MultiPlaneCrossesPlanesOverNvlink) {
  auto c = test_cluster(32, FabricKind::multi_plane_fat_tree, 8);
  c.fabric.planes = 8;
  Topology t(c);
  std::vector<int> p;
  t.route(0, 9, p);  // GPU 0 (plane 0) to GPU 9 of node 1 (plane 1): PXN via GPU 1
  ASSERT_GE(p.size(), 6u);
  EXPECT_EQ(t.link(p[0]).link_class, LinkClass::scaleup);
  EXPECT_EQ(t.vertex(t.link(p[1]).dst).index, 1);
  for (std::size_t i = 2; i < p.size(); ++i) {
    const auto& v = t.vertex(t.link(p[i]).dst);
    if (v.kind != VertexKind::gpu) {
      EXPECT_EQ(v.plane, 1);
    }
  }
}

TEST(Topology, ThreeTierRoutesClimbToTheCore) {
  auto c = test_cluster(256, FabricKind::fat_tree, 8);
  c.fabric.tiers = 3;
  Topology t(c);
  std::vector<int> p;
  t.route(0, 255, p);
  bool core = false;
  for (int id : p) core |= t.vertex(t.link(id).dst).kind == VertexKind::core;
  EXPECT_TRUE(core);
  EXPECT_EQ(static_cast<int>(p.size()), t.graph_distance(t.gpu_vertex(0), t.gpu_vertex(255)));
}
