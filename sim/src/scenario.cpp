#include "gwsim/sim/scenario.h"

#include <fmt/format.h>

#include <cctype>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& file) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set", "", fmt::format("\"{}\": expected path.to.key=value", assignment));
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // bare words are strings: --set parallelism.schedule=dualpipe
  }
  nlohmann::json* node = &doc;
  std::string walked = "$";
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw InputError("--set", "", fmt::format("\"{}\": empty key in the path", assignment));
    if (!node->is_object()) throw InputError(file, walked, fmt::format("--set {}: expected an object here", path));
    walked += "." + key;
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    if (!node->contains(key)) (*node)[key] = nlohmann::json::object();
    // A file reference being refined ("cluster": "name" with --set cluster.gpus=...) becomes
    // {"file": "name", ...} so the other keys of the file stay.
    if ((*node)[key].is_string()) (*node)[key] = nlohmann::json{{"file", (*node)[key]}};
    node = &(*node)[key];
    start = dot + 1;
  }
}

namespace {

PowerAssumptions parse_power(const JsonObject& o) {
  PowerAssumptions p;
  p.host_w_per_gpu = o.number_or("host_w_per_gpu", p.host_w_per_gpu);
  if (p.host_w_per_gpu < 0) o.fail("host_w_per_gpu", "expected 0 or more watts");
  p.cluster_overhead_fraction = o.number_or("cluster_overhead_fraction", p.cluster_overhead_fraction);
  if (p.cluster_overhead_fraction < 0) o.fail("cluster_overhead_fraction", "expected 0 or more");
  p.pue = o.number_or("pue", p.pue);
  if (p.pue < 1) o.fail("pue", fmt::format("expected a PUE of at least 1, got {}", p.pue));
  p.gpu_utilisation_power_fraction = o.number_or("gpu_power_fraction_of_tdp", p.gpu_utilisation_power_fraction);
  if (p.gpu_utilisation_power_fraction <= 0 || p.gpu_utilisation_power_fraction > 1.5)
    o.fail("gpu_power_fraction_of_tdp", "expected a fraction of TDP in (0, 1.5]");
  p.source = o.string_or("source", p.source);
  o.reject_unknown_keys();
  return p;
}

}  // namespace

Scenario parse_scenario(const nlohmann::json& doc, const std::string& file) {
  Scenario s;
  s.file = file;
  JsonObject o(doc, file, "$");
  if (o.string("schema") != "gwsim.scenario/1") o.fail("schema", "expected \"gwsim.scenario/1\"");
  s.name = o.string("name");
  s.description = o.string_or("description", "");
  o.allow({"notes", "source", "outputs"});
  const std::string base = directory_of(file);

  // Model: a catalogue name, a file, or an inline object.
  const auto& mj = o.raw("model");
  if (mj.is_string()) s.model = find_model(mj.get<std::string>(), base, file, "$.model");
  else if (mj.is_object()) s.model = parse_model(JsonObject(mj, file, "$.model"));
  else o.fail("model", "expected a catalogue model name, a .json path or an inline model object");

  // Cluster: a file, an inline object, or {"file": ..., <keys to change>} (e.g. another GPU count).
  const auto& cj = o.raw("cluster");
  auto cluster_path = [&](const std::string& name) {
    return name.size() > 5 && name.substr(name.size() - 5) == ".json"
               ? resolve_path(name, base)
               : resolve_path("hwmodels/data/clusters/" + name + ".json", "");
  };
  if (cj.is_string()) {
    s.cluster = load_cluster_file(cluster_path(cj.get<std::string>()));
  } else if (cj.is_object() && cj.contains("file")) {
    if (!cj["file"].is_string()) o.fail("cluster.file", "expected a cluster file name");
    auto merged = parse_json_file(cluster_path(cj["file"].get<std::string>()));
    for (auto it = cj.begin(); it != cj.end(); ++it)
      if (it.key() != "file") merged[it.key()] = it.value();
    s.cluster = parse_cluster(JsonObject(merged, file, "$.cluster"));
  } else if (cj.is_object()) {
    s.cluster = parse_cluster(JsonObject(cj, file, "$.cluster"));
  } else {
    o.fail("cluster", "expected a cluster file name or an inline cluster object");
  }
  s.gpu = find_gpu(s.cluster.gpu_name, file, "$.cluster.gpu");

  // Profile: a name under hwmodels/profiles/ or a .json path; default: the GPU's own file.
  std::string profile_ref;
  if (o.has("profile")) {
    profile_ref = o.string("profile");
  } else {
    o.allow({"profile"});
    for (char ch : s.gpu.name) profile_ref += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  s.profile = find_profile(profile_ref, base);
  if (s.profile.gpu_name != s.gpu.name)
    o.fail("profile", fmt::format("profile \"{}\" is for {}, but the cluster's GPU is {}", s.profile.name,
                                  s.profile.gpu_name, s.gpu.name));

  s.parallelism = parse_parallelism(o.object("parallelism"));
  s.training = parse_training(o.object("training"), s.model);
  if (s.training.precision == Precision::fp8 && !s.gpu.supports(Precision::fp8))
    throw InputError(file, "$.training.precision", fmt::format("{} has no FP8 tensor cores: expected bf16 or fp16", s.gpu.name));
  if (o.has("power")) s.power = parse_power(o.object("power"));
  else o.allow({"power"});
  if (s.power.source.empty())
    s.power.source =
        "host 575 W/GPU and +10% cluster overhead: SemiAnalysis 100k-H100 cluster (export_controls_power.json "
        "power.per_gpu.H100_HGX); PUE 1.2: Uptime Institute 2024 via export_controls_power.json power.PUE";
  if (o.has("cost")) {
    auto c = o.object("cost");
    s.cost.usd_per_gpu_hour = c.positive("usd_per_gpu_hour");
    s.cost.source = c.string_or("source", "scenario");
    c.reject_unknown_keys();
  } else {
    o.allow({"cost"});
    s.cost.source = "$2 per GPU-hour, DeepSeek-V3 report Table 1 rental assumption";
  }
  s.seed = static_cast<std::uint64_t>(o.integer_or("seed", 1));
  o.reject_unknown_keys();

  // The resolved scenario: every reference replaced by what it resolved to.
  s.resolved = doc;
  s.resolved["model"] = model_to_json(s.model);
  s.resolved["profile"] = profile_ref;  // loadable again: the report's scenario re-runs as is
  s.resolved["seed"] = s.seed;
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected a scenario object");
  for (const auto& ov : overrides) apply_override(doc, ov, path);
  return parse_scenario(doc, path);
}

}  // namespace gwsim
