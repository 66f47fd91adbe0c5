#include "gwsim/hwmodels/fabric_sizing.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "gwsim/common/input_error.h"

namespace gwsim {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

int leaf_down_ports(int radix, double oversubscription) {
  // r:1 down:up; at least one port each way.
  int d = static_cast<int>(std::floor(radix * oversubscription / (oversubscription + 1) + 1e-9));
  if (d >= radix) d = radix - 1;
  if (d < 1) d = 1;
  return d;
}

void check(const FabricRequest& r, const std::string& origin) {
  if (r.switch_radix < 4 || r.switch_radix % 2 != 0)
    throw InputError("", origin,
                     fmt::format("switch radix {}: expected an even port count of at least 4", r.switch_radix));
  if (r.planes < 1) throw InputError("", origin, fmt::format("planes {}: expected 1 or more", r.planes));
  if (!std::isfinite(r.oversubscription) || r.oversubscription < 1)
    throw InputError("", origin,
                     fmt::format("oversubscription {}: expected 1 (full bisection) or more", r.oversubscription));
  if (r.tiers < 0 || r.tiers > 6)
    throw InputError("", origin, fmt::format("tiers {}: expected 1 to 6, or 0 for the fewest that fit", r.tiers));
  if (r.endpoints < 1) throw InputError("", origin, fmt::format("{} endpoints: expected at least one", r.endpoints));
}

}  // namespace

std::int64_t fat_tree_capacity(int radix, int tiers, double oversubscription) {
  if (tiers <= 1) return radix;
  const double cap =
      leaf_down_ports(radix, oversubscription) * static_cast<double>(radix) * std::pow(radix / 2.0, tiers - 2);
  return cap > 9e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(cap);
}

int fat_tree_tiers_needed(std::int64_t endpoints_per_plane, int radix, double oversubscription,
                          const std::string& origin) {
  for (int t = 1; t <= 6; ++t)
    if (fat_tree_capacity(radix, t, oversubscription) >= endpoints_per_plane) return t;
  throw InfeasibleError("", origin,
                        fmt::format("{} endpoints per plane exceed a 6-tier radix-{} fat tree: "
                                    "expected more planes or a larger radix",
                                    endpoints_per_plane, radix));
}

FabricSizing size_fabric(const FabricRequest& req, double switch_usd, double link_usd, const std::string& origin) {
  check(req, origin);
  FabricSizing s;
  s.request = req;
  const int k = req.switch_radix;
  s.endpoints_per_plane = ceil_div(req.endpoints, req.planes);
  s.tiers = req.tiers > 0 ? req.tiers : fat_tree_tiers_needed(s.endpoints_per_plane, k, req.oversubscription, origin);
  const std::int64_t cap = fat_tree_capacity(k, s.tiers, req.oversubscription);
  if (cap < s.endpoints_per_plane)
    throw InfeasibleError("", origin,
                          fmt::format("{} endpoints per plane exceed the {} a {}-tier radix-{} "
                                      "fat tree holds: expected {} tiers or more planes",
                                      s.endpoints_per_plane, cap, s.tiers, k,
                                      fat_tree_tiers_needed(s.endpoints_per_plane, k, req.oversubscription, origin)));
  s.max_endpoints = cap > std::numeric_limits<std::int64_t>::max() / req.planes
                        ? std::numeric_limits<std::int64_t>::max()
                        : cap * req.planes;
  // One plane, tier by tier.
  std::vector<FabricTier> plane;
  if (s.tiers == 1) {
    s.leaf_down_ports = k;
    plane.push_back({1, 1, 0});
  } else {
    s.leaf_down_ports = leaf_down_ports(k, req.oversubscription);
    s.leaf_up_ports = k - s.leaf_down_ports;
    std::int64_t sw = ceil_div(s.endpoints_per_plane, s.leaf_down_ports);
    std::int64_t up = sw * s.leaf_up_ports;
    plane.push_back({1, sw, up});
    for (int t = 2; t <= s.tiers; ++t) {
      const bool top = t == s.tiers;
      sw = ceil_div(up, top ? k : k / 2);
      std::int64_t next_up = top ? 0 : sw * (k / 2);
      plane.push_back({t, sw, next_up});
      up = next_up;
    }
  }
  for (auto& t : plane) {
    t.switches *= req.planes;
    t.links_up *= req.planes;
    s.switches += t.switches;
    s.inter_switch_links += t.links_up;
  }
  s.per_tier = plane;
  s.endpoint_links = req.endpoints;
  s.transceivers = 2 * (s.endpoint_links + s.inter_switch_links);
  s.cost_usd = static_cast<double>(s.switches) * switch_usd + static_cast<double>(s.inter_switch_links) * link_usd;
  s.cost_per_endpoint_usd = s.cost_usd / static_cast<double>(req.endpoints);
  return s;
}

}  // namespace gwsim
