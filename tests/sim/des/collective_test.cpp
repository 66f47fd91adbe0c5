// Collectives on the network: des (flow groups over symmetric flows) against SimGrid (one flow per
// GPU pair) on the same topology, and against the published nccl-tests / DeepEP figures.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>

#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/network/collective.h"
#include "test_clusters.h"

using namespace gwsim;
using namespace gwsim::net;

namespace {

CollectiveResult run(const ClusterSpec& c, const std::string& backend, const std::string& op, double bytes,
                     const std::string& algorithm, bool aggregate, Ecmp ecmp = Ecmp::hash) {
  Topology t(c, 1, ecmp);
  CollectiveSpec s;
  s.op = op;
  s.bytes = bytes;
  s.algorithm = algorithm;
  s.aggregate = aggregate;
  s.nvls_capable = true;
  auto b = make_backend(backend);
  return simulate_collective(t, h100_profile(), s, *b);
}

// des vs SimGrid with every flow on its own: must agree within 3%. des with symmetric flows grouped
// must agree too when the routing is symmetric (rings, D-mod-k); under hash ECMP an all-to-all's
// flows collide unequally and grouping them is only a conservative bound, reported, not asserted.
void expect_agreement(const ClusterSpec& c, const std::string& op, double bytes, const std::string& algo,
                      Ecmp ecmp = Ecmp::hash) {
  const bool symmetric = op != "all_to_all" || ecmp == Ecmp::dmodk || algo == "hierarchical";
  auto t0 = std::chrono::steady_clock::now();
  const auto des = run(c, "des", op, bytes, algo, true, ecmp);
  auto t1 = std::chrono::steady_clock::now();
  const auto des_flows = run(c, "des", op, bytes, algo, false, ecmp);
  auto t2 = std::chrono::steady_clock::now();
  const auto sg = run(c, "simgrid", op, bytes, algo, false, ecmp);
  auto t3 = std::chrono::steady_clock::now();
  std::cout << fmt::format(
      "  wall: des {:.2f} s, des per flow {:.2f} s, simgrid {:.2f} s\n", std::chrono::duration<double>(t1 - t0).count(),
      std::chrono::duration<double>(t2 - t1).count(), std::chrono::duration<double>(t3 - t2).count());
  const double err = std::abs(des.time_s - sg.time_s) / sg.time_s;
  std::cout << fmt::format("  {} {} {} GPUs: des {:.6f} s (flows: {:.6f} s), simgrid {:.6f} s, {:+.2f}%\n", op, algo,
                           c.gpus, des.time_s, des_flows.time_s, sg.time_s, 100 * (des.time_s / sg.time_s - 1));
  if (symmetric) {
    EXPECT_LT(err, 0.03) << op << " " << algo << " on " << c.gpus << " GPUs";
  }
  EXPECT_LT(std::abs(des_flows.time_s - sg.time_s) / sg.time_s, 0.03);
}

}  // namespace

TEST(CollectiveDesVsSimgrid, RingAllReduce) {
  expect_agreement(test_cluster(8, FabricKind::fat_tree, 64), "all_reduce", 256e6, "ring");
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_reduce", 256e6, "ring");
  auto c = test_cluster(512, FabricKind::rail_optimized, 64);
  c.nics_per_node = 1;  // one ring: 512 x 1022 flows for SimGrid
  expect_agreement(c, "all_reduce", 256e6, "ring");
}

TEST(CollectiveDesVsSimgrid, AllToAllHashEcmp) {
  expect_agreement(test_cluster(8, FabricKind::fat_tree, 64), "all_to_all", 64e6, "direct");
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_to_all", 64e6, "direct");
}

TEST(CollectiveDesVsSimgrid, AllToAllDmodk) {
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_to_all", 64e6, "direct", Ecmp::dmodk);
  expect_agreement(test_cluster(128, FabricKind::rail_optimized, 32), "all_to_all", 64e6, "direct", Ecmp::dmodk);
}

// SimGrid takes about a minute here (65,280 flows posted at once).
TEST(CollectiveDesVsSimgrid, AllToAll256OversubscribedDmodk) {
  auto c = test_cluster(256, FabricKind::fat_tree, 32);
  c.fabric.oversubscription = 3;  // spines contended
  expect_agreement(c, "all_to_all", 64e6, "direct", Ecmp::dmodk);
}

TEST(CollectiveDesVsSimgrid, OtherAlgorithms) {
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_reduce", 256e6, "hierarchical");
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_reduce", 256e6, "tree");
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_to_all", 64e6, "hierarchical");
  expect_agreement(test_cluster(8, FabricKind::fat_tree, 16), "all_reduce", 256e6, "nvls");
  expect_agreement(test_cluster(64, FabricKind::fat_tree, 16), "all_reduce", 256e6, "sharp");
}

TEST(CollectiveAlgorithms, SharpSendsEachShardOnceAcrossTheFabric) {
  // Between the domains a ring moves 2(d-1)/d shards through every NIC, SHARP one (the switches
  // reduce): on 8 domains the inter-domain phase is 1.75x faster. Both share the in-domain phases,
  // so the difference of the two times is 0.75 inter-domain phases.
  const auto c = test_cluster(64, FabricKind::fat_tree, 16);
  const double bytes = 4e9;
  const auto ring = run(c, "des", "all_reduce", bytes, "hierarchical", true, Ecmp::dmodk);
  const auto sharp = run(c, "des", "all_reduce", bytes, "sharp", true, Ecmp::dmodk);
  // The inter-domain phase of SHARP: each NIC moves bytes / 8 once at the profile's scale-out
  // all-reduce efficiency.
  const double eff = h100_profile().collective(LinkClass::scaleout, "all_reduce").bus_efficiency;
  const double phase = bytes / 8 / (c.nic_bps * eff);
  std::cout << fmt::format("  hierarchical ring {:.4f} s, sharp {:.4f} s, inter-domain phase {:.4f} s\n", ring.time_s,
                           sharp.time_s, phase);
  EXPECT_LT(sharp.time_s, ring.time_s);
  EXPECT_NEAR(ring.time_s - sharp.time_s, 0.75 * phase, 0.02 * phase);
  EXPECT_THROW(run(test_cluster(8, FabricKind::fat_tree, 16), "des", "all_reduce", bytes, "sharp", true, Ecmp::dmodk),
               InputError);
}

// Published figures (../shared/validation/published_cases.json), within 15%.
TEST(CollectivePublished, EightH100AllReduce) {
  auto c = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  c.gpus = 8;
  const auto nvls = run(c, "des", "all_reduce", 8e9, "auto", true);
  EXPECT_EQ(nvls.algorithm, "nvls");
  EXPECT_NEAR(nvls.busbw_bps / 1e9, 480, 480 * 0.15);  // nccl-h100-8gpu-allreduce, NVLS
  const auto ring = run(c, "des", "all_reduce", 8e9, "ring", true);
  EXPECT_NEAR(ring.busbw_bps / 1e9, 370, 370 * 0.15);  // same case, ring
}

TEST(CollectivePublished, RingAcrossTwoNodesRunsAtTheNicRate) {
  // nccl-400g-ndr-per-nic: 46-48 GB/s per 400G NIC with NCCL_ALGO=RING on 2 nodes.
  auto c = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  c.gpus = 16;
  const auto r = run(c, "des", "all_reduce", 8e9, "ring", true);
  const double per_nic = r.busbw_bps / c.nics_per_node / 1e9;
  EXPECT_NEAR(per_nic, 47, 47 * 0.15);
}

TEST(CollectivePublished, DeepEpInternodeDispatch) {
  // deepep-normal-h800 internode EP16-64: 43-58 GB/s of RDMA bandwidth per GPU (~47).
  auto c = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  auto profile = default_profile_for(find_gpu(c.gpu_name));
  for (int gpus : {16, 32, 64}) {
    c.gpus = gpus;
    Topology t(c, 1);
    CollectiveSpec s;
    s.op = "all_to_all";
    s.bytes = 4096.0 * 8 * 7168 * gpus / 8;  // 4096 tokens x top-8 x 7168 hidden, FP8, spread evenly
    s.algorithm = "hierarchical";
    auto b = make_backend("des");
    const auto r = simulate_collective(t, profile, s, *b);
    const double rdma_bytes = s.bytes * (gpus - 8) / gpus;  // what leaves the node per GPU
    const double rdma_gbs = rdma_bytes / r.time_s / 1e9;
    std::cout << fmt::format("  DeepEP-style dispatch EP{}: {:.1f} GB/s RDMA per GPU\n", gpus, rdma_gbs);
    EXPECT_NEAR(rdma_gbs, 47, 47 * 0.15);
  }
}
