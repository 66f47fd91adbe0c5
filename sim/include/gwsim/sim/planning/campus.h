#pragma once
// What a cluster draws and costs (the report's `power` and `cost` sections),
// and `gwsim campus`: how many GPUs of a type a power budget holds, which
// fabric connects them, and what it costs.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "gwsim/hwmodels/cluster.h"
#include "gwsim/hwmodels/fabric_sizing.h"
#include "gwsim/hwmodels/power.h"
#include "gwsim/sim/input/scenario.h"

namespace gwsim {

struct ClusterFootprint {
  std::int64_t gpus = 0;
  double nics_per_gpu = 1;
  FabricSizing fabric;
  std::string fabric_note;  // when the sizing needed more tiers than the cluster states
  double gpu_power_fraction = 1;
  PerGpuPower per_gpu;
  double it_mw = 0, facility_mw = 0;
  double server_capex_usd = 0, fabric_capex_usd = 0, facility_capex_usd = 0, capex_usd = 0;
  double capex_per_gpu_usd = 0;
  double amortised_usd_per_gpu_hour = 0;    // IT over its years, facility over its years
  double electricity_usd_per_gpu_hour = 0;  // facility power x $/MWh
  double usd_per_gpu_hour_owned = 0;        // the two together
};

// The fabric is sized for the cluster's NIC ports (gpus x nics_per_node /
// gpus_per_node) at its switch radix, planes and oversubscription, with at
// least the cluster's stated tiers.
ClusterFootprint cluster_footprint(std::int64_t gpus, const GpuSpec& gpu, const ClusterSpec& cluster,
                                   const PowerAssumptions& power, double gpu_power_fraction,
                                   const CostAssumptions& cost);

// Report sections. wall_s: the run's expected wall clock (energy and running
// cost accrue over it).
nlohmann::json power_json(const ClusterFootprint& f, const PowerAssumptions& p, double wall_s, double tokens);
nlohmann::json cost_json(const ClusterFootprint& f, const CostAssumptions& c, double wall_s);

// gwsim campus
// ----------------------------------------------------------------------------------
struct CampusRequest {
  double power_mw = 0;              // facility power budget
  std::string gpu;                  // catalogue name
  std::string fabric = "fat_tree";  // fat_tree | rail_optimized | multi_plane_fat_tree
  int switch_radix = 64;
  int planes = 0;  // 0: 1, or 8 for multi_plane_fat_tree (DeepSeek's MPFT)
  double oversubscription = 1.0;
  int tiers = 0;   // 0: the fewest that fit
  double pue = 0;  // 0: power.json's default
};

struct CampusSizing {
  CampusRequest request;
  GpuSpec gpu;
  ClusterSpec cluster;  // the cluster the campus holds (for `gwsim run`)
  PowerAssumptions power;
  CostAssumptions cost;
  ClusterFootprint footprint;
  std::int64_t unit_gpus = 8;  // GPUs are placed in whole scale-up domains (node, NVL72 rack)
};

// InputError naming the option when the request makes no sense (budget not
// positive, unknown GPU).
CampusSizing size_campus(const CampusRequest& req);
nlohmann::json campus_to_json(const CampusSizing& c);
std::string format_campus(const CampusSizing& c);

}  // namespace gwsim
