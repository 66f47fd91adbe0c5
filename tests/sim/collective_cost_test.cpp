// α-β collective costs against the nccl-tests and DeepEP figures their profiles cite.
#include <gtest/gtest.h>

#include <cmath>

#include "gwsim/common/paths.h"
#include "gwsim/cost/collective_cost.h"
#include "gwsim/hwmodels/catalogue.h"

using namespace gwsim;

TEST(CollectiveCost, BusFactorsFollowNcclTests) {
  EXPECT_DOUBLE_EQ(bus_factor("all_reduce", 8), 2.0 * 7 / 8);
  EXPECT_DOUBLE_EQ(bus_factor("all_gather", 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(bus_factor("all_to_all", 4), 3.0 / 4);
  EXPECT_DOUBLE_EQ(bus_factor("p2p", 2), 1.0);
}

TEST(CollectiveCost, LargeAllReduceOnEightH100ReachesTheProfileBusBandwidth) {
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  const auto& gpu = find_gpu("H100");
  auto profile = default_profile_for(gpu);
  auto c = collective_cost({"all_reduce", 8e9, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  const double expected =
      cluster.scaleup_per_direction_bps * profile.collective(LinkClass::scaleup, "all_reduce").bus_efficiency;
  EXPECT_NEAR(c.busbw_bps, expected, expected * 0.01);  // 8 GB: latency negligible
  // Published nccl-tests all-reduce on 8 H100 with NVLink SHARP (NCCL's pick for large messages):
  // ~480 GB/s bus bandwidth (published_cases.json nccl-h100-8gpu-allreduce).
  EXPECT_NEAR(c.busbw_bps / 1e9, 480, 480 * 0.15);
}

TEST(CollectiveCost, CrossNodeAllReduceIsHierarchicalAndSlowerThanInNode) {
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  auto profile = default_profile_for(find_gpu("H100"));
  auto in_node = collective_cost({"all_reduce", 1e9, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  auto across = collective_cost({"all_reduce", 1e9, 64, LinkClass::scaleout, 8, -1}, cluster, profile);
  EXPECT_EQ(across.algorithm, "hierarchical");
  EXPECT_GT(across.time_s, in_node.time_s);
}

TEST(CollectiveCost, SmallMessagesAreLatencyBound) {
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  auto profile = default_profile_for(find_gpu("H100"));
  auto tiny = collective_cost({"all_reduce", 8, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  EXPECT_NEAR(tiny.time_s, profile.collective(LinkClass::scaleup, "all_reduce").alpha_s, 1e-7);
}

TEST(CollectiveCost, RingGathersPayTheirStepsLatencyAcrossNodes) {
  // NCCL runs all-gather and reduce-scatter as rings: a tiny gather over 1024 GPUs (128 nodes of
  // 8) pays 7 NVLink steps inside the node and 127 NIC steps across nodes, each the link's α;
  // all-reduce keeps a tree's log depth.
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  auto profile = default_profile_for(find_gpu("H100"));
  const double up = profile.collective(LinkClass::scaleup, "all_gather").alpha_s;
  const double out = profile.collective(LinkClass::scaleout, "all_gather").alpha_s;
  auto gather = collective_cost({"all_gather", 8, 1024, LinkClass::scaleout, 8, -1}, cluster, profile);
  EXPECT_NEAR(gather.time_s, 7 * up + 127 * out, 1e-9);
  auto in_node = collective_cost({"reduce_scatter", 8, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  EXPECT_NEAR(in_node.time_s, 7 * profile.collective(LinkClass::scaleup, "reduce_scatter").alpha_s, 1e-9);
  // Hierarchical all-reduce: the in-node reduce-scatter and all-gather rings, and a tree across
  // the 128 nodes.
  auto reduce = collective_cost({"all_reduce", 8, 1024, LinkClass::scaleout, 8, -1}, cluster, profile);
  EXPECT_NEAR(reduce.time_s,
              2 * 7 * profile.collective(LinkClass::scaleup, "reduce_scatter").alpha_s +
                  profile.collective(LinkClass::scaleout, "all_reduce").alpha_s * std::log2(128) / 3,
              1e-9);
}
