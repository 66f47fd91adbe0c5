#pragma once
// Small clusters for the network tests: H100-like nodes (8 GPUs, 450 GB/s NVLink per direction,
// 8 x 400G NICs), a fabric of the given kind and switch radix.
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/cluster.h"

inline gwsim::ClusterSpec test_cluster(int gpus, gwsim::FabricKind kind, int radix) {
  gwsim::ClusterSpec c;
  c.name = "test";
  c.gpu_name = "H100-SXM";
  c.gpus = gpus;
  c.gpus_per_node = 8;
  c.scaleup_domain_gpus = 8;
  c.scaleup_per_direction_bps = 450e9;
  c.scaleup_latency_s = 3e-6;
  c.nics_per_node = 8;
  c.nic_bps = 50e9;
  c.fabric.kind = kind;
  c.fabric.switch_radix = radix;
  c.fabric.tiers = 2;
  return c;
}

// The H100's published profile (bus efficiencies and α per collective), loaded once.
inline const gwsim::Profile& h100_profile() {
  static const gwsim::Profile p = gwsim::default_profile_for(gwsim::find_gpu("H100"));
  return p;
}
