#include "gwsim/hwmodels/power.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace {

// {"value", "source", "estimate"}: a data-file figure always says where it came
// from.
Figure read_sourced(const JsonObject& parent, const std::string& key, bool allow_zero = false) {
  JsonObject o = parent.object(key);
  Figure f;
  f.value = o.number("value");
  f.source = o.string("source");
  if (f.source.empty()) o.fail("source", "expected a non-empty source for this figure");
  f.estimate = o.boolean_or("estimate", false);
  o.allow({"notes", "description"});
  o.reject_unknown_keys();
  if (!std::isfinite(f.value) || f.value < 0 || (!allow_zero && f.value == 0))
    parent.fail(key, fmt::format("expected a positive figure, got {}", f.value));
  return f;
}

// {"default": figure, "<GPU name>": figure, ...}
void read_by_gpu(const JsonObject& parent, const std::string& key, Figure* fallback,
                 std::map<std::string, Figure>* by_gpu) {
  JsonObject o = parent.object(key);
  *fallback = read_sourced(o, "default");
  for (auto it = o.json().begin(); it != o.json().end(); ++it)
    if (it.key() != "default") (*by_gpu)[it.key()] = read_sourced(o, it.key());
  o.reject_unknown_keys();
}

}  // namespace

const Figure& PowerDefaults::host_for(const std::string& gpu_name) const {
  auto it = host_w_per_gpu.find(gpu_name);
  return it != host_w_per_gpu.end() ? it->second : host_w_per_gpu_default;
}

const Figure& CostDefaults::server_for(const std::string& gpu_name) const {
  auto it = server_usd_per_gpu.find(gpu_name);
  return it != server_usd_per_gpu.end() ? it->second : server_usd_per_gpu_default;
}

const PowerDefaults& power_defaults() {
  static const PowerDefaults d = [] {
    const std::string path = data_dir() + "/hwmodels/data/power.json";
    auto doc = parse_json_file(path);
    JsonObject o(doc, path, "$");
    o.require_schema("gwsim.power/1");
    PowerDefaults p;
    p.source = o.string("source");
    read_by_gpu(o, "host_w_per_gpu", &p.host_w_per_gpu_default, &p.host_w_per_gpu);
    p.nic_w = read_sourced(o, "nic_w");
    p.switch_w = read_sourced(o, "switch_w");
    p.transceiver_w = read_sourced(o, "transceiver_w");
    p.storage_fraction = read_sourced(o, "storage_fraction", true);
    p.pue = read_sourced(o, "pue");
    if (p.pue.value < 1) o.fail("pue", "expected a PUE of at least 1");
    p.gpu_idle_fraction_of_tdp = read_sourced(o, "gpu_idle_fraction_of_tdp", true);
    o.allow({"notes"});
    o.reject_unknown_keys();
    return p;
  }();
  return d;
}

const CostDefaults& cost_defaults() {
  static const CostDefaults d = [] {
    const std::string path = data_dir() + "/hwmodels/data/costs.json";
    auto doc = parse_json_file(path);
    JsonObject o(doc, path, "$");
    o.require_schema("gwsim.costs/1");
    CostDefaults c;
    c.source = o.string("source");
    read_by_gpu(o, "server_usd_per_gpu", &c.server_usd_per_gpu_default, &c.server_usd_per_gpu);
    c.switch_usd = read_sourced(o, "switch_usd");
    c.link_usd = read_sourced(o, "link_usd");
    c.facility_usd_per_w = read_sourced(o, "facility_usd_per_w", true);
    c.electricity_usd_per_mwh = read_sourced(o, "electricity_usd_per_mwh", true);
    c.it_amortisation_years = read_sourced(o, "it_amortisation_years");
    c.facility_amortisation_years = read_sourced(o, "facility_amortisation_years");
    o.allow({"notes"});
    o.reject_unknown_keys();
    return c;
  }();
  return d;
}

PerGpuPower per_gpu_power(const PerGpuPowerInputs& in) {
  PerGpuPower p;
  p.gpu_w = in.gpu_tdp_w * in.gpu_power_fraction;
  p.host_w = in.host_w;
  p.nic_w = in.nics_per_gpu * in.nic_w;
  p.switch_w = in.switches_per_gpu * in.switch_w;
  p.optics_w = in.transceivers_per_gpu * in.transceiver_w;
  // Storage and management scale with the servers, not with the fabric.
  p.storage_w = in.storage_fraction * (p.gpu_w + p.host_w + p.nic_w);
  p.it_w = p.gpu_w + p.host_w + p.nic_w + p.switch_w + p.optics_w + p.storage_w;
  p.facility_w = p.it_w * in.pue;
  return p;
}

double gpu_power_fraction_from_compute(double compute_fraction, double idle_fraction_of_tdp) {
  const double c = std::clamp(compute_fraction, 0.0, 1.0);
  return idle_fraction_of_tdp + (1 - idle_fraction_of_tdp) * c;
}

}  // namespace gwsim
