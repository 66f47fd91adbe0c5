#include "gwsim/sim/planning/serving.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/cost/cost.h"
#include "gwsim/sim/planning/campus.h"
#include "gwsim/sim/validation/error_band.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

namespace {

constexpr const char* kServingReportSchema = "gwsim.serving-report/1";
// Tokens each sequence feeds through the model per decode step: its new token and its MTP drafts.
double query_tokens_per_sequence(const DecodeSettings& d) { return 1.0 + d.mtp_depth; }

// Tokens a sequence keeps per step: the new one plus the drafts accepted in a row (each accepted
// with the same chance, a later one only if the earlier ones were).
double kept_tokens_per_sequence(const DecodeSettings& d) {
  double kept = 1, run = 1;
  for (int i = 0; i < d.mtp_depth; ++i) kept += (run *= d.mtp_acceptance);
  return kept;
}

std::string kind_of(const Op& op) {
  if (op.op_class == OpClass::mla_decode || op.op_class == OpClass::attention || op.role == OpRole::decode_attention)
    return "attention";
  if (op.op_class == OpClass::grouped_gemm) return "experts";
  if (op.op_class == OpClass::gemm) return "dense_gemm";
  return "memory_bound";
}

Parallelism parallelism_of(const InstanceLayout& l) {
  Parallelism par;
  par.tp = l.attention_tp;
  par.sp = l.attention_tp > 1;  // each TP rank routes its share of the tokens to the experts
  par.ep = l.ep;
  return par;
}

// Compute of a step by kind: every op through the profile.
class ComputeTally {
 public:
  explicit ComputeTally(const ServingScenario& s) : s_(s) {}
  void add(const std::vector<Op>& ops, double times) {
    for (const auto& op : ops) by_kind_[kind_of(op)] += times * op_time_s(op, s_.gpu, s_.profile);
  }
  void add(const Op& op) { add(std::vector<Op>{op}, 1); }
  const std::map<std::string, double>& by_kind() const { return by_kind_; }

 private:
  const ServingScenario& s_;
  std::map<std::string, double> by_kind_;
};

// The TP group's two all-reduces of the hidden states per layer pass.
double tp_all_reduces_s(const ServingScenario& s, const InstanceLayout& l, double tokens_per_group,
                        double layer_passes) {
  if (l.attention_tp <= 1) return 0;
  const GroupPlacement g = place_group(l.attention_tp, 1, s.cluster.scaleup_domain_gpus);
  const double bytes = kActivationBytes * tokens_per_group * static_cast<double>(s.model.hidden);
  return 2 * layer_passes *
         collective_cost({"all_reduce", bytes, l.attention_tp, g.link, g.ranks_per_domain, -1}, s.cluster, s.profile)
             .time_s;
}

// Two micro-batches: one computes while the other's all-to-all runs (DeepSeek's serving), so the
// step is the longer of the two; without overlap they add up.
void finish(ServingStep& st, const std::map<std::string, double>& by_kind, double comm_ep, double comm_tp,
            bool overlap) {
  for (const auto& [kind, t] : by_kind) {
    st.compute_s += t;
    st.breakdown_s.push_back({kind, t});
  }
  st.comm_s = comm_ep + comm_tp;
  if (comm_ep > 0) st.breakdown_s.push_back({"comm_ep", comm_ep});
  if (comm_tp > 0) st.breakdown_s.push_back({"comm_tp", comm_tp});
  st.step_s = overlap ? std::max(st.compute_s, st.comm_s) : st.compute_s + st.comm_s;
}

// The largest term of a step; communication hidden behind compute limits nothing.
std::string bottleneck_of(const ServingStep& st, bool overlap) {
  if (overlap && st.comm_s > st.compute_s) return "comm (the all-to-all outlasts the compute it hides behind)";
  std::string best;
  double largest = -1;
  for (const auto& [kind, t] : st.breakdown_s) {
    if (overlap && kind.rfind("comm_", 0) == 0) continue;
    if (t > largest) {
      largest = t;
      best = kind;
    }
  }
  return best;
}

nlohmann::json step_json(const ServingStep& st, bool overlap) {
  nlohmann::json j;
  j["step_s"] = st.step_s;
  j["compute_s"] = st.compute_s;
  j["comm_s"] = st.comm_s;
  j["exposed_comm_s"] = st.step_s - st.compute_s;
  j["breakdown_s"] = nlohmann::json::object();
  for (const auto& [kind, t] : st.breakdown_s) j["breakdown_s"][kind] = t;
  j["bottleneck"] = bottleneck_of(st, overlap);
  return j;
}

// The weights one GPU of the layout holds; refused when they leave no room in the usable HBM.
double weights_that_fit(const ServingScenario& s, const InstanceLayout& l, int mtp_modules, double usable,
                        const std::string& block) {
  const double weights = weight_bytes_per_gpu(s, l, mtp_modules);
  if (weights >= usable)
    throw InfeasibleError(
        s.file, "$." + block + ".gpus",
        fmt::format("the weights take {:.1f} GB per GPU, more than the {:.1f} GB usable: expected more GPUs per "
                    "instance (ep) or attention_tp",
                    weights / 1e9, usable / 1e9));
  return weights;
}

}  // namespace

double weight_bytes_per_gpu(const ServingScenario& s, const InstanceLayout& l, int mtp_modules) {
  const ModelSpec& m = s.model;
  const ParamCounts p = count_params(m);
  const double w = s.precision == Precision::fp8 ? 1 : 2;  // GEMM weights; block scales are < 0.1 %
  const double tp = l.attention_tp, h = static_cast<double>(m.hidden);
  // MLA's low-rank down-projections are replicated across the TP group (as in layer_forward_ops).
  const auto& a = m.attention;
  const double replicated =
      a.kind == AttentionKind::mla ? h * (a.q_lora_rank + a.kv_lora_rank + a.qk_rope_head_dim) : 0;
  auto layer_bytes = [&](bool moe) {
    double bytes = w * (replicated + (p.attention_per_layer - replicated) / tp) + kActivationBytes * p.norms_per_layer;
    if (!moe) return bytes + w * p.dense_ffn_per_layer / tp;
    const double per_expert = p.moe_routed_per_layer / m.moe->routed_experts;
    return bytes + w * p.moe_shared_per_layer / tp + kActivationBytes * p.moe_router_per_layer +
           w * l.experts_per_gpu(m) * per_expert;
  };
  // Embedding and output head stay in bf16 (DeepSeek-V3 Sec 3.3.1), split over the TP group.
  double bytes = kActivationBytes * p.embedding / tp;
  bytes += (m.layers - m.moe_layers()) * layer_bytes(false);
  // Only an MoE model has expert layers to price (layer_bytes(true) reads its expert count).
  if (m.moe) bytes += m.moe_layers() * layer_bytes(true);
  // An MTP module is one more block (the last layer's kind) and a 2h x h projection (DeepSeek-V3 Sec 2.2).
  bytes += mtp_modules * (layer_bytes(m.is_moe_layer(m.layers - 1)) + w * 2 * h * h / tp);
  return bytes;
}

double decode_kv_bytes_per_sequence(const ServingScenario& s) { return decode_kv_bytes_at(s, s.decode.kv_len); }

double decode_kv_bytes_per_token(const ServingScenario& s) { return decode_kv_bytes_at(s, 1); }

double decode_kv_bytes_at(const ServingScenario& s, double kv_len) {
  const auto& a = s.model.attention;
  const double tp = s.decode.layout.attention_tp;
  // A TP group serves tp sequences per unit of batch_per_gpu, and each of its GPUs keeps its share
  // of every one: all of MLA's latent (shared by all heads, so replicated), or the K and V of its
  // kv heads for GQA/MHA (replicated once there are more GPUs than kv heads).
  const double share =
      a.kind == AttentionKind::mla ? 1.0 : 1.0 / std::min(tp, static_cast<double>(std::max(1, a.kv_heads)));
  // Each MTP module is one more attention layer with its own cache.
  const double layers = s.model.layers + s.decode.mtp_depth;
  return tp * share * kv_len * layers * static_cast<double>(a.kv_cache_elems_per_token()) *
         kv_cache_bytes_per_elem(s.decode.kv_cache);
}

double decode_all_to_all_s(int ep, double bytes, const ClusterSpec& cluster, const Profile& profile) {
  const bool one_domain = ep <= cluster.scaleup_domain_gpus;
  // Uniform destinations (scaleout_fraction < 0): no per-node deduplication in the low-latency path.
  return collective_cost(
             {"all_to_all", bytes, ep, one_domain ? LinkClass::scaleup : LinkClass::scaleout, one_domain ? ep : 1, -1},
             cluster, profile)
      .time_s;
}

DecodeStep decode_step(const ServingScenario& s, double batch_per_gpu) {
  return decode_step_at(s, batch_per_gpu, s.decode.kv_len);
}

DecodeStep decode_step_at(const ServingScenario& s, double batch_per_gpu, double kv_len) {
  const ModelSpec& m = s.model;
  const DecodeSettings& d = s.decode;
  const InstanceLayout& l = d.layout;
  const double tp = l.attention_tp, h = static_cast<double>(m.hidden);
  // A TP group serves tp x batch_per_gpu sequences together; each GPU holds its heads of all of them.
  const double sequences = batch_per_gpu * tp;
  const double tokens = sequences * query_tokens_per_sequence(d);
  TrainingSettings train;
  train.precision = s.precision;
  train.seq_len = static_cast<std::int64_t>(std::ceil(kv_len));
  DecodeAttention attention{sequences, kv_len, d.kv_cache};
  LayerOpsOptions options;
  options.decode = &attention;
  options.experts_per_gpu = l.experts_per_gpu(m);
  const Parallelism par = parallelism_of(l);

  ComputeTally compute(s);
  for (int layer = 0; layer < m.layers; ++layer)
    compute.add(layer_forward_ops(m, layer, par, train, tokens, options), 1);
  // MTP drafts: each draft runs one more transformer block (an MoE block in DeepSeek-V3) on one
  // token per sequence.
  if (d.mtp_depth > 0) compute.add(layer_forward_ops(m, m.layers - 1, par, train, sequences, options), d.mtp_depth);
  // Output head over the vocabulary (split over the TP group) for the main model and each draft.
  const double vocab = static_cast<double>(m.vocab);
  compute.add({Op{"lm_head", OpClass::gemm, Precision::bf16, 2 * tokens * vocab / tp * h,
                  kActivationBytes * (vocab / tp * h + tokens * (h + vocab / tp)), 1, OpRole::other,
                  GemmShape{tokens, vocab / tp, h}}},
              1 + d.mtp_depth);
  compute.add(Op{"embedding", OpClass::memory_bound, Precision::bf16, 0, 2 * kActivationBytes * tokens * h, 1});

  // The main model's layers carry `tokens` per TP group, each MTP draft `sequences`.
  const double comm_tp = tp_all_reduces_s(s, l, tokens, m.layers) + tp_all_reduces_s(s, l, sequences, d.mtp_depth);
  double comm_ep = 0;
  if (m.moe && l.ep > 1) {
    // Dispatch in FP8 when the GEMMs are, combine in bf16 (DeepSeek-V3 Sec 3.3).
    const double dispatch_elem = s.precision == Precision::fp8 ? 1 : kActivationBytes;
    auto dispatch_and_combine = [&](double tok) {
      const double copies = tok / tp * m.moe->top_k;  // token copies this GPU sends (its share of the TP group's)
      return decode_all_to_all_s(l.ep, dispatch_elem * copies * h, s.cluster, s.profile) +
             decode_all_to_all_s(l.ep, kActivationBytes * copies * h, s.cluster, s.profile);
    };
    comm_ep = m.moe_layers() * dispatch_and_combine(tokens) + d.mtp_depth * dispatch_and_combine(sequences);
  }

  DecodeStep st;
  finish(st, compute.by_kind(), comm_ep, comm_tp, l.overlap);
  st.batch_per_gpu = batch_per_gpu;
  st.tokens_per_step_per_sequence = kept_tokens_per_sequence(d);
  st.tpot_s = st.step_s / st.tokens_per_step_per_sequence;
  st.output_tokens_per_s_per_gpu = batch_per_gpu * st.tokens_per_step_per_sequence / st.step_s;
  return st;
}

PrefillStep prefill_step(const ServingScenario& s) {
  return prefill_step_at(s, s.prefill->layout, s.prefill->tokens_per_gpu, s.prefill->prompt_len);
}

PrefillStep prefill_step_at(const ServingScenario& s, const InstanceLayout& l, double tokens_per_gpu,
                            double prompt_len) {
  const ModelSpec& m = s.model;
  const double tp = l.attention_tp, h = static_cast<double>(m.hidden);
  const double tokens = tokens_per_gpu * tp;  // per TP group, as in decode
  // Prompts attend over themselves, causally, with a flash kernel (the training forward).
  TrainingSettings train;
  train.precision = s.precision;
  train.seq_len = static_cast<std::int64_t>(std::ceil(prompt_len));
  LayerOpsOptions options;
  options.experts_per_gpu = l.experts_per_gpu(m);
  const Parallelism par = parallelism_of(l);

  ComputeTally compute(s);
  for (int layer = 0; layer < m.layers; ++layer)
    compute.add(layer_forward_ops(m, layer, par, train, tokens, options), 1);
  compute.add(Op{"embedding", OpClass::memory_bound, Precision::bf16, 0, 2 * kActivationBytes * tokens * h, 1});

  const double comm_tp = tp_all_reduces_s(s, l, tokens, m.layers);
  double comm_ep = 0;
  if (m.moe && l.ep > 1) {
    // DeepEP's normal kernels, as in training: a token crosses the fabric once per node it routes
    // to (node-limited routing) and fans out over NVLink there.
    const auto& e = *m.moe;
    const GroupPlacement g = place_group(l.ep, 1, s.cluster.scaleup_domain_gpus);
    const double out_share = dispatch_scaleout_fraction(l.ep, g.ranks_per_domain, e.top_k, e.max_nodes_per_token);
    const double copies = tokens / tp * e.top_k;
    const double dispatch_elem = s.precision == Precision::fp8 ? 1 : kActivationBytes;
    for (const double elem : {dispatch_elem, kActivationBytes})
      comm_ep += m.moe_layers() *
                 collective_cost({"all_to_all", elem * copies * h, l.ep, g.link, g.ranks_per_domain, out_share},
                                 s.cluster, s.profile)
                     .time_s;
  }
  PrefillStep st;
  finish(st, compute.by_kind(), comm_ep, comm_tp, l.overlap);
  st.input_tokens_per_s_per_gpu = tokens_per_gpu / st.step_s;
  return st;
}

namespace {

// Decode memory per GPU: the weights, one sequence's KV cache, and how many sequences fit beside them.
struct DecodeMemory {
  double capacity = 0, usable = 0, weights = 0, prefill_weights = 0, kv_per_seq = 0, max_batch = 0;
};

DecodeMemory decode_memory(const ServingScenario& s) {
  const DecodeSettings& d = s.decode;
  DecodeMemory m;
  m.capacity = s.gpu.hbm_capacity_gb.value * 1e9;
  m.usable = m.capacity * d.memory_utilization;
  m.weights = weights_that_fit(s, d.layout, d.mtp_depth, m.usable, "decode");
  m.prefill_weights = s.prefill ? weights_that_fit(s, s.prefill->layout, 0, m.usable, "prefill") : 0;
  m.kv_per_seq = decode_kv_bytes_per_sequence(s);
  m.max_batch = std::floor((m.usable - m.weights) / m.kv_per_seq);
  if (m.max_batch < 1)
    throw InfeasibleError(
        s.file, "$.decode.kv_len",
        fmt::format("one sequence's KV cache ({:.2f} GB per GPU) does not fit beside the weights ({:.1f} of "
                    "{:.1f} GB usable): expected a shorter kv_len, an fp8 cache or more GPUs",
                    m.kv_per_seq / 1e9, m.weights / 1e9, m.usable / 1e9));
  return m;
}

struct BatchChoice {
  double batch = 0;
  std::string chosen_by;  // stated | memory | tpot_slo
};

// The decode batch per GPU: the stated one (refused when it does not fit), or the largest whole
// batch that fits memory and, if one is set, the TPOT SLO.
BatchChoice choose_decode_batch(const ServingScenario& s, const DecodeMemory& mem, std::vector<std::string>& warnings) {
  const DecodeSettings& d = s.decode;
  if (d.batch_per_gpu) {
    const double batch = *d.batch_per_gpu;
    if (batch > mem.max_batch)
      throw InfeasibleError(
          s.file, "$.decode.batch_per_gpu",
          fmt::format("{:g} sequences per GPU do not fit: their KV cache takes {:.1f} GB beside {:.1f} GB of "
                      "weights, {:.1f} GB usable; expected at most {:g}",
                      batch, batch * mem.kv_per_seq / 1e9, mem.weights / 1e9, mem.usable / 1e9, mem.max_batch));
    if (d.tpot_slo_s > 0 && decode_step(s, batch).tpot_s > d.tpot_slo_s)
      warnings.push_back(fmt::format("the stated batch misses the TPOT SLO of {:g} ms", d.tpot_slo_s * 1e3));
    return {batch, "stated"};
  }
  if (!(d.tpot_slo_s > 0 && decode_step(s, mem.max_batch).tpot_s > d.tpot_slo_s)) return {mem.max_batch, "memory"};
  const double tpot_one = decode_step(s, 1).tpot_s;
  if (tpot_one > d.tpot_slo_s)
    throw InfeasibleError(
        s.file, "$.decode.tpot_slo_ms",
        fmt::format("even one sequence per GPU takes {:.2f} ms per output token: expected an SLO of at least that",
                    tpot_one * 1e3));
  // The step time grows with the batch, so a bisection finds the largest batch within the SLO.
  double lo = 1, hi = mem.max_batch;  // tpot(lo) meets the SLO, tpot(hi) does not
  while (hi - lo > 1) {
    const double mid = std::floor((lo + hi) / 2);
    (decode_step(s, mid).tpot_s <= d.tpot_slo_s ? lo : hi) = mid;
  }
  return {lo, "tpot_slo"};
}

nlohmann::json decode_json(const ServingScenario& s, const DecodeStep& st, const BatchChoice& batch,
                           const DecodeMemory& mem) {
  const InstanceLayout& l = s.decode.layout;
  nlohmann::json dj = step_json(st, l.overlap);
  dj["instance_gpus"] = l.gpus;
  dj["batch_per_gpu"] = batch.batch;
  dj["batch_chosen_by"] = batch.chosen_by;
  dj["max_batch_per_gpu_by_memory"] = mem.max_batch;
  dj["kv_len"] = s.decode.kv_len;
  dj["tokens_per_step_per_sequence"] = st.tokens_per_step_per_sequence;
  dj["tpot_ms"] = st.tpot_s * 1e3;
  dj["tokens_per_s_per_sequence"] = 1 / st.tpot_s;
  dj["output_tokens_per_s_per_gpu"] = st.output_tokens_per_s_per_gpu;
  dj["output_tokens_per_s_per_node"] = st.output_tokens_per_s_per_gpu * s.cluster.gpus_per_node;
  dj["output_tokens_per_s_per_instance"] = st.output_tokens_per_s_per_gpu * l.gpus;
  dj["memory_gb"] = {{"weights", mem.weights / 1e9},
                     {"kv_cache", batch.batch * mem.kv_per_seq / 1e9},
                     {"kv_cache_per_sequence", mem.kv_per_seq / 1e9},
                     {"usable", mem.usable / 1e9},
                     {"capacity", mem.capacity / 1e9}};
  return dj;
}

nlohmann::json prefill_json(const ServingScenario& s, const PrefillStep& pre, const DecodeMemory& mem) {
  const PrefillSettings& p = *s.prefill;
  nlohmann::json pj = step_json(pre, p.layout.overlap);
  pj["instance_gpus"] = p.layout.gpus;
  pj["tokens_per_gpu"] = p.tokens_per_gpu;
  pj["prompt_len"] = p.prompt_len;
  pj["input_tokens_per_s_per_gpu"] = pre.input_tokens_per_s_per_gpu;
  pj["input_tokens_per_s_per_node"] = pre.input_tokens_per_s_per_gpu * s.cluster.gpus_per_node;
  pj["input_tokens_per_s_per_instance"] = pre.input_tokens_per_s_per_gpu * p.layout.gpus;
  pj["memory_gb"] = {{"weights", mem.prefill_weights / 1e9}, {"usable", mem.usable / 1e9}};
  return pj;
}

// The fleet a target rate takes: decode and prefill instances, GPUs, $/hour, power and capital.
nlohmann::json target_json(const ServingScenario& s, const DecodeStep& st, const std::optional<PrefillStep>& pre) {
  nlohmann::json t;
  double gpus = 0;
  if (s.target_output_tokens_per_s > 0) {
    const int instance_gpus = s.decode.layout.gpus;
    const double instances = std::ceil(s.target_output_tokens_per_s / (st.output_tokens_per_s_per_gpu * instance_gpus));
    t["output_tokens_per_s"] = s.target_output_tokens_per_s;
    t["decode_instances"] = instances;
    t["decode_gpus"] = instances * instance_gpus;
    gpus += instances * instance_gpus;
  }
  if (s.target_input_tokens_per_s > 0) {
    // Cached prefixes are not recomputed: only the misses need prefill GPUs.
    const double computed = s.target_input_tokens_per_s * (1 - s.cache_hit_rate);
    const double instances = std::ceil(computed / (pre->input_tokens_per_s_per_gpu * s.prefill->layout.gpus));
    t["input_tokens_per_s"] = s.target_input_tokens_per_s;
    t["cache_hit_rate"] = s.cache_hit_rate;
    t["prefill_instances"] = instances;
    t["prefill_gpus"] = instances * s.prefill->layout.gpus;
    gpus += instances * s.prefill->layout.gpus;
  }
  // A fleet beyond gwsim's cluster limit (a target of 1e19 tokens/s) is refused at the targets, not
  // deep in the fabric sizing.
  if (gpus > static_cast<double>(limits::kMaxGpus))
    throw InputError(s.file, "$.target",
                     fmt::format("the target rates take {:.3g} GPUs: expected targets a fleet of at most {} GPUs meets",
                                 gpus, limits::kMaxGpus));
  t["gpus"] = gpus;
  t["usd_per_hour"] = gpus * s.usd_per_gpu_hour;
  // Power and capital of that fleet on the scenario's cluster design, with the training
  // report's defaults: GPUs at TDP (what a facility provisions), hosts, NICs, the switches and
  // optics its fabric needs, PUE (hwmodels/data/power.json, costs.json).
  const PowerAssumptions power = default_power_assumptions(s.gpu);
  const auto footprint = cluster_footprint(static_cast<std::int64_t>(gpus), s.gpu, s.cluster, power,
                                           power.gpu_power_fraction_of_tdp, default_cost_assumptions(s.gpu));
  t["it_mw"] = footprint.it_mw;
  t["facility_mw"] = footprint.facility_mw;
  t["capex_usd"] = footprint.capex_usd;
  t["usd_per_gpu_hour_owned"] = footprint.usd_per_gpu_hour_owned;
  return t;
}

}  // namespace

nlohmann::json run_serving(const ServingScenario& s) {
  const DecodeMemory mem = decode_memory(s);
  std::vector<std::string> warnings;
  const BatchChoice batch = choose_decode_batch(s, mem, warnings);
  const DecodeStep st = decode_step(s, batch.batch);

  nlohmann::json r;
  r["schema"] = kServingReportSchema;
  r["scenario"] = s.resolved;
  r["provenance"]["profile"] = {
      {"name", s.profile.name}, {"kind", to_string(s.profile.kind)}, {"source", s.profile.source}};
  if (!s.profile.derivation.empty()) r["provenance"]["profile"]["derivation"] = s.profile.derivation;
  if (s.profile.kind == ProfileKind::published)
    warnings.push_back("profile \"" + s.profile.name +
                       "\" is published (datasheet and public benchmarks), not measured on this hardware");
  r["decode"] = decode_json(s, st, batch, mem);
  std::optional<PrefillStep> pre;
  if (s.prefill) {
    pre = prefill_step(s);
    r["prefill"] = prefill_json(s, *pre, mem);
  }
  r["cost"] = {{"usd_per_gpu_hour", s.usd_per_gpu_hour},
               {"source", s.usd_source},
               {"usd_per_million_output_tokens", s.usd_per_gpu_hour / 3600 / st.output_tokens_per_s_per_gpu * 1e6}};
  if (s.target_output_tokens_per_s > 0 || s.target_input_tokens_per_s > 0) r["target"] = target_json(s, st, pre);
  r["error_band"] = serving_error_band_of(s);
  r["warnings"] = warnings;
  return r;
}

std::string format_serving_summary(const nlohmann::json& r) {
  const auto& d = r["decode"];
  auto breakdown = [](const nlohmann::json& step) {
    std::string parts;
    for (const auto& [k, v] : step["breakdown_s"].items()) parts += fmt::format(" {}={:.2f}", k, v.get<double>() * 1e3);
    return parts;
  };
  std::string s = fmt::format("{} — decode on {} GPUs (profile {} [{}])\n", r["scenario"]["name"].get<std::string>(),
                              d["instance_gpus"].get<int>(), r["provenance"]["profile"]["name"].get<std::string>(),
                              r["provenance"]["profile"]["kind"].get<std::string>());
  s += fmt::format("  batch / GPU          {:g} sequences at {:g} cached tokens ({}; memory allows {:g})\n",
                   d["batch_per_gpu"].get<double>(), d["kv_len"].get<double>(), d["batch_chosen_by"].get<std::string>(),
                   d["max_batch_per_gpu_by_memory"].get<double>());
  s += fmt::format(
      "  step                 {:.2f} ms ({:.2f} tokens per sequence per step) -> TPOT {:.2f} ms, {:.1f} tokens/s per "
      "sequence\n",
      d["step_s"].get<double>() * 1e3, d["tokens_per_step_per_sequence"].get<double>(), d["tpot_ms"].get<double>(),
      d["tokens_per_s_per_sequence"].get<double>());
  s += fmt::format("  throughput           {:.0f} output tokens/s per GPU, {:.0f} per node, {:.0f} per instance\n",
                   d["output_tokens_per_s_per_gpu"].get<double>(), d["output_tokens_per_s_per_node"].get<double>(),
                   d["output_tokens_per_s_per_instance"].get<double>());
  s += fmt::format("  step breakdown (ms) {}\n", breakdown(d));
  s += fmt::format("  bottleneck           {}\n", d["bottleneck"].get<std::string>());
  const auto& mem = d["memory_gb"];
  s +=
      fmt::format("  memory / GPU         weights {:.1f} GB + KV cache {:.1f} GB of {:.1f} GB usable ({:.0f} GB HBM)\n",
                  mem["weights"].get<double>(), mem["kv_cache"].get<double>(), mem["usable"].get<double>(),
                  mem["capacity"].get<double>());
  if (r.contains("prefill")) {
    const auto& p = r["prefill"];
    s += fmt::format(
        "  prefill              {} GPUs, {:g} tokens per GPU of {:g}-token prompts: {:.2f} ms per step, {:.0f} input "
        "tokens/s per "
        "GPU, {:.0f} per node\n",
        p["instance_gpus"].get<int>(), p["tokens_per_gpu"].get<double>(), p["prompt_len"].get<double>(),
        p["step_s"].get<double>() * 1e3, p["input_tokens_per_s_per_gpu"].get<double>(),
        p["input_tokens_per_s_per_node"].get<double>());
    s += fmt::format("  prefill breakdown (ms){}; bottleneck {}\n", breakdown(p), p["bottleneck"].get<std::string>());
  }
  s += fmt::format("  cost                 ${:.3f} per million output tokens (decode) at ${:g}/GPU-hour\n",
                   r["cost"]["usd_per_million_output_tokens"].get<double>(),
                   r["cost"]["usd_per_gpu_hour"].get<double>());
  if (r.contains("target")) {
    const auto& t = r["target"];
    std::string parts;
    if (t.contains("decode_gpus"))
      parts +=
          fmt::format("{:g} output tokens/s: {:g} decode instances ({:g} GPUs)", t["output_tokens_per_s"].get<double>(),
                      t["decode_instances"].get<double>(), t["decode_gpus"].get<double>());
    if (t.contains("prefill_gpus"))
      parts += fmt::format("{}{:g} input tokens/s ({:.0f} % cached): {:g} prefill instances ({:g} GPUs)",
                           parts.empty() ? "" : "; ", t["input_tokens_per_s"].get<double>(),
                           100 * t["cache_hit_rate"].get<double>(), t["prefill_instances"].get<double>(),
                           t["prefill_gpus"].get<double>());
    s += fmt::format("  target               {}; {:g} GPUs, ${:.0f} per hour\n", parts, t["gpus"].get<double>(),
                     t["usd_per_hour"].get<double>());
    s +=
        fmt::format("  fleet                {:.2f} MW facility ({:.2f} MW IT), capex ${:.3g}, owned ${:.2f}/GPU-hour\n",
                    t["facility_mw"].get<double>(), t["it_mw"].get<double>(), t["capex_usd"].get<double>(),
                    t["usd_per_gpu_hour_owned"].get<double>());
  }
  if (r.contains("error_band")) s += "  trust                " + error_band_line(r["error_band"]) + "\n";
  for (const auto& w : r["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  return s;
}

}  // namespace gwsim
