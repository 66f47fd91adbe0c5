#pragma once
// A scenario (scenarios/*.json, schema "gwsim.scenario/1"): model, cluster, parallelism, run
// settings, power and cost assumptions. Loading resolves every default and catalogue reference, so
// the report can carry the fully resolved scenario.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/sim/engines/des/asymmetry.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/parallelism.h"

namespace gwsim {

// Power and cost assumptions. Every field left out of the scenario is filled from
// hwmodels/data/power.json and costs.json; `sources` says where each value came from ("scenario"
// or the data file's source text), and the report carries it.
struct PowerAssumptions {
  double host_w_per_gpu = 0;    // CPU, memory, fans, PSU loss per GPU (NICs separate)
  double nic_w = 0;             // one scale-out NIC
  double switch_w = 0;          // one scale-out switch, optics excluded
  double transceiver_w = 0;     // one optical module, two per link
  double storage_fraction = 0;  // storage and management, of server power
  double pue = 1.2;
  double gpu_power_fraction_of_tdp = 1.0;  // share of TDP drawn while training (stated)
  bool gpu_power_from_compute = false;     // instead: idle + (1 - idle) x simulated compute fraction
  double gpu_idle_fraction_of_tdp = 0;
  std::map<std::string, std::string> sources;  // field -> source
  std::string source;                          // the scenario's own note, if any
};

struct CostAssumptions {
  double usd_per_gpu_hour = 2.0;  // rental price (what training.cost_usd uses)
  double server_usd_per_gpu = 0;
  double switch_usd = 0;
  double link_usd = 0;
  double facility_usd_per_w = 0;
  double electricity_usd_per_mwh = 0;
  double it_amortisation_years = 4;
  double facility_amortisation_years = 15;
  std::map<std::string, std::string> sources;
  std::string source;  // of usd_per_gpu_hour
};

// Failures and checkpoints (defaults: hwmodels/data/reliability.json, Llama 3 405B's record).
struct ReliabilityAssumptions {
  double failure_rate_scale = 1.0;  // x the per-GPU-hour rates of every component
  double checkpoint_bytes_per_param = 12;
  double checkpoint_write_gbs = 2000;
  double checkpoint_write_s = -1;  // >= 0: stated; < 0: parameters x bytes / bandwidth
  double restart_s = 600;
  double checkpoint_interval_s = 0;   // 0: the optimum (Daly 2006)
  bool include_planned = true;        // planned maintenance costs a restart each
  bool inject_failures = false;       // also simulate the run with seeded failures (failure_injection.h)
  std::int64_t injection_trials = 1;  // Monte-Carlo trials: seed, seed + 1, ...
  std::map<std::string, std::string> sources;
};

// "cluster": {..., "gpu_variant": {"rule": "2022-10", "cap": "interconnect"}} or
// {"caps": {"interconnect": 400, "compute": 4700}}: the chip as capped (export_controls.h).
struct GpuVariantRequest {
  bool active = false;
  std::string base_gpu;
  std::string rule;
  std::string cap;
  std::vector<std::pair<std::string, double>> caps;
  std::vector<std::string> applied;  // one line per cap applied
};

struct Scenario {
  std::string file;  // where it was loaded from
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
  ReliabilityAssumptions reliability;
  GpuVariantRequest gpu_variant;
  Asymmetry asymmetry;  // des/simgrid: a straggler, a degraded link, skewed experts (asymmetry.h)
  std::uint64_t seed = 1;
  nlohmann::json resolved;  // the scenario with every default and reference filled in
};

// The defaults a scenario gets for a GPU when it states nothing (power.json, costs.json).
PowerAssumptions default_power_assumptions(const GpuSpec& gpu);
CostAssumptions default_cost_assumptions(const GpuSpec& gpu);
// Moves the GPU-dependent defaults that the scenario did not state (host power, server price) to
// another chip, as `gwsim compare` does.
void retarget_gpu_defaults(Scenario& s, const GpuSpec& gpu);

// `overrides` are "path.to.key=value" strings applied to the JSON before it is read (the value is
// parsed as JSON when it can be, else taken as a string).
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {});
// The "model" and "cluster" references of a scenario object `o` (also used by serving scenarios):
// a catalogue name, a .json path (relative to `base`, the scenario's folder) or an inline object;
// a cluster may also be {"file": name, <keys to change>}. cj is the cluster value as written.
ModelSpec resolve_model_ref(const JsonObject& o, const std::string& base);
ClusterSpec resolve_cluster_ref(const nlohmann::json& cj, const JsonObject& o, const std::string& base);
// The hardware of a scenario object `o` (training and serving alike): its cluster, the GPU (capped
// when cluster.gpu_variant asks: an export-compliant variant or stated caps) and the calibration
// profile ("profile", or the base chip's preferred one: caps change peaks, not efficiencies).
struct ScenarioHardware {
  ClusterSpec cluster;
  GpuSpec gpu;
  GpuVariantRequest gpu_variant;
  Profile profile;
  std::string profile_ref;  // what "profile" resolved to (loadable again)
};
ScenarioHardware resolve_hardware(const JsonObject& o, const std::string& base);
Scenario parse_scenario(const nlohmann::json& doc, const std::string& file);
void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& file);

}  // namespace gwsim
