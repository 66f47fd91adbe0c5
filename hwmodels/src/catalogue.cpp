// Loading the GPU catalogue and cluster descriptions (profiles are parsed in profile.cpp; only the
// lookup of the default profile file lives here, because it is keyed by catalogue name).
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/common/text_and_numbers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace fs = std::filesystem;

namespace {

const char* kGpuSchema = "gwsim.gpu/1";
const char* kClusterSchema = "gwsim.cluster/1";

// A figure is a plain number (documented by the enclosing object's "source") or
// {"value", "source", "estimate"}. Every figure must end up with a non-empty source: the catalogue
// is where the simulator's absolute numbers come from, and an unsourced one cannot be checked.
Figure read_figure(const JsonObject& parent, const std::string& key, const std::string& enclosing_source) {
  const nlohmann::json& v = parent.raw(key);
  Figure f;
  if (v.is_number()) {
    if (enclosing_source.empty())
      parent.fail(key,
                  "a plain number needs a \"source\" in the enclosing object: expected {\"value\": ..., "
                  "\"source\": \"...\"}");
    f.value = v.get<double>();
    f.source = enclosing_source;
  } else if (v.is_object()) {
    JsonObject o(v, parent.file(), parent.path_of(key));
    f.value = o.number("value");
    f.source = o.string("source");
    if (f.source.empty()) o.fail("source", "expected a non-empty source for this figure");
    f.estimate = o.boolean_or("estimate", false);
    o.allow({"notes", "description"});
    o.reject_unknown_keys();
  } else {
    parent.fail(key, "expected a number or {\"value\": number, \"source\": string, \"estimate\": bool}");
  }
  if (!std::isfinite(f.value) || !(f.value > 0))
    parent.fail(key, fmt::format("expected a positive figure, got {}", f.value));
  return f;
}

Figure read_integer_figure(const JsonObject& parent, const std::string& key, const std::string& enclosing_source) {
  Figure f = read_figure(parent, key, enclosing_source);
  if (std::floor(f.value) != f.value) parent.fail(key, fmt::format("expected a whole number, got {}", f.value));
  return f;
}

}  // namespace

std::string gpu_lookup_key(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

GpuSpec parse_gpu(const JsonObject& obj) {
  GpuSpec g;
  obj.one_of("schema", {kGpuSchema});
  g.name = obj.string("name");
  if (g.name.empty()) obj.fail("name", "expected a non-empty name");
  if (obj.has("aliases"))
    g.aliases = obj.string_array("aliases");
  else
    obj.allow({"aliases"});
  g.vendor = obj.string("vendor");
  g.architecture = obj.string("architecture");
  g.datacenter = obj.boolean_or("datacenter", true);
  g.notes = obj.string_or("notes", "");
  const std::string source = obj.string_or("source", "");
  obj.allow({"description"});

  JsonObject peaks = obj.object("peak_dense_tflops");
  const std::string peaks_source = peaks.string_or("source", source);
  peaks.allow({"notes", "description"});
  for (auto it = peaks.json().begin(); it != peaks.json().end(); ++it) {
    const std::string& key = it.key();
    if (key == "source" || key == "notes" || key == "description") continue;
    auto p = parse_precision(key);
    if (!p) peaks.fail(key, "unknown precision: expected one of fp64|fp32|tf32|bf16|fp16|fp8|int8|fp4");
    g.peak_dense_tflops[*p] = read_figure(peaks, key, peaks_source);
  }
  peaks.reject_unknown_keys();
  if (g.peak_dense_tflops.empty()) obj.fail("peak_dense_tflops", "expected at least one precision");

  g.hbm_capacity_gb = read_figure(obj, "hbm_capacity_gb", source);
  g.hbm_bandwidth_gbs = read_figure(obj, "hbm_bandwidth_gbs", source);
  g.scaleup_bidir_gbs = read_figure(obj, "scaleup_bidir_gbs", source);
  g.scaleup_domain_gpus = read_integer_figure(obj, "scaleup_domain_gpus", source);
  g.die_area_mm2 = read_figure(obj, "die_area_mm2", source);
  g.tdp_w = read_figure(obj, "tdp_w", source);
  g.sm_count = read_integer_figure(obj, "sm_count", source);
  obj.reject_unknown_keys();
  return g;
}

GpuSpec load_gpu_file(const std::string& path) {
  nlohmann::json j = parse_json_file(path);
  return parse_gpu(JsonObject(j, path, "$"));
}

std::vector<GpuSpec> load_gpu_dir(const std::string& dir) {
  if (!fs::is_directory(dir))
    throw InputError(dir, "", "GPU catalogue folder not found: expected a folder of *.json files");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());

  std::vector<GpuSpec> out;
  std::map<std::string, std::string> owner;  // lookup key -> file that claimed it
  for (const auto& f : files) {
    GpuSpec g = load_gpu_file(f);
    std::vector<std::string> keys{g.name};
    keys.insert(keys.end(), g.aliases.begin(), g.aliases.end());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string k = gpu_lookup_key(keys[i]);
      std::string path = i == 0 ? "$.name" : fmt::format("$.aliases[{}]", i - 1);
      auto [it, fresh] = owner.emplace(k, f);
      // The same key twice in one file (an alias that spells the name) is harmless; across files it
      // would make find_gpu ambiguous.
      if (!fresh && it->second != f)
        throw InputError(
            f, path,
            fmt::format("\"{}\" is already a name or alias in {}: expected unique names", keys[i], it->second));
    }
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const GpuSpec& a, const GpuSpec& b) { return a.name < b.name; });
  return out;
}

const std::vector<GpuSpec>& gpu_catalogue() {
  // Loaded once; a throwing initialisation leaves the static uninitialised, so the next call retries.
  static const std::vector<GpuSpec> catalogue = load_gpu_dir(data_dir() + "/hwmodels/data/gpus");
  return catalogue;
}

const GpuSpec& find_gpu(const std::string& name, const std::string& file, const std::string& json_path) {
  const auto& cat = gpu_catalogue();
  std::string key = gpu_lookup_key(name);
  for (const auto& g : cat) {
    if (gpu_lookup_key(g.name) == key) return g;
    for (const auto& a : g.aliases)
      if (gpu_lookup_key(a) == key) return g;
  }
  // "NVIDIA H100 SXM", "AMD MI300X", "Huawei Ascend 910B": accept the vendor as a prefix.
  for (const auto& g : cat) {
    std::string v = gpu_lookup_key(g.vendor);
    if (v.empty() || key.rfind(v, 0) != 0) continue;
    std::string rest = key.substr(v.size());
    if (gpu_lookup_key(g.name) == rest) return g;
    for (const auto& a : g.aliases)
      if (gpu_lookup_key(a) == rest) return g;
  }
  std::vector<std::string> names;
  for (const auto& g : cat) names.push_back(g.name);
  throw InputError(file, json_path,
                   fmt::format("unknown GPU \"{}\": expected one of {}", name, fmt::join(names, ", ")));
}

// Clusters ---------------------------------------------------------------------------------------

namespace {

// Endpoints one plane of a folded-Clos (fat tree) of radix k and t tiers can attach: k for one
// switch, then each tier multiplies by k/2 (k^2/2, k^3/4 ...: export_controls_power.json topology
// formulas). An oversubscribed leaf (r:1) puts k*r/(r+1) ports down instead of k/2.
double fat_tree_capacity(int radix, int tiers, double oversubscription) {
  if (tiers == 1) return radix;
  double cap = 2.0 * std::pow(radix / 2.0, tiers);
  return cap * (2.0 * oversubscription / (oversubscription + 1.0));
}

}  // namespace

ClusterSpec parse_cluster(const JsonObject& obj) {
  ClusterSpec c;
  obj.one_of_or("schema", {kClusterSchema}, kClusterSchema);
  c.name = obj.string("name");
  c.gpu_name = obj.string("gpu");
  const GpuSpec& gpu = find_gpu(c.gpu_name, obj.file(), obj.path_of("gpu"));
  c.gpu_name = gpu.name;  // canonical catalogue key, whatever alias the file used
  c.gpus = obj.integer_in("gpus", 1, limits::kMaxGpus);
  c.gpus_per_node = obj.int_in_or("gpus_per_node", 1, limits::kMaxGpus, 8);
  if (c.gpus % c.gpus_per_node != 0)
    obj.fail("gpus",
             fmt::format("expected a positive multiple of gpus_per_node ({}), got {}", c.gpus_per_node, c.gpus));

  const bool domain_given = obj.has("scaleup_domain_gpus");
  std::int64_t domain = obj.integer_in_or("scaleup_domain_gpus", 1, limits::kMaxGpus,
                                          static_cast<std::int64_t>(gpu.scaleup_domain_gpus.value));
  if (!domain_given && domain > c.gpus) domain = c.gpus;  // a partial NVL72 rack: the domain is what exists
  if (domain > c.gpus)
    obj.fail("scaleup_domain_gpus", fmt::format("expected at most gpus ({}), got {}", c.gpus, domain));
  if (domain % c.gpus_per_node != 0 && c.gpus_per_node % domain != 0)
    obj.fail("scaleup_domain_gpus",
             fmt::format("expected a multiple or a divisor of gpus_per_node ({}), got {}", c.gpus_per_node, domain));
  if (c.gpus % domain != 0)
    obj.fail(domain_given ? "scaleup_domain_gpus" : "gpus",
             fmt::format("expected gpus ({}) to be a multiple of the scale-up domain ({} GPUs)", c.gpus, domain));
  c.scaleup_domain_gpus = static_cast<int>(domain);

  double bidir_gbs = obj.has("scaleup_bidir_gbs") ? obj.positive("scaleup_bidir_gbs")
                                                  : obj.number_or("scaleup_bidir_gbs", gpu.scaleup_bidir_gbs.value);
  if (bidir_gbs > gpu.scaleup_bidir_gbs.value * (1 + 1e-9))
    obj.fail("scaleup_bidir_gbs", fmt::format("expected at most the {}'s own {} GB/s, got {}", gpu.name,
                                              gpu.scaleup_bidir_gbs.value, bidir_gbs));
  c.scaleup_per_direction_bps = bidir_gbs * 1e9 / 2;
  c.scaleup_latency_s =
      (obj.has("scaleup_latency_us") ? obj.positive("scaleup_latency_us") : obj.number_or("scaleup_latency_us", 3)) *
      1e-6;

  c.nics_per_node = obj.int_in_or("nics_per_node", 1, limits::kMaxGpus, c.gpus_per_node);
  double nic_gbps = obj.has("nic_gbps") ? obj.positive("nic_gbps") : obj.number_or("nic_gbps", 400);
  c.nic_bps = nic_gbps * 1e9 / 8;  // Gb/s line rate -> bytes/s

  if (obj.has("fabric")) {
    JsonObject f = obj.object("fabric");
    std::string kind = f.one_of_or("kind", {"fat_tree", "rail_optimized", "multi_plane_fat_tree"}, "fat_tree");
    c.fabric.kind = kind == "rail_optimized"         ? FabricKind::rail_optimized
                    : kind == "multi_plane_fat_tree" ? FabricKind::multi_plane_fat_tree
                                                     : FabricKind::fat_tree;
    // Radix: 64 ports (Quantum-2), 128 (Spectrum-4, Quantum-X800 144); 2^16 is far past any switch.
    c.fabric.switch_radix = f.int_in_or("switch_radix", 1, 1 << 16, 64);
    if (c.fabric.switch_radix < 2 || c.fabric.switch_radix % 2 != 0)
      f.fail("switch_radix", fmt::format("expected an even number of ports >= 2, got {}", c.fabric.switch_radix));
    c.fabric.tiers = f.int_in_or("tiers", 1, 4, 2);
    c.fabric.oversubscription = f.number_or("oversubscription", 1.0);
    if (!(c.fabric.oversubscription >= 1.0))
      f.fail("oversubscription",
             fmt::format("expected a downlink:uplink ratio >= 1, got {}", c.fabric.oversubscription));
    c.fabric.planes = f.int_in_or("planes", 1, limits::kMaxGpus, 1);
    if (c.fabric.kind != FabricKind::multi_plane_fat_tree && c.fabric.planes != 1)
      f.fail("planes", fmt::format("expected 1 plane unless kind is multi_plane_fat_tree, got {}", c.fabric.planes));
    if (c.nics_per_node % c.fabric.planes != 0)
      f.fail("planes",
             fmt::format("expected a divisor of nics_per_node ({}), got {}", c.nics_per_node, c.fabric.planes));
    double hop_us = f.number_or("hop_latency_us", 0.6);
    double nic_us = f.number_or("nic_latency_us", 2.0);
    if (hop_us < 0) f.fail("hop_latency_us", fmt::format("expected a latency >= 0, got {}", hop_us));
    if (nic_us < 0) f.fail("nic_latency_us", fmt::format("expected a latency >= 0, got {}", nic_us));
    c.fabric.hop_latency_s = hop_us * 1e-6;
    c.fabric.nic_latency_s = nic_us * 1e-6;
    f.allow({"source", "notes", "description"});
    f.reject_unknown_keys();

    // The fabric must be able to attach every NIC: a 2-tier radix-64 tree cannot hold 100k GPUs.
    double endpoints_per_plane = static_cast<double>(c.nodes()) * c.nics_per_node / c.fabric.planes;
    double capacity = fat_tree_capacity(c.fabric.switch_radix, c.fabric.tiers, c.fabric.oversubscription);
    if (endpoints_per_plane > capacity)
      obj.fail("fabric", fmt::format("{:.0f} NIC endpoints per plane exceed the {:.0f} a {}-tier fat tree of radix {} "
                                     "attaches: expected more tiers, planes or ports",
                                     endpoints_per_plane, capacity, c.fabric.tiers, c.fabric.switch_radix));
  } else {
    obj.allow({"fabric"});
  }
  c.source = obj.string_or("source", "");
  obj.allow({"notes", "description"});
  obj.reject_unknown_keys();
  return c;
}

ClusterSpec load_cluster_file(const std::string& path) {
  nlohmann::json j = parse_json_file(path);
  JsonObject obj(j, path, "$");
  if (!obj.has("schema")) obj.fail("schema", fmt::format("missing required field: expected \"{}\"", kClusterSchema));
  return parse_cluster(obj);
}

// Profiles (lookup only; parsing is in profile.cpp) ---------------------------------------------

namespace {
std::string profiles_dir() { return data_dir() + "/hwmodels/profiles"; }

std::vector<std::string> available_profiles() {
  std::vector<std::string> names;
  if (fs::is_directory(profiles_dir()))
    for (const auto& e : fs::directory_iterator(profiles_dir()))
      if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}
}  // namespace

Profile default_profile_for(const GpuSpec& gpu) {
  std::string path = profiles_dir() + "/" + to_lower(gpu.name) + ".json";
  if (!path_exists(path))
    throw InputError(path, "$",
                     fmt::format("no default profile for GPU {}: expected this file (profiles present: {})", gpu.name,
                                 fmt::join(available_profiles(), ", ")));
  return load_profile_file(path);
}

std::string preferred_profile_name(const GpuSpec& gpu) {
  for (const char* suffix : {"-measured", "-derived"}) {
    const std::string name = to_lower(gpu.name) + suffix;
    if (path_exists(profiles_dir() + "/" + name + ".json")) return name;
  }
  return to_lower(gpu.name);  // the published one (find_profile names what is missing)
}

Profile preferred_profile_for(const GpuSpec& gpu) { return find_profile(preferred_profile_name(gpu), ""); }

Profile find_profile(const std::string& name_or_path, const std::string& base_dir, const std::string& file,
                     const std::string& json_path) {
  const std::string ext = ".json";
  bool is_path =
      name_or_path.size() > ext.size() && name_or_path.compare(name_or_path.size() - ext.size(), ext.size(), ext) == 0;
  // A name given on the command line (file "") is named as the option's value.
  const std::string from_path = file.empty() && json_path.empty() ? "$" : json_path;
  if (is_path) {
    std::string path = resolve_path(name_or_path, base_dir);
    require_readable_file(path, file.empty() ? name_or_path : file, from_path);
    return load_profile_file(path);
  }
  std::string path = profiles_dir() + "/" + to_lower(name_or_path) + ext;
  if (name_or_path.find('/') != std::string::npos || !path_exists(path))
    throw InputError(file, from_path,
                     fmt::format("unknown profile \"{}\": expected a .json path or one of {}", name_or_path,
                                 fmt::join(available_profiles(), ", ")));
  return load_profile_file(path);
}

}  // namespace gwsim
