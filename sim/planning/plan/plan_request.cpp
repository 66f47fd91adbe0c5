// gwsim plan: reading a gwsim.plan/1 request (strict, FILE: $.path errors).
#include <fmt/format.h>

#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/sim/planning/chip_swap.h"
#include "gwsim/sim/planning/plan.h"

namespace gwsim {

namespace {

constexpr std::size_t kMaxListValues = 4096;  // values of one search list (a GPU range included)

// The default global batch when none is given: 2^24 tokens (Llama 3 405B's 16M-token batch,
// Sec 3.4.1) in whole sequences.
std::int64_t default_global_batch(std::int64_t seq_len) {
  return std::max<std::int64_t>(1, std::llround((1LL << 24) / static_cast<double>(seq_len)));
}

template <class T, class F>
std::vector<T> read_list(const JsonObject& o, const std::string& key, F&& read_one) {
  std::vector<T> out;
  if (!o.has(key)) {
    o.allow({key.c_str()});
    return out;
  }
  const auto& v = o.raw(key);
  const std::string path = o.path_of(key);
  if (!v.is_array() || v.empty()) o.fail(key, "expected a non-empty array");
  if (v.size() > kMaxListValues) o.fail(key, fmt::format("{} values: expected at most {}", v.size(), kMaxListValues));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", path, i);
    T value = read_one(v[i], p);
    for (const auto& prev : out)
      if (prev == value) throw InputError(o.file(), p, "a value listed twice");
    out.push_back(value);
  }
  return out;
}

std::int64_t int_value(const nlohmann::json& v, const std::string& file, const std::string& path, std::int64_t lo,
                       std::int64_t hi) {
  if (!v.is_number() ||
      (v.is_number_float() && (!std::isfinite(v.get<double>()) || v.get<double>() != std::floor(v.get<double>()))))
    throw InputError(file, path, fmt::format("expected an integer in [{}, {}]", lo, hi));
  const double d = v.get<double>();
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw InputError(file, path, fmt::format("expected an integer in [{}, {}], got {}", lo, hi, d));
  return static_cast<std::int64_t>(d);
}

std::string string_value(const nlohmann::json& v, const std::string& file, const std::string& path,
                         const std::vector<std::string>& allowed) {
  if (!v.is_string()) throw InputError(file, path, fmt::format("expected one of {}", fmt::join(allowed, ", ")));
  const auto s = v.get<std::string>();
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
    throw InputError(file, path, fmt::format("\"{}\": expected one of {}", s, fmt::join(allowed, ", ")));
  return s;
}

std::vector<std::int64_t> read_gpus(const JsonObject& s) {
  if (!s.has("gpus")) {
    s.allow({"gpus"});
    return {};
  }
  const auto& v = s.raw("gpus");
  if (v.is_array())
    return read_list<std::int64_t>(s, "gpus", [&](const nlohmann::json& x, const std::string& p) {
      return int_value(x, s.file(), p, 1, limits::kMaxGpus);
    });
  if (!v.is_object())
    s.fail("gpus", "expected a list of GPU counts or {\"min\": A, \"max\": B, \"step\": S | \"factor\": F}");
  JsonObject r = s.object("gpus");
  const std::int64_t lo = r.integer_in("min", 1, limits::kMaxGpus);
  const std::int64_t hi = r.integer_in("max", 1, limits::kMaxGpus);
  if (hi < lo) r.fail("max", fmt::format("expected at least min ({}), got {}", lo, hi));
  std::vector<std::int64_t> out;
  if (r.has("step") && r.has("factor")) r.fail("factor", "expected either step or factor, not both");
  if (r.has("step")) {
    const std::int64_t step = r.integer_in("step", 1, limits::kMaxGpus);
    for (std::int64_t n = lo; n <= hi; n += step) {
      out.push_back(n);
      if (out.size() > kMaxListValues)
        r.fail("step", fmt::format("more than {} sizes: expected a larger step", kMaxListValues));
    }
  } else {
    const std::int64_t factor = r.integer_in_or("factor", 2, 1 << 10, 2);
    for (std::int64_t n = lo; n <= hi; n *= factor) out.push_back(n);
  }
  r.reject_unknown_keys();
  return out;
}

PlanSpace parse_space(const JsonObject& s) {
  PlanSpace sp;
  const auto& file = s.file();
  auto ints = [&](const char* key, std::int64_t lo, std::int64_t hi) {
    return read_list<int>(s, key, [&](const nlohmann::json& x, const std::string& p) {
      return static_cast<int>(int_value(x, file, p, lo, hi));
    });
  };
  auto int64s = [&](const char* key, std::int64_t lo, std::int64_t hi) {
    return read_list<std::int64_t>(
        s, key, [&](const nlohmann::json& x, const std::string& p) { return int_value(x, file, p, lo, hi); });
  };
  sp.chips = read_list<std::string>(s, "chips", [&](const nlohmann::json& x, const std::string& p) {
    const auto label = string_value(x, file, p, {});
    parse_chip_label(label, file, p);  // checked here, so a misspelt chip names its path before any work
    return label;
  });
  sp.gpus = read_gpus(s);
  sp.global_batch_seqs = int64s("global_batch_seqs", 1, limits::kMaxGlobalBatchSeqs);
  if (s.has("global_batch_tokens")) {
    if (!sp.global_batch_seqs.empty())
      s.fail("global_batch_tokens", "expected either global_batch_seqs or global_batch_tokens, not both");
    const JsonObject r = s.object("global_batch_tokens");
    sp.global_batch_tokens_min = r.positive("min");
    sp.global_batch_tokens_max = r.positive("max");
    if (sp.global_batch_tokens_max < sp.global_batch_tokens_min)
      r.fail("max", fmt::format("expected at least min ({:g}), got {:g}", sp.global_batch_tokens_min,
                                sp.global_batch_tokens_max));
    sp.global_batch_tokens_factor = static_cast<int>(r.integer_in_or("factor", 2, 1 << 10, 2));
    r.reject_unknown_keys();
  } else {
    s.allow({"global_batch_tokens"});
  }
  sp.precisions = read_list<Precision>(s, "precision", [&](const nlohmann::json& x, const std::string& p) {
    return *parse_precision(string_value(x, file, p, {"bf16", "fp16", "fp8"}));
  });
  sp.tp = ints("tp", 1, limits::kMaxGpus);
  sp.sp = read_list<bool>(s, "sp", [&](const nlohmann::json& x, const std::string& p) {
    if (!x.is_boolean()) throw InputError(file, p, "expected true or false");
    return x.get<bool>();
  });
  sp.pp = ints("pp", 1, limits::kMaxGpus);
  sp.schedules = read_list<PipelineSchedule>(s, "schedules", [&](const nlohmann::json& x, const std::string& p) {
    const auto v = string_value(x, file, p, {"1f1b", "interleaved", "zero_bubble", "dualpipe"});
    return v == "interleaved"   ? PipelineSchedule::interleaved
           : v == "zero_bubble" ? PipelineSchedule::zero_bubble
           : v == "dualpipe"    ? PipelineSchedule::dualpipe
                                : PipelineSchedule::one_f_one_b;
  });
  sp.virtual_stages = ints("virtual_stages", 2, limits::kMaxLayers);
  sp.ep = ints("ep", 1, limits::kMaxGpus);
  sp.cp = ints("cp", 1, limits::kMaxGpus);
  sp.zero_stages = ints("zero_stages", 0, 3);
  sp.micro_batch_seqs = int64s("micro_batch_seqs", 1, limits::kMaxGlobalBatchSeqs);
  sp.fabrics = read_list<FabricOption>(s, "fabrics", [&](const nlohmann::json& x, const std::string& p) {
    if (!x.is_object())
      throw InputError(file, p, "expected {\"label\": ..., \"nic_gbps\", \"nics_per_node\", \"fabric\"}");
    const JsonObject opt(x, file, p);
    FabricOption f;
    f.label = opt.string("label");
    if (f.label.empty()) opt.fail("label", "expected a name for this network");
    f.cluster_overrides = nlohmann::json::object();
    for (const char* key : {"nic_gbps", "nics_per_node", "fabric"})
      if (x.contains(key)) f.cluster_overrides[key] = x[key];
    opt.allow({"nic_gbps", "nics_per_node", "fabric", "notes"});
    opt.reject_unknown_keys();
    // Read as a cluster would read them, so a bad value names its path here, not a refused context.
    nlohmann::json probe = f.cluster_overrides;
    probe["name"] = "fabric option";
    probe["gpu"] = "H100-SXM";
    probe["gpus"] = 8;
    (void)parse_cluster(JsonObject(probe, file, p));
    return f;
  });
  sp.recompute = read_list<Recompute>(s, "recompute", [&](const nlohmann::json& x, const std::string& p) {
    const auto v = string_value(x, file, p, {"none", "selective", "full"});
    return v == "none" ? Recompute::none : v == "full" ? Recompute::full : Recompute::selective;
  });
  s.reject_unknown_keys();
  return sp;
}

PlanConstraints parse_constraints(const JsonObject& c) {
  PlanConstraints k;
  if (c.has("memory_headroom")) {
    k.memory_headroom = c.number("memory_headroom");
    if (!(k.memory_headroom >= 0) || !(k.memory_headroom < 1))
      c.fail("memory_headroom", fmt::format("expected a fraction of HBM in [0, 1), got {}", k.memory_headroom));
  }
  if (c.has("deadline_days")) k.deadline_days = c.positive("deadline_days");
  if (c.has("power_mw")) k.power_mw = c.positive("power_mw");
  if (c.has("budget_usd")) k.budget_usd = c.positive("budget_usd");
  const auto kind = c.one_of_or("budget_kind", {"rental", "owned", "capex"}, "rental");
  k.budget_kind = kind == "owned" ? BudgetKind::owned : kind == "capex" ? BudgetKind::capex : BudgetKind::rental;
  if (c.has("export_rule")) {
    k.export_rule = c.string("export_rule");
    require_export_rule(k.export_rule, c.file(), c.path_of("export_rule"));
  }
  if (c.has("min_goodput")) k.min_goodput = c.fraction("min_goodput");
  c.reject_unknown_keys();
  return k;
}

}  // namespace

nlohmann::json base_scenario_for_model(const std::string& model, const std::string& gpu, std::int64_t gpus,
                                       double tokens, std::int64_t global_batch_seqs, Precision precision) {
  return {{"schema", "gwsim.scenario/1"},
          {"name", "plan-" + model},
          {"model", model},
          {"cluster", {{"schema", "gwsim.cluster/1"}, {"name", "plan-" + gpu}, {"gpu", gpu}, {"gpus", gpus}}},
          {"parallelism", nlohmann::json::object()},
          {"training",
           {{"global_batch_seqs", global_batch_seqs}, {"tokens", tokens}, {"precision", to_string(precision)}}}};
}

PlanRequest parse_plan_request(const nlohmann::json& doc, const std::string& file) {
  PlanRequest req;
  req.file = file;
  req.query = without_nulls(doc);
  JsonObject o(doc, file, "$");
  o.require_schema("gwsim.plan/1");
  o.allow({"name", "notes", "source", "description"});
  const std::string dir = directory_of(file);
  if (o.has("scenario") == o.has("model"))
    o.fail(o.has("scenario") ? "model" : "scenario",
           "expected either \"scenario\" (a scenario file) or \"model\" (with gpu, tokens), not both or neither");
  if (o.has("scenario")) {
    const std::string ref = o.string("scenario");
    req.base_file = resolve_path(ref, dir);
    require_readable_file(req.base_file, file, "$.scenario");
    req.base = parse_json_file(req.base_file);
    if (!req.base.is_object()) throw InputError(req.base_file, "$", "expected a scenario object");
  } else {
    // A model, a chip, a token count: the rest from defaults (docs/formats.md, gwsim.plan/1).
    const auto model_ref = o.raw("model");
    const std::string gpu = o.string("gpu");
    find_gpu(gpu, file, "$.gpu");
    const double tokens = o.positive("tokens");
    const std::string prec = o.one_of_or("precision", {"bf16", "fp16", "fp8"}, "bf16");
    req.base_file = file;
    JsonObject probe(doc, file, "$");
    const ModelSpec m = resolve_model_ref(probe, dir);
    const std::int64_t seq = o.integer_in_or("seq_len", 1, limits::kMaxSeqLen, m.seq_len);
    const std::int64_t gbs =
        o.integer_in_or("global_batch_seqs", 1, limits::kMaxGlobalBatchSeqs, default_global_batch(seq));
    req.base = base_scenario_for_model("model", gpu, 8, tokens, gbs, *parse_precision(prec));
    req.base["model"] = model_ref;
    req.base["name"] = "plan-" + m.name;
    req.base["training"]["seq_len"] = seq;
    if (o.has("framework"))
      req.base["training"]["framework"] = o.one_of("framework", {"megatron", "deepspeed", "fsdp", "deepseek"});
    else
      o.allow({"framework"});
  }
  if (o.has("set")) {
    for (const auto& a : o.string_array("set")) apply_override(req.base, a, req.base_file);
  } else {
    o.allow({"set"});
  }
  if (o.has("search"))
    req.space = parse_space(o.object("search"));
  else
    o.allow({"search"});
  // Without a chip or size to search, the model form needs its cluster size.
  if (!o.has("scenario") && req.space.gpus.empty()) o.fail("search", "expected search.gpus (the cluster sizes to try)");
  if (!o.has("scenario")) req.base["cluster"]["gpus"] = req.space.gpus.front();
  req.base_layout = o.has("scenario");
  if (o.has("constraints"))
    req.constraints = parse_constraints(o.object("constraints"));
  else
    o.allow({"constraints"});
  if (o.has("objectives")) {
    req.objectives.clear();
    const auto& v = o.raw("objectives");
    if (!v.is_array() || v.empty() || v.size() > 6)
      o.fail("objectives", "expected 1 to 6 of time, cost, energy, gpus, power, tokens");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto p = fmt::format("$.objectives[{}]", i);
      const auto s = string_value(v[i], file, p, {"time", "cost", "energy", "gpus", "power", "tokens"});
      const PlanObjective obj = s == "cost"     ? PlanObjective::cost
                                : s == "energy" ? PlanObjective::energy
                                : s == "gpus"   ? PlanObjective::gpus
                                : s == "power"  ? PlanObjective::power
                                : s == "tokens" ? PlanObjective::tokens
                                                : PlanObjective::time;
      if (obj == PlanObjective::tokens && !(req.constraints.deadline_days > 0))
        throw InputError(file, p,
                         "tokens (the largest token budget) needs constraints.deadline_days (--deadline-days): the "
                         "window the tokens must fit in");
      if (std::find(req.objectives.begin(), req.objectives.end(), obj) != req.objectives.end())
        throw InputError(file, p, "an objective listed twice");
      req.objectives.push_back(obj);
    }
  } else {
    o.allow({"objectives"});
  }
  req.top_k = o.int_in_or("top_k", 1, 1000, 10);
  o.reject_unknown_keys();
  // The base scenario must load (its own errors name its file and path).
  (void)parse_scenario(req.base, req.base_file);
  return req;
}

PlanRequest load_plan_request(const std::string& path) {
  auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected a plan object");
  return parse_plan_request(doc, path);
}

}  // namespace gwsim
