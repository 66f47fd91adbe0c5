// Cluster descriptions: shipped files load, defaults come from the GPU, units convert, and every
// impossible value names its JSON path.
#include <gtest/gtest.h>

#include <filesystem>

#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "test_util.h"

namespace fs = std::filesystem;
using gwsim::test::input_error_of;

namespace gwsim {
namespace {

ClusterSpec parse(const std::string& text) {
  nlohmann::json j = parse_json_text(text, "cluster.json");
  return parse_cluster(JsonObject(j, "cluster.json", "$"));
}

TEST(Cluster, ShippedFilesLoad) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(data_dir() + "/hwmodels/data/clusters")) {
    SCOPED_TRACE(e.path().string());
    ClusterSpec c = load_cluster_file(e.path().string());
    EXPECT_EQ(c.name, e.path().stem().string());
    EXPECT_FALSE(c.source.empty());
    ++n;
  }
  EXPECT_GE(n, 6);
}

TEST(Cluster, DeepSeekClusterNumbers) {
  ClusterSpec c = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  EXPECT_EQ(c.gpu_name, "H800-SXM");
  EXPECT_EQ(c.nodes(), 256);
  EXPECT_DOUBLE_EQ(c.scaleup_per_direction_bps, 200e9);  // 400 GB/s bidirectional NVLink
  EXPECT_DOUBLE_EQ(c.nic_bps, 50e9);                     // 400 Gb/s -> 50 GB/s
  EXPECT_DOUBLE_EQ(c.scaleout_per_gpu_bps(), 50e9);
  EXPECT_EQ(c.fabric.kind, FabricKind::multi_plane_fat_tree);
  EXPECT_EQ(c.fabric.planes, 8);
  // nic + 3 hops reproduces ISCA'25's 3.7 us cross-leaf latency.
  EXPECT_NEAR(c.scaleout_latency_s(), 3.7e-6, 1e-12);
  EXPECT_EQ(to_string(c.fabric.kind), "multi_plane_fat_tree");
  EXPECT_EQ(to_string(LinkClass::scaleout), "scaleout");
}

TEST(Cluster, DefaultsComeFromTheGpu) {
  ClusterSpec c = parse(R"({"name": "t", "gpu": "GB200", "gpus": 144, "gpus_per_node": 4})");
  EXPECT_EQ(c.scaleup_domain_gpus, 72);
  EXPECT_DOUBLE_EQ(c.scaleup_per_direction_bps, 900e9);
  // A partial rack: the defaulted domain shrinks to the GPUs that exist.
  ClusterSpec small = parse(R"({"name": "t", "gpu": "GB200", "gpus": 8, "gpus_per_node": 4})");
  EXPECT_EQ(small.scaleup_domain_gpus, 8);
  ClusterSpec alias = parse(R"({"name": "t", "gpu": "NVIDIA H800 SXM", "gpus": 16})");
  EXPECT_EQ(alias.gpu_name, "H800-SXM");
  EXPECT_DOUBLE_EQ(alias.nic_bps, 50e9);
}

TEST(Cluster, ErrorsNameTheJsonPath) {
  std::string msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "gpus_per_nod": 8})"); });
  EXPECT_NE(msg.find("cluster.json: $.gpus_per_nod: unknown key"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 20, "gpus_per_node": 8})"); });
  EXPECT_NE(msg.find("$.gpus: expected a positive multiple of gpus_per_node (8), got 20"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H900", "gpus": 16})"); });
  EXPECT_NE(msg.find("$.gpu: unknown GPU \"H900\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("H800-SXM"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": -8})"); });
  EXPECT_NE(msg.find("$.gpus: expected an integer from 1 to 16777216, got -8"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "nic_gbps": 0})"); });
  EXPECT_NE(msg.find("$.nic_gbps: expected a positive number"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "scaleup_bidir_gbs": 900})"); });
  EXPECT_NE(msg.find("$.scaleup_bidir_gbs: expected at most the H800-SXM's own 400"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "fabric": {"kind": "torus"}})"); });
  EXPECT_NE(msg.find("$.fabric.kind: expected one of fat_tree|rail_optimized|multi_plane_fat_tree"), std::string::npos)
      << msg;

  msg =
      input_error_of([] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "fabric": {"oversubscription": 0.5}})"); });
  EXPECT_NE(msg.find("$.fabric.oversubscription"), std::string::npos) << msg;

  msg = input_error_of(
      [] { parse(R"({"name": "t", "gpu": "H800", "gpus": 16, "fabric": {"kind": "fat_tree", "planes": 8}})"); });
  EXPECT_NE(msg.find("$.fabric.planes"), std::string::npos) << msg;

  // 100k GPUs do not fit a 2-tier radix-64 tree (2,048 endpoints).
  msg = input_error_of(
      [] { parse(R"({"name": "t", "gpu": "H100", "gpus": 100000, "fabric": {"switch_radix": 64, "tiers": 2}})"); });
  EXPECT_NE(msg.find("$.fabric: 100000 NIC endpoints per plane exceed the 2048"), std::string::npos) << msg;

  msg = input_error_of([] { parse(R"({"name": "t", "gpu": "GB200", "gpus": 100, "gpus_per_node": 4})"); });
  EXPECT_NE(msg.find("$.gpus: expected gpus (100) to be a multiple of the scale-up domain (72 GPUs)"),
            std::string::npos)
      << msg;

  msg = input_error_of([] { parse(R"({"schema": "gwsim.cluster/2", "name": "t", "gpu": "H800", "gpus": 16})"); });
  EXPECT_NE(msg.find("$.schema"), std::string::npos) << msg;
}

}  // namespace
}  // namespace gwsim
