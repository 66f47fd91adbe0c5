#pragma once
// Nodes, scale-up domains and the scale-out fabric (schema "gwsim.cluster/1"), enough to say which
// link class a collective crosses and with what bandwidth and latency.
#include <cstdint>
#include <string>

#include "gwsim/hwmodels/gpu.h"

namespace gwsim {

enum class LinkClass { scaleup, scaleout };  // NVLink-class domain vs NIC fabric
std::string to_string(LinkClass c);

enum class FabricKind { fat_tree, rail_optimized, multi_plane_fat_tree };
std::string to_string(FabricKind k);

struct Fabric {
  FabricKind kind = FabricKind::fat_tree;
  int switch_radix = 64;          // ports per switch
  int tiers = 2;                  // 1 = single switch layer, 2 = leaf/spine, 3 = leaf/spine/core
  double oversubscription = 1.0;  // downlink:uplink at the leaf (1 = full bisection)
  int planes = 1;                 // independent planes (DeepSeek MPFT: 8, one NIC per plane)
  double hop_latency_s = 0.6e-6;  // per switch hop
  double nic_latency_s = 2.0e-6;  // end-host NIC + software
};

struct ClusterSpec {
  std::string name;
  std::string gpu_name;  // catalogue key
  std::int64_t gpus = 0;
  int gpus_per_node = 8;
  int scaleup_domain_gpus = 8;           // GPUs sharing one NVLink domain (node, or NVL72 rack)
  double scaleup_per_direction_bps = 0;  // per GPU, one direction (from the GPU unless overridden)
  double scaleup_latency_s = 3e-6;
  int nics_per_node = 8;
  double nic_bps = 400e9 / 8;  // one NIC, one direction, bytes/s
  Fabric fabric;
  std::string source;  // where the description came from

  std::int64_t nodes() const { return gpus / gpus_per_node; }
  double scaleout_per_gpu_bps() const { return nic_bps * nics_per_node / gpus_per_node; }
  // Scale-out bandwidth a GPU gets when all GPUs send at once (leaf oversubscription applies).
  double scaleout_per_gpu_loaded_bps() const { return scaleout_per_gpu_bps() / fabric.oversubscription; }
  // Latency of one message across the fabric (up to the top tier and down).
  double scaleout_latency_s() const { return fabric.nic_latency_s + fabric.hop_latency_s * (2 * fabric.tiers - 1); }
};

}  // namespace gwsim
