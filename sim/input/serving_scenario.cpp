#include "gwsim/sim/input/serving_scenario.h"

#include <fmt/format.h>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/campus.h"

namespace gwsim {

namespace {

constexpr const char* kServingSchema = "gwsim.serving/1";
// vLLM's default gpu_memory_utilization: the share of HBM a server fills with weights and KV
// cache, the rest left to activations, the CUDA context and fragmentation.
constexpr double kDefaultMemoryUtilization = 0.9;

InstanceLayout parse_layout(const JsonObject& o, const ModelSpec& model, const ClusterSpec& cluster) {
  InstanceLayout l;
  l.gpus = o.int_in("gpus", 1, limits::kMaxGpus);
  if (l.gpus > cluster.gpus)
    o.fail("gpus", fmt::format("expected at most the cluster's {} GPUs, got {}", cluster.gpus, l.gpus));
  l.attention_tp = o.int_in_or("attention_tp", 1, limits::kMaxGpus, 1);
  if (l.gpus % l.attention_tp != 0)
    o.fail("attention_tp", fmt::format("expected a divisor of the instance's {} GPUs, got {}", l.gpus, l.attention_tp));
  if (model.attention.heads % l.attention_tp != 0)
    o.fail("attention_tp",
           fmt::format("expected a divisor of the model's {} heads, got {}", model.attention.heads, l.attention_tp));
  if (model.moe) {
    l.ep = o.int_in_or("ep", 1, limits::kMaxGpus, l.gpus);
    if (l.ep > l.gpus) o.fail("ep", fmt::format("expected at most the instance's {} GPUs, got {}", l.gpus, l.ep));
    l.redundant_experts = o.int_in_or("redundant_experts", 0, limits::kMaxExperts, 0);  // extra expert copies
    const int slots = model.moe->routed_experts + l.redundant_experts;
    if (slots % l.ep != 0)
      o.fail("ep", fmt::format("expected a divisor of the {} routed + {} redundant experts ({}), got {}",
                               model.moe->routed_experts, l.redundant_experts, slots, l.ep));
  } else {
    for (const char* key : {"ep", "redundant_experts"})
      if (o.has(key)) o.fail(key, fmt::format("model {} has no experts: leave it out", model.name));
  }
  l.overlap = o.boolean_or("overlap", true);
  return l;
}

DecodeSettings parse_decode(const JsonObject& o, const ModelSpec& model, const ClusterSpec& cluster) {
  DecodeSettings d;
  d.layout = parse_layout(o, model, cluster);
  // Tokens of context: at least one (a fraction of a token made the batch search hang, issue 12).
  d.kv_len = o.positive("kv_len");
  if (!(d.kv_len >= 1 && d.kv_len <= static_cast<double>(limits::kMaxSeqLen)))
    o.fail("kv_len", fmt::format("expected 1 to {} tokens, got {:g}", limits::kMaxSeqLen, d.kv_len));
  d.kv_cache = o.one_of_or("kv_cache", {"bf16", "fp8"}, "bf16") == "fp8" ? Precision::fp8 : Precision::bf16;
  const auto& b = o.raw("batch_per_gpu");
  if (b.is_string()) {
    if (b.get<std::string>() != "max") o.fail("batch_per_gpu", "expected a number of sequences or \"max\"");
  } else {
    d.batch_per_gpu = o.positive("batch_per_gpu");
  }
  if (o.has("tpot_slo_ms")) d.tpot_slo_s = o.positive("tpot_slo_ms") / 1e3;
  if (o.has("mtp")) {
    if (model.mtp_depth == 0)
      o.fail("mtp", fmt::format("model {} has no MTP modules to draft with: leave it out", model.name));
    const JsonObject m = o.object("mtp");
    const int modules = model.mtp_depth;
    d.mtp_depth = m.int_in("depth", 1, limits::kMaxMtpDepth);
    if (d.mtp_depth > modules)
      m.fail("depth", fmt::format("expected at most {} (the model's MTP modules), got {}", modules, d.mtp_depth));
    d.mtp_acceptance = m.number("acceptance");
    if (!(d.mtp_acceptance >= 0 && d.mtp_acceptance <= 1)) m.fail("acceptance", "expected a probability in [0, 1]");
    m.allow({"source", "notes"});
    m.reject_unknown_keys();
  }
  d.memory_utilization = o.number_or("memory_utilization", kDefaultMemoryUtilization);
  if (!(d.memory_utilization > 0 && d.memory_utilization <= 1))
    o.fail("memory_utilization", "expected a fraction in (0, 1]");
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return d;
}

PrefillSettings parse_prefill(const JsonObject& o, const ModelSpec& model, const ClusterSpec& cluster) {
  PrefillSettings p;
  p.layout = parse_layout(o, model, cluster);
  p.prompt_len = o.positive("prompt_len");
  p.tokens_per_gpu = o.positive("tokens_per_gpu");
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return p;
}

}  // namespace

double InstanceLayout::experts_per_gpu(const ModelSpec& m) const {
  return m.moe ? static_cast<double>(m.moe->routed_experts + redundant_experts) / ep : 0;
}

ServingScenario parse_serving_scenario(const nlohmann::json& doc, const std::string& file) {
  ServingScenario s;
  s.file = file;
  JsonObject o(doc, file, "$");
  o.require_schema(kServingSchema);
  s.name = o.string("name");
  s.description = o.string_or("description", "");
  o.allow({"notes", "source"});
  const std::string base = directory_of(file);
  s.model = resolve_model_ref(o, base);
  ScenarioHardware hw = resolve_hardware(o, base);  // the cluster, the GPU (capped variants too), the profile
  s.cluster = std::move(hw.cluster);
  s.gpu = std::move(hw.gpu);
  s.gpu_variant = std::move(hw.gpu_variant);
  s.profile = std::move(hw.profile);
  s.profile_ref = std::move(hw.profile_ref);
  const std::string prec = o.one_of_or("precision", {"bf16", "fp16", "fp8"}, "bf16");
  s.precision = *parse_precision(prec);
  if (!s.gpu.supports(s.precision))
    o.fail("precision", fmt::format("{} has no {} tensor cores: expected bf16 or fp16", s.gpu.name, prec));
  s.decode = parse_decode(o.object("decode"), s.model, s.cluster);
  if (o.has("prefill")) s.prefill = parse_prefill(o.object("prefill"), s.model, s.cluster);
  if (o.has("target")) {
    const JsonObject t = o.object("target");
    if (t.has("output_tokens_per_s")) s.target_output_tokens_per_s = t.positive("output_tokens_per_s");
    if (t.has("input_tokens_per_s")) {
      s.target_input_tokens_per_s = t.positive("input_tokens_per_s");
      if (!s.prefill) t.fail("input_tokens_per_s", "expected a \"prefill\" block to size prefill with");
    }
    if (t.has("cache_hit_rate")) {
      s.cache_hit_rate = t.number("cache_hit_rate");
      if (!(s.cache_hit_rate >= 0 && s.cache_hit_rate < 1)) t.fail("cache_hit_rate", "expected a share in [0, 1)");
    }
    t.allow({"source", "notes"});
    t.reject_unknown_keys();
  }
  const CostAssumptions cost_default = default_cost_assumptions(s.gpu);
  s.usd_per_gpu_hour = cost_default.usd_per_gpu_hour;
  s.usd_source = cost_default.source;
  if (o.has("cost")) {
    const JsonObject c = o.object("cost");
    s.usd_per_gpu_hour = c.positive("usd_per_gpu_hour");
    s.usd_source = c.string_or("source", "scenario");
    c.allow({"notes"});
    c.reject_unknown_keys();
  }
  if (o.has("requests")) s.requests = parse_request_section(o.object("requests"), s);
  o.reject_unknown_keys();
  s.resolved = without_nulls(doc);
  s.resolved["model"] = model_to_json(s.model);
  s.resolved["profile"] = s.profile_ref;
  return s;
}

ServingScenario load_serving_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected a serving scenario object");
  for (const auto& ov : overrides) apply_override(doc, ov, path);  // as `gwsim run --set`
  return parse_serving_scenario(doc, path);
}

}  // namespace gwsim
