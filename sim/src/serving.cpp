#include "gwsim/sim/serving.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/analytical.h"
#include "gwsim/sim/collective_cost.h"
#include "gwsim/sim/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

namespace {

constexpr const char* kServingSchema = "gwsim.serving/1";
constexpr const char* kServingReportSchema = "gwsim.serving-report/1";
constexpr double kActivationBytes = 2;  // bf16 activations, as in training_plan.cpp
// vLLM's default gpu_memory_utilization: the share of HBM a server fills with weights and KV
// cache, the rest left to activations, the CUDA context and fragmentation.
constexpr double kDefaultMemoryUtilization = 0.9;

DecodeSettings parse_decode(const JsonObject& o, const ModelSpec& model, const ClusterSpec& cluster) {
  DecodeSettings d;
  d.gpus = static_cast<int>(o.positive_integer("gpus"));
  if (d.gpus > cluster.gpus)
    o.fail("gpus", fmt::format("expected at most the cluster's {} GPUs, got {}", cluster.gpus, d.gpus));
  d.attention_tp = static_cast<int>(o.positive_integer_or("attention_tp", 1));
  if (d.gpus % d.attention_tp != 0)
    o.fail("attention_tp", fmt::format("expected a divisor of the instance's {} GPUs, got {}", d.gpus, d.attention_tp));
  if (model.attention.heads % d.attention_tp != 0)
    o.fail("attention_tp", fmt::format("expected a divisor of the model's {} heads, got {}", model.attention.heads, d.attention_tp));
  if (model.moe) {
    d.ep = static_cast<int>(o.positive_integer_or("ep", d.gpus));
    if (d.ep > d.gpus) o.fail("ep", fmt::format("expected at most the instance's {} GPUs, got {}", d.gpus, d.ep));
    d.redundant_experts = static_cast<int>(o.integer_or("redundant_experts", 0));
    if (d.redundant_experts < 0) o.fail("redundant_experts", "expected 0 or more extra expert copies");
    const int slots = model.moe->routed_experts + d.redundant_experts;
    if (slots % d.ep != 0)
      o.fail("ep", fmt::format("expected a divisor of the {} routed + {} redundant experts ({}), got {}",
                               model.moe->routed_experts, d.redundant_experts, slots, d.ep));
  } else {
    d.ep = 1;
    o.allow({"ep", "redundant_experts"});
    if (o.has("ep") || o.has("redundant_experts"))
      o.fail(o.has("ep") ? "ep" : "redundant_experts", fmt::format("model {} has no experts: leave it out", model.name));
  }
  d.kv_len = o.positive("kv_len");
  d.kv_cache = o.one_of_or("kv_cache", {"bf16", "fp8"}, "bf16") == "fp8" ? Precision::fp8 : Precision::bf16;
  const auto& b = o.raw("batch_per_gpu");
  if (b.is_string()) {
    if (b.get<std::string>() != "max") o.fail("batch_per_gpu", "expected a number of sequences or \"max\"");
  } else {
    d.batch_per_gpu = o.positive("batch_per_gpu");
  }
  if (o.has("tpot_slo_ms")) d.tpot_slo_s = o.positive("tpot_slo_ms") / 1e3;
  if (o.has("mtp")) {
    const JsonObject m = o.object("mtp");
    d.mtp_depth = static_cast<int>(m.positive_integer("depth"));
    if (d.mtp_depth > std::max(1, model.mtp_depth))
      m.fail("depth", fmt::format("expected at most {} (the model's MTP modules), got {}", std::max(1, model.mtp_depth), d.mtp_depth));
    d.mtp_acceptance = m.number("acceptance");
    if (!(d.mtp_acceptance >= 0 && d.mtp_acceptance <= 1)) m.fail("acceptance", "expected a probability in [0, 1]");
    m.allow({"source", "notes"});
    m.reject_unknown_keys();
  }
  d.overlap = o.boolean_or("overlap", true);
  d.memory_utilization = o.number_or("memory_utilization", kDefaultMemoryUtilization);
  if (!(d.memory_utilization > 0 && d.memory_utilization <= 1)) o.fail("memory_utilization", "expected a fraction in (0, 1]");
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return d;
}

// Tokens each sequence feeds through the model per step: its new token and its MTP drafts.
double query_tokens_per_sequence(const DecodeSettings& d) { return 1.0 + d.mtp_depth; }

// Tokens a sequence keeps per step: the new one plus the drafts accepted in a row (each accepted
// with the same chance, a later one only if the earlier ones were).
double kept_tokens_per_sequence(const DecodeSettings& d) {
  double kept = 1, run = 1;
  for (int i = 0; i < d.mtp_depth; ++i) kept += (run *= d.mtp_acceptance);
  return kept;
}

struct Placement {
  LinkClass link = LinkClass::scaleup;
  int ranks_per_domain = 1;
};
// Consecutive ranks fill one scale-up domain before the next (as place_group in training_plan.cpp).
Placement place(int group, const ClusterSpec& c) {
  const int per_domain = std::max(1, std::min(group, c.scaleup_domain_gpus));
  return {per_domain >= group ? LinkClass::scaleup : LinkClass::scaleout, per_domain};
}

std::string kind_of(const Op& op) {
  if (op.op_class == "mla_decode" || op.name == "decode_attention" || op.name == "q_absorb" || op.name == "v_absorb")
    return "attention";
  if (op.op_class == "grouped_gemm") return "experts";
  if (op.op_class == "gemm") return "dense_gemm";
  return "memory_bound";
}

}  // namespace

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
  s.cluster = resolve_cluster_ref(o.raw("cluster"), o, base);
  s.gpu = find_gpu(s.cluster.gpu_name, file, "$.cluster.gpu");
  s.profile_ref = o.has("profile") ? o.string("profile") : preferred_profile_name(s.gpu);
  o.allow({"profile"});
  s.profile = find_profile(s.profile_ref, base);
  if (s.profile.gpu_name != s.gpu.name)
    o.fail("profile", fmt::format("profile \"{}\" is for {}, but the cluster's GPU is {}", s.profile.name, s.profile.gpu_name,
                                  s.gpu.name));
  const std::string prec = o.one_of_or("precision", {"bf16", "fp16", "fp8"}, "bf16");
  s.precision = *parse_precision(prec);
  if (!s.gpu.supports(s.precision))
    o.fail("precision", fmt::format("{} has no {} tensor cores: expected bf16 or fp16", s.gpu.name, prec));
  s.decode = parse_decode(o.object("decode"), s.model, s.cluster);
  if (o.has("target")) {
    const JsonObject t = o.object("target");
    s.target_output_tokens_per_s = t.positive("output_tokens_per_s");
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
  o.reject_unknown_keys();
  s.resolved = doc;
  s.resolved["model"] = model_to_json(s.model);
  s.resolved["profile"] = s.profile_ref;
  return s;
}

ServingScenario load_serving_scenario(const std::string& path) { return parse_serving_scenario(parse_json_file(path), path); }

double decode_weight_bytes_per_gpu(const ServingScenario& s) {
  const ModelSpec& m = s.model;
  const DecodeSettings& d = s.decode;
  const ParamCounts p = count_params(m);
  const double w = s.precision == Precision::fp8 ? 1 : 2;  // GEMM weights; block scales are < 0.1 %
  const double tp = d.attention_tp;
  // Embedding and output head stay in bf16 (DeepSeek-V3 Sec 3.3.1), split over the TP group.
  double bytes = kActivationBytes * p.embedding / tp;
  // MLA's low-rank down-projections are replicated across the TP group (as in layer_forward_ops).
  const auto& a = m.attention;
  const double replicated =
      a.kind == AttentionKind::mla ? static_cast<double>(m.hidden) * (a.q_lora_rank + a.kv_lora_rank + a.qk_rope_head_dim) : 0;
  bytes += m.layers * (w * (replicated + (p.attention_per_layer - replicated) / tp) + kActivationBytes * p.norms_per_layer);
  bytes += (m.layers - m.moe_layers()) * w * p.dense_ffn_per_layer / tp;
  if (m.moe) {
    const double experts_per_gpu = static_cast<double>(m.moe->routed_experts + d.redundant_experts) / d.ep;
    const double per_expert = p.moe_routed_per_layer / m.moe->routed_experts;
    bytes += m.moe_layers() * (w * p.moe_shared_per_layer / tp + kActivationBytes * p.moe_router_per_layer +
                               w * experts_per_gpu * per_expert);
  }
  return bytes;
}

double decode_kv_bytes_per_sequence(const ServingScenario& s) {
  const auto& a = s.model.attention;
  const double tp = s.decode.attention_tp;
  // A TP group serves tp sequences per unit of batch_per_gpu, and each of its GPUs keeps its share
  // of every one: all of MLA's latent (shared by all heads, so replicated), or the K and V of its
  // kv heads for GQA/MHA (replicated once there are more GPUs than kv heads).
  const double share = a.kind == AttentionKind::mla ? 1.0 : 1.0 / std::min(tp, static_cast<double>(std::max(1, a.kv_heads)));
  return tp * share * s.decode.kv_len * s.model.layers * static_cast<double>(a.kv_cache_elems_per_token()) *
         kv_cache_bytes_per_elem(s.decode.kv_cache);
}

double decode_all_to_all_s(int ep, double bytes, const ClusterSpec& cluster, const Profile& profile) {
  const bool one_domain = ep <= cluster.scaleup_domain_gpus;
  // Uniform destinations (scaleout_fraction < 0): no per-node deduplication in the low-latency path.
  return collective_cost({"all_to_all", bytes, ep, one_domain ? LinkClass::scaleup : LinkClass::scaleout, one_domain ? ep : 1, -1},
                         cluster, profile)
      .time_s;
}

DecodeStep decode_step(const ServingScenario& s, double batch_per_gpu) {
  const ModelSpec& m = s.model;
  const DecodeSettings& d = s.decode;
  const double tp = d.attention_tp;
  // A TP group serves tp x batch_per_gpu sequences together; each GPU holds its heads of all of them.
  const double sequences = batch_per_gpu * tp;
  const double tokens = sequences * query_tokens_per_sequence(d);
  Parallelism par;
  par.tp = d.attention_tp;
  par.sp = d.attention_tp > 1;  // each TP rank routes its share of the tokens to the experts
  par.ep = d.ep;
  TrainingSettings train;
  train.precision = s.precision;
  train.seq_len = static_cast<std::int64_t>(std::ceil(d.kv_len));
  DecodeAttention attention{sequences, d.kv_len, d.kv_cache};
  LayerOpsOptions options;
  options.decode = &attention;
  if (m.moe) options.experts_per_gpu = static_cast<double>(m.moe->routed_experts + d.redundant_experts) / d.ep;

  std::map<std::string, double> by_kind;
  auto add_ops = [&](const std::vector<Op>& ops, double times) {
    for (const auto& op : ops) by_kind[kind_of(op)] += times * op_time_s(op, s.gpu, s.profile);
  };
  for (int l = 0; l < m.layers; ++l) add_ops(layer_forward_ops(m, l, par, train, tokens, options), 1);
  // MTP drafts: each draft runs one more transformer block (an MoE block in DeepSeek-V3) on one
  // token per sequence.
  if (d.mtp_depth > 0) add_ops(layer_forward_ops(m, m.layers - 1, par, train, sequences, options), d.mtp_depth);
  // Output head over the vocabulary (split over the TP group) and the embedding lookup.
  const double h = static_cast<double>(m.hidden), vocab = static_cast<double>(m.vocab);
  const double head_passes = 1 + d.mtp_depth;
  by_kind["dense_gemm"] += head_passes * op_time_s(Op{"lm_head", "gemm", Precision::bf16, 2 * tokens * vocab / tp * h,
                                                        kActivationBytes * (vocab / tp * h + tokens * (h + vocab / tp)), 1},
                                                     s.gpu, s.profile);
  by_kind["memory_bound"] += op_time_s(Op{"embedding", "memory_bound", Precision::bf16, 0, 2 * kActivationBytes * tokens * h, 1},
                                       s.gpu, s.profile);

  // Communication per layer: the TP group's two all-reduces of the hidden states, and for MoE
  // layers the expert dispatch (fp8 when the GEMMs are) and the bf16 combine.
  // The main model's layers carry `tokens` per TP group, each MTP draft `sequences`.
  double comm_tp = 0, comm_ep = 0;
  if (d.attention_tp > 1) {
    const Placement g = place(d.attention_tp, s.cluster);
    auto all_reduce = [&](double tok) {
      return collective_cost({"all_reduce", kActivationBytes * tok * h, d.attention_tp, g.link, g.ranks_per_domain, -1}, s.cluster,
                             s.profile).time_s;
    };
    comm_tp = 2 * (m.layers * all_reduce(tokens) + d.mtp_depth * all_reduce(sequences));
  }
  if (m.moe && d.ep > 1) {
    const double dispatch_elem = s.precision == Precision::fp8 ? 1 : kActivationBytes;
    auto dispatch_and_combine = [&](double tok) {
      const double copies = tok / tp * m.moe->top_k;  // token copies this GPU sends (its share of the TP group's)
      return decode_all_to_all_s(d.ep, dispatch_elem * copies * h, s.cluster, s.profile) +
             decode_all_to_all_s(d.ep, kActivationBytes * copies * h, s.cluster, s.profile);
    };
    comm_ep = m.moe_layers() * dispatch_and_combine(tokens) + d.mtp_depth * dispatch_and_combine(sequences);
  }

  DecodeStep st;
  st.batch_per_gpu = batch_per_gpu;
  for (const auto& [kind, t] : by_kind) {
    st.compute_s += t;
    st.breakdown_s.push_back({kind, t});
  }
  st.comm_s = comm_tp + comm_ep;
  if (comm_ep > 0) st.breakdown_s.push_back({"comm_ep", comm_ep});
  if (comm_tp > 0) st.breakdown_s.push_back({"comm_tp", comm_tp});
  // Two micro-batches: one computes while the other's all-to-all runs (DeepSeek's decode), so the
  // step is the longer of the two; without overlap they add up.
  st.step_s = d.overlap ? std::max(st.compute_s, st.comm_s) : st.compute_s + st.comm_s;
  st.tokens_per_step_per_sequence = kept_tokens_per_sequence(d);
  st.tpot_s = st.step_s / st.tokens_per_step_per_sequence;
  st.output_tokens_per_s_per_gpu = batch_per_gpu * st.tokens_per_step_per_sequence / st.step_s;
  st.weights_bytes = decode_weight_bytes_per_gpu(s);
  st.kv_cache_bytes = batch_per_gpu * decode_kv_bytes_per_sequence(s);
  return st;
}

nlohmann::json run_serving(const ServingScenario& s) {
  const DecodeSettings& d = s.decode;
  const std::string file = s.file;
  const double capacity = s.gpu.hbm_capacity_gb.value * 1e9;
  const double usable = capacity * d.memory_utilization;
  const double weights = decode_weight_bytes_per_gpu(s);
  const double kv_per_seq = decode_kv_bytes_per_sequence(s);
  if (weights >= usable)
    throw InfeasibleError(file, "$.decode.gpus",
                          fmt::format("the weights take {:.1f} GB per GPU, more than the {:.1f} GB usable ({:.0f} % of {:.0f} GB): "
                                      "expected more GPUs per instance (ep) or attention_tp",
                                      weights / 1e9, usable / 1e9, 100 * d.memory_utilization, capacity / 1e9));
  // Sequences per GPU that fit: the TP group holds tp x batch sequences, each GPU its KV share.
  const double max_by_memory = std::floor((usable - weights) / kv_per_seq);
  if (max_by_memory < 1)
    throw InfeasibleError(file, "$.decode.kv_len",
                          fmt::format("one sequence's KV cache ({:.2f} GB per GPU) does not fit beside the weights ({:.1f} of "
                                      "{:.1f} GB usable): expected a shorter kv_len, an fp8 cache or more GPUs",
                                      kv_per_seq / 1e9, weights / 1e9, usable / 1e9));
  std::vector<std::string> warnings;
  std::string chosen_by = "stated";
  double batch = 0;
  if (d.batch_per_gpu) {
    batch = *d.batch_per_gpu;
    if (batch > max_by_memory)
      throw InfeasibleError(file, "$.decode.batch_per_gpu",
                            fmt::format("{:g} sequences per GPU do not fit: their KV cache takes {:.1f} GB beside {:.1f} GB of "
                                        "weights, {:.1f} GB usable; expected at most {:g}",
                                        batch, batch * kv_per_seq / 1e9, weights / 1e9, usable / 1e9, max_by_memory));
    if (d.tpot_slo_s > 0 && decode_step(s, batch).tpot_s > d.tpot_slo_s)
      warnings.push_back(fmt::format("the stated batch misses the TPOT SLO of {:g} ms", d.tpot_slo_s * 1e3));
  } else {
    // The largest whole batch that fits memory and, if one is set, the SLO (the step time grows
    // with the batch, so a bisection finds it).
    batch = max_by_memory;
    chosen_by = "memory";
    if (d.tpot_slo_s > 0 && decode_step(s, batch).tpot_s > d.tpot_slo_s) {
      chosen_by = "tpot_slo";
      if (decode_step(s, 1).tpot_s > d.tpot_slo_s)
        throw InfeasibleError(file, "$.decode.tpot_slo_ms",
                              fmt::format("even one sequence per GPU takes {:.2f} ms per output token: expected an SLO of at least that",
                                          decode_step(s, 1).tpot_s * 1e3));
      double lo = 1, hi = max_by_memory;  // tpot(lo) meets the SLO, tpot(hi) does not
      while (hi - lo > 1) {
        const double mid = std::floor((lo + hi) / 2);
        (decode_step(s, mid).tpot_s <= d.tpot_slo_s ? lo : hi) = mid;
      }
      batch = lo;
    }
  }
  const DecodeStep st = decode_step(s, batch);

  nlohmann::json r;
  r["schema"] = kServingReportSchema;
  r["scenario"] = s.resolved;
  r["provenance"]["profile"] = {{"name", s.profile.name}, {"kind", to_string(s.profile.kind)}, {"source", s.profile.source}};
  if (!s.profile.derivation.empty()) r["provenance"]["profile"]["derivation"] = s.profile.derivation;
  if (s.profile.kind == ProfileKind::published)
    warnings.push_back("profile \"" + s.profile.name + "\" is published (datasheet and public benchmarks), not measured on this hardware");
  nlohmann::json dj;
  dj["instance_gpus"] = d.gpus;
  dj["batch_per_gpu"] = batch;
  dj["batch_chosen_by"] = chosen_by;
  dj["max_batch_per_gpu_by_memory"] = max_by_memory;
  dj["kv_len"] = d.kv_len;
  dj["step_s"] = st.step_s;
  dj["compute_s"] = st.compute_s;
  dj["comm_s"] = st.comm_s;
  dj["exposed_comm_s"] = st.step_s - st.compute_s;
  dj["tokens_per_step_per_sequence"] = st.tokens_per_step_per_sequence;
  dj["tpot_ms"] = st.tpot_s * 1e3;
  dj["tokens_per_s_per_sequence"] = 1 / st.tpot_s;
  dj["output_tokens_per_s_per_gpu"] = st.output_tokens_per_s_per_gpu;
  dj["output_tokens_per_s_per_node"] = st.output_tokens_per_s_per_gpu * s.cluster.gpus_per_node;
  dj["output_tokens_per_s_per_instance"] = st.output_tokens_per_s_per_gpu * d.gpus;
  dj["breakdown_s"] = nlohmann::json::object();
  std::string bottleneck;
  double largest = -1;
  for (const auto& [kind, t] : st.breakdown_s) {
    dj["breakdown_s"][kind] = t;
    const bool comm = kind.rfind("comm_", 0) == 0;
    const double counted = comm && d.overlap ? std::max(0.0, st.step_s - st.compute_s) : t;  // hidden comm does not limit
    if (counted > largest) {
      largest = counted;
      bottleneck = kind;
    }
  }
  if (d.overlap && st.comm_s > st.compute_s) bottleneck = "comm (the all-to-all outlasts the compute it hides behind)";
  dj["bottleneck"] = bottleneck;
  dj["memory_gb"] = {{"weights", st.weights_bytes / 1e9},
                     {"kv_cache", st.kv_cache_bytes / 1e9},
                     {"kv_cache_per_sequence", kv_per_seq / 1e9},
                     {"usable", usable / 1e9},
                     {"capacity", capacity / 1e9}};
  r["decode"] = dj;
  r["cost"] = {{"usd_per_gpu_hour", s.usd_per_gpu_hour},
               {"source", s.usd_source},
               {"usd_per_million_output_tokens", s.usd_per_gpu_hour / 3600 / st.output_tokens_per_s_per_gpu * 1e6}};
  if (s.target_output_tokens_per_s > 0) {
    const double per_instance = st.output_tokens_per_s_per_gpu * d.gpus;
    const double instances = std::ceil(s.target_output_tokens_per_s / per_instance);
    r["target"] = {{"output_tokens_per_s", s.target_output_tokens_per_s},
                   {"decode_instances", instances},
                   {"decode_gpus", instances * d.gpus},
                   {"usd_per_hour", instances * d.gpus * s.usd_per_gpu_hour}};
  }
  r["warnings"] = warnings;
  return r;
}

std::string format_serving_summary(const nlohmann::json& r) {
  const auto& d = r["decode"];
  const auto& sc = r["scenario"];
  std::string s = fmt::format("{} — decode on {} GPUs (profile {} [{}])\n", sc["name"].get<std::string>(),
                              d["instance_gpus"].get<int>(), r["provenance"]["profile"]["name"].get<std::string>(),
                              r["provenance"]["profile"]["kind"].get<std::string>());
  s += fmt::format("  batch / GPU          {:g} sequences at {:g} cached tokens ({}; memory allows {:g})\n",
                   d["batch_per_gpu"].get<double>(), d["kv_len"].get<double>(), d["batch_chosen_by"].get<std::string>(),
                   d["max_batch_per_gpu_by_memory"].get<double>());
  s += fmt::format("  step                 {:.2f} ms ({:.2f} tokens per sequence per step) -> TPOT {:.2f} ms, {:.1f} tokens/s per sequence\n",
                   d["step_s"].get<double>() * 1e3, d["tokens_per_step_per_sequence"].get<double>(), d["tpot_ms"].get<double>(),
                   d["tokens_per_s_per_sequence"].get<double>());
  s += fmt::format("  throughput           {:.0f} output tokens/s per GPU, {:.0f} per node, {:.0f} per instance\n",
                   d["output_tokens_per_s_per_gpu"].get<double>(), d["output_tokens_per_s_per_node"].get<double>(),
                   d["output_tokens_per_s_per_instance"].get<double>());
  std::string parts;
  for (const auto& [k, v] : d["breakdown_s"].items()) parts += fmt::format(" {}={:.2f}", k, v.get<double>() * 1e3);
  s += fmt::format("  step breakdown (ms) {}\n", parts);
  s += fmt::format("  bottleneck           {}\n", d["bottleneck"].get<std::string>());
  const auto& mem = d["memory_gb"];
  s += fmt::format("  memory / GPU         weights {:.1f} GB + KV cache {:.1f} GB of {:.1f} GB usable ({:.0f} GB HBM)\n",
                   mem["weights"].get<double>(), mem["kv_cache"].get<double>(), mem["usable"].get<double>(),
                   mem["capacity"].get<double>());
  s += fmt::format("  cost                 ${:.3f} per million output tokens at ${:g}/GPU-hour\n",
                   r["cost"]["usd_per_million_output_tokens"].get<double>(), r["cost"]["usd_per_gpu_hour"].get<double>());
  if (r.contains("target"))
    s += fmt::format("  for {:g} output tokens/s  {:g} instances = {:g} GPUs, ${:.0f} per hour\n",
                     r["target"]["output_tokens_per_s"].get<double>(), r["target"]["decode_instances"].get<double>(),
                     r["target"]["decode_gpus"].get<double>(), r["target"]["usd_per_hour"].get<double>());
  for (const auto& w : r["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  return s;
}

}  // namespace gwsim
