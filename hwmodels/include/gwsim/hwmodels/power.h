#pragma once
// Per-GPU all-in power and the capital and operating cost of a cluster.
// Defaults come from hwmodels/data/power.json (schema "gwsim.power/1") and
// hwmodels/data/costs.json
// ("gwsim.costs/1"); every figure there names its source, estimates are
// flagged.
//
// All-in power of one GPU = GPU (TDP x power fraction) + host share (CPU,
// memory, fans, PSU loss)
//   + NICs + its share of the scale-out switches and optics (counted from the
//   fabric, see fabric_sizing.h) + storage share; facility power = IT power x
//   PUE.
#include <map>
#include <string>

#include "gwsim/hwmodels/gpu.h"

namespace gwsim {

struct PowerDefaults {
  Figure host_w_per_gpu_default;                 // CPU, memory, fans, PSU loss per GPU, NICs
                                                 // excluded
  std::map<std::string, Figure> host_w_per_gpu;  // by catalogue GPU name, where a platform differs
  Figure nic_w;                                  // one scale-out NIC
  Figure switch_w;                               // one 51.2 Tb/s-class switch, optics excluded
  Figure transceiver_w;                          // one optical module (two per link)
  Figure storage_fraction;                       // storage and management, fraction of server power
  Figure pue;
  Figure gpu_idle_fraction_of_tdp;  // floor of the compute-fraction power model
  std::string source;
  const Figure& host_for(const std::string& gpu_name) const;
};

struct CostDefaults {
  Figure server_usd_per_gpu_default;                 // server capex per GPU, scale-out network
                                                     // excluded
  std::map<std::string, Figure> server_usd_per_gpu;  // by catalogue GPU name
  Figure switch_usd;                                 // one scale-out switch (DeepSeek ISCA'25 Table 3 convention)
  Figure link_usd;                                   // one switch-to-switch link
  Figure facility_usd_per_w;                         // per W of facility power: buildings, power, cooling
  Figure electricity_usd_per_mwh;
  Figure it_amortisation_years;
  Figure facility_amortisation_years;
  std::string source;
  const Figure& server_for(const std::string& gpu_name) const;
};

// <data>/hwmodels/data/power.json and costs.json, loaded once (InputError
// naming the file if bad).
const PowerDefaults& power_defaults();
const CostDefaults& cost_defaults();

// What one GPU draws, all in, given the fabric's switches and transceivers per
// GPU.
struct PerGpuPowerInputs {
  double gpu_tdp_w = 0;
  double gpu_power_fraction = 1;  // of TDP while training
  double host_w = 0;
  double nics_per_gpu = 1;
  double nic_w = 0;
  double switches_per_gpu = 0;
  double switch_w = 0;
  double transceivers_per_gpu = 0;
  double transceiver_w = 0;
  double storage_fraction = 0;
  double pue = 1;
};

struct PerGpuPower {
  double gpu_w = 0, host_w = 0, nic_w = 0, switch_w = 0, optics_w = 0, storage_w = 0;
  double it_w = 0;        // sum of the above
  double facility_w = 0;  // it_w x PUE
};

PerGpuPower per_gpu_power(const PerGpuPowerInputs& in);

// Power drawn as a fraction of TDP when the GPU computes `compute_fraction` of
// the time: idle + (1 - idle) x compute_fraction.
double gpu_power_fraction_from_compute(double compute_fraction, double idle_fraction_of_tdp);

}  // namespace gwsim
