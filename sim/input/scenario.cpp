#include "gwsim/sim/input/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/common/text_and_numbers.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/hwmodels/power.h"
#include "gwsim/hwmodels/reliability.h"

namespace gwsim {

void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& file) {
  const auto eq = assignment.find('=');
  const std::string path = eq == std::string::npos ? assignment : assignment.substr(0, eq);
  // Every refusal names the file, the JSON path the --set aims at, and the --set itself.
  auto refuse = [&](const std::string& json_path, const std::string& what) {
    throw InputError(file, json_path, fmt::format("--set {}: {}", path, what));
  };
  if (eq == std::string::npos || eq == 0) refuse("$", "expected --set path.to.key=value");
  const std::string text = assignment.substr(eq + 1);
  // Keys and bare words end up in the report: the same UTF-8 rule as for files.
  try {
    (void)nlohmann::json(assignment).dump();
  } catch (const nlohmann::json::type_error&) {
    refuse("$", "expected valid UTF-8 text");
  }
  std::vector<std::string> keys;
  for (std::size_t start = 0;;) {
    const auto dot = path.find('.', start);
    keys.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (keys.back().empty()) refuse("$", "empty key in the path: expected path.to.key=value");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (keys.size() > static_cast<std::size_t>(limits::kMaxJsonDepth))
    refuse("$", fmt::format("{} keys deep: expected at most {}", keys.size(), limits::kMaxJsonDepth));
  std::string target = "$";
  for (const auto& k : keys) target += "." + k;
  // JSON when it reads as JSON (numbers, true, objects ...), held to the limits of a file; bare
  // words are strings: --set parallelism.schedule=dualpipe.
  nlohmann::json value = nlohmann::json::accept(text) ? parse_json_text(text, file + ": " + target + ": --set " + path)
                                                      : nlohmann::json(text);
  nlohmann::json* node = &doc;
  std::string walked = "$";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    if (!node->is_object()) refuse(walked, "expected an object here");
    walked += "." + key;
    if (i + 1 == keys.size()) {
      (*node)[key] = std::move(value);
      return;
    }
    if (!node->contains(key)) (*node)[key] = nlohmann::json::object();
    // A file reference being refined ("cluster": "name" with --set cluster.gpus=...) becomes
    // {"file": "name", ...} so the other keys of the file stay.
    if ((*node)[key].is_string()) (*node)[key] = nlohmann::json{{"file", (*node)[key]}};
    node = &(*node)[key];
  }
}

namespace {

std::string figure_source(const Figure& f) { return f.estimate ? f.source + " [estimate]" : f.source; }

// A number the scenario may state; otherwise the data file's figure, with its source recorded.
double stated_or(const JsonObject& o, const std::string& key, const Figure& fallback,
                 std::map<std::string, std::string>& sources) {
  if (o.has(key)) {
    sources[key] = "scenario";
    return o.number(key);
  }
  sources[key] = figure_source(fallback);
  return fallback.value;
}

void require_at_least(const JsonObject& o, const std::string& key, double value, double min, const std::string& what) {
  if (!std::isfinite(value) || value < min) o.fail(key, fmt::format("expected {}, got {}", what, value));
}

// A stated-or-default figure that must be at least `min`.
double stated_at_least(const JsonObject& o, const std::string& key, const Figure& fallback,
                       std::map<std::string, std::string>& sources, double min, const std::string& what) {
  const double value = stated_or(o, key, fallback, sources);
  require_at_least(o, key, value, min, what);
  return value;
}

PowerAssumptions parse_power(const nlohmann::json* pj, const std::string& file, const GpuSpec& gpu) {
  const auto& d = power_defaults();
  static const nlohmann::json empty = nlohmann::json::object();
  JsonObject o(pj ? *pj : empty, file, "$.power");
  PowerAssumptions p;
  p.host_w_per_gpu = stated_at_least(o, "host_w_per_gpu", d.host_for(gpu.name), p.sources, 0, "0 or more watts");
  p.nic_w = stated_at_least(o, "nic_w", d.nic_w, p.sources, 0, "0 or more watts");
  p.switch_w = stated_at_least(o, "switch_w", d.switch_w, p.sources, 0, "0 or more watts");
  p.transceiver_w = stated_at_least(o, "transceiver_w", d.transceiver_w, p.sources, 0, "0 or more watts");
  p.storage_fraction =
      stated_at_least(o, "storage_fraction", d.storage_fraction, p.sources, 0, "a fraction of 0 or more");
  p.pue = stated_or(o, "pue", d.pue, p.sources);
  if (!(p.pue >= 1) || !(p.pue <= 5)) o.fail("pue", fmt::format("expected a PUE from 1 to 5, got {}", p.pue));
  p.gpu_idle_fraction_of_tdp = d.gpu_idle_fraction_of_tdp.value;
  if (o.has("gpu_power_fraction_of_tdp") && o.raw("gpu_power_fraction_of_tdp").is_string()) {
    if (o.string("gpu_power_fraction_of_tdp") != "compute_fraction")
      o.fail("gpu_power_fraction_of_tdp", "expected a fraction of TDP in (0, 1.5] or \"compute_fraction\"");
    p.gpu_power_from_compute = true;
    p.sources["gpu_power_fraction_of_tdp"] =
        "scenario: idle + (1 - idle) x simulated compute fraction, idle " + figure_source(d.gpu_idle_fraction_of_tdp);
  } else if (o.has("gpu_power_fraction_of_tdp")) {
    p.gpu_power_fraction_of_tdp = o.number("gpu_power_fraction_of_tdp");
    if (!(p.gpu_power_fraction_of_tdp > 0) || p.gpu_power_fraction_of_tdp > 1.5)
      o.fail("gpu_power_fraction_of_tdp", "expected a fraction of TDP in (0, 1.5] or \"compute_fraction\"");
    p.sources["gpu_power_fraction_of_tdp"] = "scenario";
  } else {
    p.sources["gpu_power_fraction_of_tdp"] =
        "1.0: GPUs at TDP, the rated power a facility provisions (export_controls_power.json power.formulas)";
  }
  p.source = o.string_or("source", "");
  o.reject_unknown_keys();
  return p;
}

CostAssumptions parse_cost(const nlohmann::json* cj, const std::string& file, const GpuSpec& gpu) {
  const auto& d = cost_defaults();
  static const nlohmann::json empty = nlohmann::json::object();
  JsonObject o(cj ? *cj : empty, file, "$.cost");
  CostAssumptions c;
  if (o.has("usd_per_gpu_hour")) {
    c.usd_per_gpu_hour = o.positive("usd_per_gpu_hour");
    c.source = o.string_or("source", "scenario");
  } else {
    c.source = o.string_or("source", "$2 per GPU-hour, DeepSeek-V3 report Table 1 rental assumption");
  }
  c.sources["usd_per_gpu_hour"] = c.source;
  c.server_usd_per_gpu =
      stated_at_least(o, "server_usd_per_gpu", d.server_for(gpu.name), c.sources, 0, "0 or more dollars");
  c.switch_usd = stated_at_least(o, "switch_usd", d.switch_usd, c.sources, 0, "0 or more dollars");
  c.link_usd = stated_at_least(o, "link_usd", d.link_usd, c.sources, 0, "0 or more dollars");
  c.facility_usd_per_w =
      stated_at_least(o, "facility_usd_per_w", d.facility_usd_per_w, c.sources, 0, "0 or more dollars per watt");
  c.electricity_usd_per_mwh = stated_at_least(o, "electricity_usd_per_mwh", d.electricity_usd_per_mwh, c.sources, 0,
                                              "0 or more dollars per MWh");
  c.it_amortisation_years = stated_or(o, "it_amortisation_years", d.it_amortisation_years, c.sources);
  if (!(c.it_amortisation_years > 0)) o.fail("it_amortisation_years", "expected more than 0 years");
  c.facility_amortisation_years = stated_or(o, "facility_amortisation_years", d.facility_amortisation_years, c.sources);
  if (!(c.facility_amortisation_years > 0)) o.fail("facility_amortisation_years", "expected more than 0 years");
  o.reject_unknown_keys();
  return c;
}

ReliabilityAssumptions parse_reliability(const nlohmann::json* rj, const std::string& file) {
  const auto& d = reliability_defaults();
  static const nlohmann::json empty = nlohmann::json::object();
  JsonObject o(rj ? *rj : empty, file, "$.reliability");
  ReliabilityAssumptions r;
  auto& src = r.sources;
  if (o.has("failure_rate_scale")) {
    r.failure_rate_scale = o.number("failure_rate_scale");
    require_at_least(o, "failure_rate_scale", r.failure_rate_scale, 0, "a multiplier of 0 or more");
    src["failure_rate_scale"] = "scenario";
  } else {
    src["failure_rate_scale"] = "1: " + d.source;
  }
  r.checkpoint_bytes_per_param = stated_or(o, "checkpoint_bytes_per_param", d.checkpoint_bytes_per_param, src);
  if (!(r.checkpoint_bytes_per_param > 0)) o.fail("checkpoint_bytes_per_param", "expected more than 0 bytes");
  r.checkpoint_write_gbs = stated_or(o, "checkpoint_write_gbs", d.checkpoint_write_gbs, src);
  if (!(r.checkpoint_write_gbs > 0)) o.fail("checkpoint_write_gbs", "expected a write bandwidth above 0 GB/s");
  if (o.has("checkpoint_write_s")) {
    r.checkpoint_write_s = o.number("checkpoint_write_s");
    require_at_least(o, "checkpoint_write_s", r.checkpoint_write_s, 0, "0 or more seconds");
    src["checkpoint_write_s"] = "scenario";
  } else {
    src["checkpoint_write_s"] = "parameters x checkpoint_bytes_per_param / checkpoint_write_gbs";
  }
  r.restart_s = stated_at_least(o, "restart_s", d.restart_s, src, 0, "0 or more seconds");
  if (o.has("checkpoint_interval_s")) {
    r.checkpoint_interval_s = o.positive("checkpoint_interval_s");
    src["checkpoint_interval_s"] = "scenario";
  } else {
    src["checkpoint_interval_s"] = "the optimum of Daly's (2006) renewal model, rounded up to whole steps";
  }
  r.include_planned = o.boolean_or("include_planned", true);
  r.inject_failures = o.boolean_or("inject_failures", false);
  // Bounded: a trial costs ~0.1 us per failure (1M GPUs, 60 days: 45k failures with a 1-minute
  // restart, 1.4M with the default 10 minutes, ~0.1 s), and trials multiply it.
  r.injection_trials = o.integer_in_or("injection_trials", 1, limits::kMaxInjectionTrials, 1);
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return r;
}

// Reads cluster.gpu_variant (removed from the cluster object before the strict cluster reader
// sees it) and applies it to the GPU and the cluster's scale-up bandwidth.
void apply_gpu_variant(const nlohmann::json& vj, const std::string& file, ScenarioHardware& hw) {
  JsonObject o(vj, file, "$.cluster.gpu_variant");
  GpuVariantRequest& v = hw.gpu_variant;
  v.active = true;
  v.base_gpu = hw.gpu.name;
  GpuSpec capped = hw.gpu;
  try {
    if (o.has("rule")) {
      v.rule = o.string("rule");
      v.cap = o.one_of("cap", {"interconnect", "io", "compute", "hbm"});
      require_export_rule(v.rule, file, o.path_of("rule"));  // unknown ids refused with the path
      capped = derive_compliant_variant(capped, v.rule, v.cap, &v.applied);
    }
    if (o.has("caps")) {
      JsonObject c = o.object("caps");
      std::vector<Cap> caps;
      for (auto it = c.json().begin(); it != c.json().end(); ++it) {
        const std::string kind = it.key();
        if (kind != "interconnect" && kind != "io" && kind != "compute" && kind != "hbm")
          c.fail(kind, "unknown cap: expected interconnect (GB/s), io (GB/s), compute (TPP) or hbm (GB/s)");
        const double value = c.number(kind);
        if (!std::isfinite(value) || !(value > 0)) c.fail(kind, fmt::format("expected a positive cap, got {}", value));
        caps.push_back(Cap{kind, value});
        v.caps.emplace_back(kind, value);
      }
      c.reject_unknown_keys();
      if (caps.empty()) o.fail("caps", "expected at least one cap, e.g. {\"interconnect\": 400}");
      const std::string name = capped.name;
      capped = apply_caps(capped, caps, "", &v.applied);
      if (capped.name == hw.gpu.name) capped.name = name + " (capped)";
    }
    if (!o.has("rule") && !o.has("caps"))
      o.fail("rule", "expected {\"rule\": RULE, \"cap\": interconnect|compute|hbm} or {\"caps\": {KIND: VALUE}}");
  } catch (const InputError& e) {
    // The classifier names its own origin ("<input>: --cap compute: ..."); name the JSON path.
    std::string what = e.what();
    if (!file.empty() && what.rfind(file, 0) == 0) throw;  // already names the file and path
    if (what.rfind("<input>: ", 0) == 0) what = what.substr(9);
    if (dynamic_cast<const InfeasibleError*>(&e)) throw InfeasibleError(file, "$.cluster.gpu_variant", what);
    throw InputError(file, "$.cluster.gpu_variant", what);
  }
  o.reject_unknown_keys();
  hw.gpu = capped;
  // The cluster's scale-up links run no faster than the capped chip's.
  hw.cluster.scaleup_per_direction_bps =
      std::min(hw.cluster.scaleup_per_direction_bps, hw.gpu.scaleup_per_direction_bps());
}

}  // namespace

ScenarioHardware resolve_hardware(const JsonObject& o, const std::string& base) {
  const std::string& file = o.file();
  ScenarioHardware hw;
  // Cluster: a file, an inline object, or {"file": ..., <keys to change>} (e.g. another GPU count).
  nlohmann::json cj = o.raw("cluster");
  nlohmann::json variant_json;
  if (cj.is_object() && cj.contains("gpu_variant")) {
    variant_json = cj["gpu_variant"];
    cj.erase("gpu_variant");
    if (!variant_json.is_object())
      o.fail("cluster.gpu_variant", "expected {\"rule\": ..., \"cap\": ...} or {\"caps\": {...}}");
  }
  hw.cluster = resolve_cluster_ref(cj, o, base);
  hw.gpu = find_gpu(hw.cluster.gpu_name, file, "$.cluster.gpu");
  if (!variant_json.is_null()) apply_gpu_variant(variant_json, file, hw);

  // Profile: a name under hwmodels/profiles/ or a .json path; default: the chip's measured
  // profile, else its derived one, else its published one (preferred_profile_for). A capped
  // variant runs with its base chip's profile: the caps change the peaks, not the efficiencies.
  const std::string chip = hw.gpu_variant.active ? hw.gpu_variant.base_gpu : hw.gpu.name;
  if (o.has("profile")) {
    hw.profile_ref = o.string("profile");
  } else {
    o.allow({"profile"});
    hw.profile_ref = preferred_profile_name(find_gpu(chip));
  }
  hw.profile = find_profile(hw.profile_ref, base, file, "$.profile");
  if (hw.profile.gpu_name != chip)
    o.fail("profile", fmt::format("profile \"{}\" is for {}, but the cluster's GPU is {}", hw.profile.name,
                                  hw.profile.gpu_name, chip));
  return hw;
}

ModelSpec resolve_model_ref(const JsonObject& o, const std::string& base) {
  // A catalogue name, a file, or an inline object.
  const auto& mj = o.raw("model");
  if (mj.is_string()) return find_model(mj.get<std::string>(), base, o.file(), o.path_of("model"));
  if (mj.is_object()) return parse_model(JsonObject(mj, o.file(), o.path_of("model")));
  o.fail("model", "expected a catalogue model name, a .json path or an inline model object");
}

ClusterSpec resolve_cluster_ref(const nlohmann::json& cj, const JsonObject& o, const std::string& base) {
  auto is_file_name = [](const std::string& name) {
    return name.size() > 5 && name.substr(name.size() - 5) == ".json";
  };
  auto cluster_path = [&](const std::string& name) {
    return is_file_name(name) ? resolve_path(name, base) : resolve_path("hwmodels/data/clusters/" + name + ".json", "");
  };
  // A name that does not resolve to a readable file is refused at the scenario's own path.
  auto readable_cluster = [&](const std::string& name, const std::string& json_path) {
    const std::string path = cluster_path(name);
    if (!is_file_name(name) && !path_exists(path)) {
      std::vector<std::string> names;
      std::error_code ec;
      for (std::filesystem::directory_iterator it(data_dir() + "/hwmodels/data/clusters", ec), end; !ec && it != end;
           it.increment(ec))
        if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
      std::sort(names.begin(), names.end());
      o.fail(json_path,
             fmt::format("unknown cluster \"{}\": expected one of {} or a .json file", name, fmt::join(names, ", ")));
    }
    require_readable_file(path, o.file(), o.path_of(json_path));
    return path;
  };
  if (cj.is_string()) return load_cluster_file(readable_cluster(cj.get<std::string>(), "cluster"));
  if (cj.is_object() && cj.contains("file")) {
    if (!cj["file"].is_string()) o.fail("cluster.file", "expected a cluster file name");
    auto merged = parse_json_file(readable_cluster(cj["file"].get<std::string>(), "cluster.file"));
    if (!merged.is_object())
      throw InputError(cluster_path(cj["file"].get<std::string>()), "$", "expected a cluster object");
    for (auto it = cj.begin(); it != cj.end(); ++it)
      if (it.key() != "file") merged[it.key()] = it.value();
    return parse_cluster(JsonObject(merged, o.file(), o.path_of("cluster")));
  }
  if (cj.is_object()) return parse_cluster(JsonObject(cj, o.file(), o.path_of("cluster")));
  o.fail("cluster", "expected a cluster file name or an inline cluster object");
}

Scenario parse_scenario(const nlohmann::json& doc, const std::string& file) {
  Scenario s;
  s.file = file;
  JsonObject o(doc, file, "$");
  o.require_schema("gwsim.scenario/1");
  s.name = o.string("name");
  s.description = o.string_or("description", "");
  o.allow({"notes", "source", "outputs"});
  const std::string base = directory_of(file);

  s.model = resolve_model_ref(o, base);

  ScenarioHardware hw = resolve_hardware(o, base);
  s.cluster = std::move(hw.cluster);
  s.gpu = std::move(hw.gpu);
  s.gpu_variant = std::move(hw.gpu_variant);
  s.profile = std::move(hw.profile);
  const std::string profile_ref = hw.profile_ref;

  s.parallelism = parse_parallelism(o.object("parallelism"));
  s.training = parse_training(o.object("training"), s.model);
  if (s.training.precision == Precision::fp8 && !s.gpu.supports(Precision::fp8))
    throw InputError(file, "$.training.precision",
                     fmt::format("{} has no FP8 tensor cores: expected bf16 or fp16", s.gpu.name));
  o.allow({"power", "cost", "reliability"});
  s.power = parse_power(o.has("power") ? &doc["power"] : nullptr, file, s.gpu);
  s.cost = parse_cost(o.has("cost") ? &doc["cost"] : nullptr, file, s.gpu);
  s.reliability = parse_reliability(o.has("reliability") ? &doc["reliability"] : nullptr, file);
  o.allow({"asymmetry"});
  if (o.has("asymmetry")) s.asymmetry = parse_asymmetry(doc["asymmetry"], file, s.parallelism.pp);
  s.seed = static_cast<std::uint64_t>(o.integer_in_or("seed", 0, INT64_MAX, 1));
  o.reject_unknown_keys();

  // The resolved scenario: every reference replaced by what it resolved to.
  s.resolved = without_nulls(doc);
  s.resolved["model"] = model_to_json(s.model);
  s.resolved["profile"] = profile_ref;  // loadable again: the report's scenario re-runs as is
  s.resolved["seed"] = s.seed;
  // The framework's defaults written out, so that the report says what ran, not only what was stated.
  auto& training = s.resolved["training"];
  training["framework"] = to_string(s.training.framework);
  training["comm_sms"] = s.training.comm_sms;
  training["overlap"]["ep"] = s.training.overlap_ep;
  if (s.training.precision == Precision::fp8) training["fp8_scaling"] = to_string(s.training.fp8_scaling);
  if (s.model.moe) s.resolved["parallelism"]["expert_tp"] = resolved_expert_tp(s.parallelism, s.training);
  return s;
}

PowerAssumptions default_power_assumptions(const GpuSpec& gpu) { return parse_power(nullptr, "", gpu); }
CostAssumptions default_cost_assumptions(const GpuSpec& gpu) { return parse_cost(nullptr, "", gpu); }

void retarget_gpu_defaults(Scenario& s, const GpuSpec& gpu) {
  const auto p = default_power_assumptions(gpu);
  if (s.power.sources["host_w_per_gpu"] != "scenario") {
    s.power.host_w_per_gpu = p.host_w_per_gpu;
    s.power.sources["host_w_per_gpu"] = p.sources.at("host_w_per_gpu");
  }
  const auto c = default_cost_assumptions(gpu);
  if (s.cost.sources["server_usd_per_gpu"] != "scenario") {
    s.cost.server_usd_per_gpu = c.server_usd_per_gpu;
    s.cost.sources["server_usd_per_gpu"] = c.sources.at("server_usd_per_gpu");
  }
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected a scenario object");
  for (const auto& ov : overrides) apply_override(doc, ov, path);
  return parse_scenario(doc, path);
}

}  // namespace gwsim
