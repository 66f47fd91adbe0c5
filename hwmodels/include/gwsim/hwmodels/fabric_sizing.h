#pragma once
// Counting the switches and links of a scale-out fabric: a (possibly
// multi-plane, possibly oversubscribed) folded-Clos / fat tree of radix-k
// switches.
//
//   leaf: d = k·r/(r+1) ports down (r = oversubscription), u = k − d up;
//   middle tiers: k/2 down, k/2 up; top tier: all k ports down.
//   Capacity of one plane with t tiers: t = 1: k; t >= 2: d · k · (k/2)^(t−2)
//   (non-blocking: k²/2 for two tiers, k³/4 for three;
//   export_controls_power.json topology.formulas). P planes (one NIC port per
//   plane, DeepSeek's MPFT) multiply endpoints, switches and links by P.
// Switch counts for fewer endpoints than the maximum: leaves = ⌈N/d⌉, a middle
// tier ⌈links from below / (k/2)⌉, the top tier ⌈links from below / k⌉. A full
// radix-64 two-tier plane is 64 + 32 = 96 switches, a full three-tier one 2048
// + 2048 + 1024 = 5,120 (ISCA'25 Table 3).
#include <cstdint>
#include <string>
#include <vector>

namespace gwsim {

struct FabricRequest {
  std::int64_t endpoints = 0;  // NIC ports to connect (all planes together)
  int switch_radix = 64;
  int planes = 1;
  double oversubscription = 1.0;  // leaf down:up (1 = full bisection)
  int tiers = 0;                  // 0: the fewest that hold the endpoints
};

struct FabricTier {
  int tier = 1;               // 1 = leaf
  std::int64_t switches = 0;  // all planes
  std::int64_t links_up = 0;  // links from this tier to the next (all planes)
};

struct FabricSizing {
  FabricRequest request;
  int tiers = 0;
  int leaf_down_ports = 0, leaf_up_ports = 0;
  std::int64_t endpoints_per_plane = 0;
  std::int64_t max_endpoints = 0;  // what the tiers and planes could hold
  std::int64_t switches = 0;
  std::int64_t endpoint_links = 0;      // NIC to leaf
  std::int64_t inter_switch_links = 0;  // leaf to spine to core
  std::int64_t transceivers = 0;        // two per link, all links optical (an upper bound)
  std::vector<FabricTier> per_tier;
  double cost_usd = 0;  // switches x switch_usd + inter-switch links x link_usd
  double cost_per_endpoint_usd = 0;
};

// Endpoints one plane of `tiers` tiers holds.
std::int64_t fat_tree_capacity(int radix, int tiers, double oversubscription);
// The fewest tiers (1..6) holding `endpoints_per_plane`; InfeasibleError if
// none.
int fat_tree_tiers_needed(std::int64_t endpoints_per_plane, int radix, double oversubscription,
                          const std::string& origin);

// `origin` names where the request came from (an option or JSON path) in error
// messages.
FabricSizing size_fabric(const FabricRequest& req, double switch_usd, double link_usd, const std::string& origin);

}  // namespace gwsim
