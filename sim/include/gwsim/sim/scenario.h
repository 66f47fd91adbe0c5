#pragma once
// A scenario (scenarios/*.json, schema "gwsim.scenario/1"): model, cluster, parallelism, run
// settings, power and cost assumptions. Loading resolves every default and catalogue reference, so
// the report can carry the fully resolved scenario.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/parallelism.h"

namespace gwsim {

struct PowerAssumptions {
  double host_w_per_gpu = 575;           // CPU, memory, NIC, fans, PSU loss per GPU
  double cluster_overhead_fraction = 0.10;  // storage, switches, optics on top of servers
  double pue = 1.2;
  double gpu_utilisation_power_fraction = 1.0;  // share of TDP drawn while training
  std::string source;
};

struct CostAssumptions {
  double usd_per_gpu_hour = 2.0;
  std::string source;
};

struct Scenario {
  std::string file;       // where it was loaded from
  std::string name;
  std::string description;
  ModelSpec model;
  GpuSpec gpu;
  ClusterSpec cluster;
  Profile profile;
  Parallelism parallelism;
  TrainingSettings training;
  PowerAssumptions power;
  CostAssumptions cost;
  std::uint64_t seed = 1;
  nlohmann::json resolved;  // the scenario with every default and reference filled in
};

// `overrides` are "path.to.key=value" strings applied to the JSON before it is read (the value is
// parsed as JSON when it can be, else taken as a string).
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {});
Scenario parse_scenario(const nlohmann::json& doc, const std::string& file);
void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& file);

}  // namespace gwsim
