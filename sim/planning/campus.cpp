#include "gwsim/sim/planning/campus.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/hwmodels/catalogue.h"

namespace gwsim {

namespace {

constexpr double kHoursPerYear = 8760;

nlohmann::json fabric_json(const FabricSizing& s, FabricKind kind) {
  nlohmann::json tiers = nlohmann::json::array();
  for (const auto& t : s.per_tier)
    tiers.push_back({{"tier", t.tier}, {"switches", t.switches}, {"links_up", t.links_up}});
  return {{"kind", to_string(kind)},
          {"switch_radix", s.request.switch_radix},
          {"planes", s.request.planes},
          {"oversubscription", s.request.oversubscription},
          {"tiers", s.tiers},
          {"endpoints", s.request.endpoints},
          {"endpoints_per_plane", s.endpoints_per_plane},
          {"max_endpoints", s.max_endpoints},
          {"leaf_ports_down_up", {s.leaf_down_ports, s.leaf_up_ports}},
          {"switches", s.switches},
          {"endpoint_links", s.endpoint_links},
          {"inter_switch_links", s.inter_switch_links},
          {"transceivers", s.transceivers},
          {"per_tier", tiers},
          {"cost_usd", round_significant(s.cost_usd)},
          {"cost_per_endpoint_usd", round_significant(s.cost_per_endpoint_usd)}};
}

}  // namespace

ClusterFootprint cluster_footprint(std::int64_t gpus, const GpuSpec& gpu, const ClusterSpec& cluster,
                                   const PowerAssumptions& power, double gpu_power_fraction,
                                   const CostAssumptions& cost) {
  ClusterFootprint f;
  f.gpus = gpus;
  f.nics_per_gpu = static_cast<double>(cluster.nics_per_node) / cluster.gpus_per_node;
  FabricRequest req;
  req.endpoints =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(static_cast<double>(gpus) * f.nics_per_gpu)));
  req.switch_radix = cluster.fabric.switch_radix;
  req.planes = std::max(1, cluster.fabric.planes);
  req.oversubscription = cluster.fabric.oversubscription;
  const std::int64_t per_plane = (req.endpoints + req.planes - 1) / req.planes;
  const int needed = fat_tree_tiers_needed(per_plane, req.switch_radix, req.oversubscription, "$.cluster.fabric");
  req.tiers = std::max(needed, cluster.fabric.tiers);
  if (cluster.fabric.tiers > 0 && needed > cluster.fabric.tiers)
    f.fabric_note = fmt::format(
        "{} NIC ports per plane need {} tiers of "
        "radix-{} switches; the cluster states {}: "
        "switches counted for {}",
        per_plane, needed, req.switch_radix, cluster.fabric.tiers, needed);
  f.fabric = size_fabric(req, cost.switch_usd, cost.link_usd, "$.cluster.fabric");
  f.gpu_power_fraction = gpu_power_fraction;
  const double n = static_cast<double>(gpus);
  PerGpuPowerInputs in;
  in.gpu_tdp_w = gpu.tdp_w.value;
  in.gpu_power_fraction = gpu_power_fraction;
  in.host_w = power.host_w_per_gpu;
  in.nics_per_gpu = f.nics_per_gpu;
  in.nic_w = power.nic_w;
  in.switches_per_gpu = static_cast<double>(f.fabric.switches) / n;
  in.switch_w = power.switch_w;
  in.transceivers_per_gpu = static_cast<double>(f.fabric.transceivers) / n;
  in.transceiver_w = power.transceiver_w;
  in.storage_fraction = power.storage_fraction;
  in.pue = power.pue;
  f.per_gpu = per_gpu_power(in);
  f.it_mw = f.per_gpu.it_w * n / 1e6;
  f.facility_mw = f.per_gpu.facility_w * n / 1e6;
  f.server_capex_usd = cost.server_usd_per_gpu * n;
  f.fabric_capex_usd = f.fabric.cost_usd;
  f.facility_capex_usd = cost.facility_usd_per_w * f.facility_mw * 1e6;
  f.capex_usd = f.server_capex_usd + f.fabric_capex_usd + f.facility_capex_usd;
  f.capex_per_gpu_usd = f.capex_usd / n;
  f.amortised_usd_per_gpu_hour =
      (f.server_capex_usd + f.fabric_capex_usd) / n / (cost.it_amortisation_years * kHoursPerYear) +
      f.facility_capex_usd / n / (cost.facility_amortisation_years * kHoursPerYear);
  f.electricity_usd_per_gpu_hour = f.per_gpu.facility_w / 1e6 * cost.electricity_usd_per_mwh;
  f.usd_per_gpu_hour_owned = f.amortised_usd_per_gpu_hour + f.electricity_usd_per_gpu_hour;
  return f;
}

nlohmann::json power_json(const ClusterFootprint& f, const PowerAssumptions& p, double wall_s, double tokens) {
  const auto& g = f.per_gpu;
  nlohmann::json j = {{"gpu_w", round_significant(g.gpu_w)},
                      {"gpu_power_fraction_of_tdp", round_significant(f.gpu_power_fraction)},
                      {"host_w_per_gpu", round_significant(g.host_w)},
                      {"nic_w_per_gpu", round_significant(g.nic_w)},
                      {"switch_w_per_gpu", round_significant(g.switch_w)},
                      {"optics_w_per_gpu", round_significant(g.optics_w)},
                      {"storage_w_per_gpu", round_significant(g.storage_w)},
                      {"it_w_per_gpu", round_significant(g.it_w)},
                      {"facility_w_per_gpu", round_significant(g.facility_w)},
                      {"it_mw", round_significant(f.it_mw)},
                      {"facility_mw", round_significant(f.facility_mw)},
                      {"pue", p.pue},
                      {"energy_mwh", round_significant(f.facility_mw * wall_s / 3600)},
                      {"joules_per_token", tokens > 0 ? round_significant(f.facility_mw * 1e6 * wall_s / tokens) : 0.0},
                      {"fabric", fabric_json(f.fabric, FabricKind::fat_tree)},
                      {"sources", p.sources},
                      {"source", p.source.empty() ? std::string("hwmodels/data/power.json (per-field "
                                                                "sources in power.sources)")
                                                  : p.source}};
  j["fabric"].erase("kind");
  if (!f.fabric_note.empty()) j["fabric"]["note"] = f.fabric_note;
  return j;
}

nlohmann::json cost_json(const ClusterFootprint& f, const CostAssumptions& c, double wall_s) {
  const double n = static_cast<double>(f.gpus);
  const double gpu_hours = n * wall_s / 3600;
  return {{"capex_usd", round_significant(f.capex_usd)},
          {"capex_per_gpu_usd", round_significant(f.capex_per_gpu_usd)},
          {"server_capex_usd", round_significant(f.server_capex_usd)},
          {"server_usd_per_gpu", round_significant(c.server_usd_per_gpu)},
          {"fabric_capex_usd", round_significant(f.fabric_capex_usd)},
          {"fabric_usd_per_endpoint", round_significant(f.fabric.cost_per_endpoint_usd)},
          {"switch_usd", round_significant(c.switch_usd)},
          {"link_usd", round_significant(c.link_usd)},
          {"facility_capex_usd", round_significant(f.facility_capex_usd)},
          {"electricity_usd_per_mwh", round_significant(c.electricity_usd_per_mwh)},
          {"electricity_usd_per_gpu_hour", round_significant(f.electricity_usd_per_gpu_hour)},
          {"amortised_usd_per_gpu_hour", round_significant(f.amortised_usd_per_gpu_hour)},
          {"usd_per_gpu_hour_owned", round_significant(f.usd_per_gpu_hour_owned)},
          {"usd_per_gpu_hour_rental", round_significant(c.usd_per_gpu_hour)},
          {"run_gpu_hours", round_significant(gpu_hours)},
          {"run_electricity_usd", round_significant(f.electricity_usd_per_gpu_hour * gpu_hours)},
          {"run_cost_owned_usd", round_significant(f.usd_per_gpu_hour_owned * gpu_hours)},
          {"run_cost_rental_usd", round_significant(c.usd_per_gpu_hour * gpu_hours)},
          {"sources", c.sources}};
}

// Campus
// -----------------------------------------------------------------------------------------

CampusSizing size_campus(const CampusRequest& req) {
  if (!std::isfinite(req.power_mw) || !(req.power_mw > 0))
    throw InputError("", "--power-mw", fmt::format("{} MW: expected a positive facility power budget", req.power_mw));
  if (req.fabric != "fat_tree" && req.fabric != "rail_optimized" && req.fabric != "multi_plane_fat_tree")
    throw InputError("", "--fabric",
                     fmt::format("\"{}\": expected fat_tree, rail_optimized or multi_plane_fat_tree", req.fabric));
  if (req.planes < 0) throw InputError("", "--planes", fmt::format("{}: expected 1 or more", req.planes));
  if (req.tiers < 0) throw InputError("", "--tiers", fmt::format("{}: expected 1 to 6", req.tiers));
  if (!(req.oversubscription >= 1))
    throw InputError("", "--oversubscription",
                     fmt::format("{}: expected 1 (full bisection) or more", req.oversubscription));
  if (req.pue != 0 && !(req.pue >= 1 && req.pue <= 5))
    throw InputError("", "--pue", fmt::format("{}: expected 1 to 5", req.pue));
  CampusSizing c;
  c.request = req;
  c.gpu = find_gpu(req.gpu, "", "--gpu");
  c.power = default_power_assumptions(c.gpu);
  if (req.pue != 0) {
    c.power.pue = req.pue;
    c.power.sources["pue"] = "--pue";
  }
  c.cost = default_cost_assumptions(c.gpu);
  const int domain = static_cast<int>(c.gpu.scaleup_domain_gpus.value);
  ClusterSpec& cl = c.cluster;
  cl.name = fmt::format("campus-{:.0f}mw-{}", req.power_mw, c.gpu.name);
  cl.gpu_name = c.gpu.name;
  // A node is the server (8 GPUs) or, for rack-scale domains, a compute tray of
  // 4 (GB200 NVL72).
  cl.gpus_per_node = domain <= 8 ? domain : 4;
  cl.scaleup_domain_gpus = domain;
  cl.scaleup_per_direction_bps = c.gpu.scaleup_per_direction_bps();
  cl.nics_per_node = cl.gpus_per_node;  // one scale-out NIC per GPU
  // 800G NICs with Blackwell-class scale-up (1.8 TB/s), 400G otherwise
  // (generic-gb200-nvl72 and generic-h100 cluster files).
  cl.nic_bps = (c.gpu.scaleup_bidir_gbs.value >= 1800 ? 800e9 : 400e9) / 8;
  cl.fabric.kind = req.fabric == "rail_optimized"         ? FabricKind::rail_optimized
                   : req.fabric == "multi_plane_fat_tree" ? FabricKind::multi_plane_fat_tree
                                                          : FabricKind::fat_tree;
  cl.fabric.switch_radix = req.switch_radix;
  cl.fabric.planes = req.planes > 0 ? req.planes : (cl.fabric.kind == FabricKind::multi_plane_fat_tree ? 8 : 1);
  cl.fabric.oversubscription = req.oversubscription;
  cl.fabric.tiers = req.tiers;  // 0: the fewest that fit
  cl.source = "gwsim campus: sized for a facility power budget";
  c.unit_gpus = domain;
  const double budget_w = req.power_mw * 1e6;
  // The fabric's share per GPU grows with the cluster (more tiers), so iterate
  // to a fixed point, then step down whole domains until the campus fits the
  // budget.
  std::int64_t n = c.unit_gpus;
  auto fp = [&](std::int64_t g) {
    return cluster_footprint(g, c.gpu, cl, c.power, c.power.gpu_power_fraction_of_tdp, c.cost);
  };
  ClusterFootprint f = fp(n);
  if (f.per_gpu.facility_w * static_cast<double>(n) > budget_w)
    throw InputError("", "--power-mw",
                     fmt::format("{} MW holds less than one {}-GPU domain of "
                                 "{} ({:.3g} MW): expected a larger budget",
                                 req.power_mw, c.unit_gpus, c.gpu.name, f.facility_mw));
  for (int i = 0; i < 8; ++i) {
    const std::int64_t next =
        static_cast<std::int64_t>(std::floor(budget_w / f.per_gpu.facility_w / static_cast<double>(c.unit_gpus))) *
        c.unit_gpus;
    if (next == n) break;
    n = std::max<std::int64_t>(c.unit_gpus, next);
    f = fp(n);
  }
  while (f.facility_mw * 1e6 > budget_w && n > c.unit_gpus) f = fp(n -= c.unit_gpus);
  c.footprint = f;
  cl.gpus = n;
  cl.fabric.tiers = f.fabric.tiers;
  return c;
}

nlohmann::json campus_to_json(const CampusSizing& c) {
  const auto& f = c.footprint;
  nlohmann::json j;
  j["schema"] = "gwsim.campus/1";
  j["request"] = {{"power_mw", c.request.power_mw}, {"gpu", c.gpu.name}, {"fabric", c.request.fabric}};
  j["gpus"] = f.gpus;
  j["gpu"] = c.gpu.name;
  j["unit_gpus"] = c.unit_gpus;
  j["scaleup_domains"] = f.gpus / c.unit_gpus;
  j["power"] = power_json(f, c.power, 0, 0);
  j["power"].erase("energy_mwh");
  j["power"].erase("joules_per_token");
  j["power"]["fabric"]["kind"] = to_string(c.cluster.fabric.kind);
  j["cost"] = cost_json(f, c.cost, 0);
  for (const char* k : {"run_gpu_hours", "run_electricity_usd", "run_cost_owned_usd", "run_cost_rental_usd"})
    j["cost"].erase(k);
  j["cost"]["annual_electricity_usd"] =
      round_significant(f.facility_mw * kHoursPerYear * c.cost.electricity_usd_per_mwh);
  j["bf16_dense_eflops"] = round_significant(static_cast<double>(f.gpus) * c.gpu.peak_flops(Precision::bf16) / 1e18);
  j["cluster"] = {{"schema", "gwsim.cluster/1"},
                  {"name", c.cluster.name},
                  {"gpu", c.cluster.gpu_name},
                  {"gpus", c.cluster.gpus},
                  {"gpus_per_node", c.cluster.gpus_per_node},
                  {"scaleup_domain_gpus", c.cluster.scaleup_domain_gpus},
                  {"nics_per_node", c.cluster.nics_per_node},
                  {"nic_gbps", c.cluster.nic_bps * 8 / 1e9},
                  {"fabric",
                   {{"kind", to_string(c.cluster.fabric.kind)},
                    {"switch_radix", c.cluster.fabric.switch_radix},
                    {"tiers", c.cluster.fabric.tiers},
                    {"oversubscription", c.cluster.fabric.oversubscription},
                    {"planes", c.cluster.fabric.planes}}},
                  {"source", c.cluster.source}};
  return j;
}

std::string format_campus(const CampusSizing& c) {
  const auto& f = c.footprint;
  const auto& g = f.per_gpu;
  const auto& s = f.fabric;
  std::string out;
  out += fmt::format("campus: {:.0f} MW facility of {}\n", c.request.power_mw, c.gpu.name);
  out += fmt::format(
      "  GPUs                 {} ({} domains of {}), {:.3g} "
      "EFLOP/s dense BF16\n",
      f.gpus, f.gpus / c.unit_gpus, c.unit_gpus,
      static_cast<double>(f.gpus) * c.gpu.peak_flops(Precision::bf16) / 1e18);
  out += fmt::format(
      "  per GPU              {:.0f} W IT = GPU {:.0f} + host "
      "{:.0f} + NIC {:.0f} + switches {:.1f} + optics {:.1f} "
      "+ storage {:.1f}; {:.0f} W facility (PUE {:.2f})\n",
      g.it_w, g.gpu_w, g.host_w, g.nic_w, g.switch_w, g.optics_w, g.storage_w, g.facility_w, c.power.pue);
  out += fmt::format("  power                {:.1f} MW IT, {:.1f} MW facility\n", f.it_mw, f.facility_mw);
  out += fmt::format(
      "  fabric               {} radix {}, {} plane(s), {} "
      "tiers, oversubscription {:.3g}: {} switches (",
      to_string(c.cluster.fabric.kind), s.request.switch_radix, s.request.planes, s.tiers, s.request.oversubscription,
      s.switches);
  for (std::size_t i = 0; i < s.per_tier.size(); ++i)
    out += fmt::format("{}tier {} {}", i ? ", " : "", s.per_tier[i].tier, s.per_tier[i].switches);
  out += fmt::format(
      "), {} endpoint + {} switch links, {} transceivers, "
      "${:.0f} per endpoint\n",
      s.endpoint_links, s.inter_switch_links, s.transceivers, s.cost_per_endpoint_usd);
  out += fmt::format(
      "  capex                ${:.3g}B (servers {:.3g}, fabric "
      "{:.3g}, facility {:.3g}), ${:.0f} per GPU\n",
      f.capex_usd / 1e9, f.server_capex_usd / 1e9, f.fabric_capex_usd / 1e9, f.facility_capex_usd / 1e9,
      f.capex_per_gpu_usd);
  out += fmt::format(
      "  owned $/GPU-hour     {:.2f} (amortised {:.2f} + "
      "electricity {:.2f} at ${:.0f}/MWh)\n",
      f.usd_per_gpu_hour_owned, f.amortised_usd_per_gpu_hour, f.electricity_usd_per_gpu_hour,
      c.cost.electricity_usd_per_mwh);
  if (!f.fabric_note.empty()) out += "  note: " + f.fabric_note + "\n";
  return out;
}

}  // namespace gwsim
