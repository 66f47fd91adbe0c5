#include "gwsim/workloads/training_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "gwsim/common/input_error.h"

namespace gwsim {

std::string to_string(CommKind k) {
  switch (k) {
    case CommKind::tp:
      return "tp";
    case CommKind::cp:
      return "cp";
    case CommKind::ep:
      return "ep";
    case CommKind::pp:
      return "pp";
    case CommKind::dp:
      return "dp";
  }
  return "?";
}

namespace {

constexpr double kWeightBytes = 2;      // bf16 compute copy of the weights
constexpr double kGradBytes = 4;        // fp32 main gradients (Megatron-LM, DeepSeek-V3 Sec 3.3)
constexpr double kGradReduceBytes = 4;  // gradients are reduced in fp32
// Adam: fp32 master weights + two moments. DeepSeek-V3 keeps the moments in BF16 (Sec 3.3.1), which a
// scenario selects through precision fp8 (the DeepSeek recipe).
constexpr double kOptimizerBytesFp32Moments = 12;
constexpr double kOptimizerBytesBf16Moments = 8;

double gemm_bytes(double m, double n, double k, Precision prec) {
  const double in = prec == Precision::fp8 ? 1 : 2;
  return in * (m * k + k * n) + 2 * m * n;
}

Op gemm(const std::string& name, double m, double n, double k, Precision prec, double count = 1,
        OpRole role = OpRole::other) {
  return Op{name, OpClass::gemm, prec, 2 * m * n * k, gemm_bytes(m, n, k, prec), count, role, GemmShape{m, n, k}};
}

// FP8 GEMMs need their BF16 activation quantised first (read 2 bytes, write 1, plus per-tile scales:
// DeepSeek-V3 Sec 3.3.2, 1x128 tiles); the backward quantises the gradient and a transposed copy of
// the activation for the weight gradient (its backward op, 1.5x these bytes, stands for that).
void add_gemm(std::vector<Op>& ops, const std::string& name, double m, double n, double k, Precision prec,
              OpRole role = OpRole::other) {
  if (prec == Precision::fp8)
    ops.push_back(Op{name + "_quantize", OpClass::memory_bound, Precision::bf16, 0, 3 * m * k, 1});
  ops.push_back(gemm(name, m, n, k, prec, 1, role));
}

Op memory_op(const std::string& name, double bytes, OpRole role = OpRole::other) {
  return Op{name, OpClass::memory_bound, Precision::bf16, 0, bytes, 1, role};
}

// Attention over a whole sequence (training, prefill): T tokens of sequences of t.seq_len, with
// `heads` query and `kv_heads` key/value heads on this GPU.
void add_prompt_attention(std::vector<Op>& ops, const TrainingSettings& t, double cp, double T, double heads,
                          double kv_heads, double dqk, double dv) {
  const double seq = static_cast<double>(t.seq_len);
  if (t.attention_kernel == AttentionKernel::flash) {
    // FlashAttention skips fully masked tiles, so a causal mask halves the work actually done.
    const double keys = t.causal_mask ? seq / 2 : seq;
    const double flops = 2 * T * keys * heads * (dqk + dv);
    // Reads q, k, v and writes the output once (the s x s scores never reach HBM).
    const double bytes = kActivationBytes * T * (heads + kv_heads) * (dqk + dv);
    Op core{"attention_core", OpClass::attention, Precision::bf16, flops, bytes, 1};
    // Under context parallelism (ring attention) each kernel call is one ring step: seq / cp queries
    // over seq / cp keys. Of a causal sequence's work, 1 / cp lies in the masked diagonal blocks and
    // the rest in full blocks, so with cp > 1 the call is priced as unmasked.
    core.attention = AttentionShape{seq / cp, (dqk + dv) / 2, t.causal_mask && cp == 1};
    ops.push_back(core);
    return;
  }
  // Unfused (Megatron-LM 2021): batched GEMMs write the full s x s score matrix; scale-mask-softmax
  // reads it and writes probabilities (2+2 bytes), dropout reads them and writes output and a
  // 1-byte mask (2+2+1): 9 bytes of HBM traffic per score element. One seq x seq product per
  // sequence and head.
  const double scores = T * seq * heads, products = T / seq * heads;
  ops.push_back(Op{"attention_scores", OpClass::gemm, Precision::bf16, 2 * scores * dqk, kActivationBytes * scores, 1,
                   OpRole::attention_scores, GemmShape{seq, seq, dqk, products}});
  ops.push_back(memory_op("softmax_dropout", 9 * scores));
  ops.push_back(Op{"attention_values", OpClass::gemm, Precision::bf16, 2 * scores * dv, kActivationBytes * scores, 1,
                   OpRole::attention_scores, GemmShape{seq, dv, seq, products}});
}

}  // namespace

double dispatch_scaleout_fraction(int ep, int ranks_per_domain, int top_k, int max_domains_per_token) {
  const double domains = static_cast<double>(ep) / std::max(1, ranks_per_domain);
  if (domains <= 1) return 0;
  double domains_hit = domains * (1 - std::pow(1 - 1 / domains, top_k));
  if (max_domains_per_token > 0) domains_hit = std::min(domains_hit, static_cast<double>(max_domains_per_token));
  return domains_hit * (domains - 1) / domains / top_k;
}

double kv_cache_bytes_per_elem(Precision kv_cache) { return kv_cache == Precision::fp8 ? 1 + 4.0 / 64 : 2; }

std::vector<Op> layer_forward_ops(const ModelSpec& m, int layer, const Parallelism& p, const TrainingSettings& t,
                                  double tokens, const LayerOpsOptions& options) {
  const DecodeAttention* decode = options.decode;
  std::vector<Op> ops;
  const auto& a = m.attention;
  const double T = tokens;
  const double h = static_cast<double>(m.hidden);
  const double tp = p.tp;
  const double h_local = p.sp ? h / tp : h;  // elementwise work is split only with sequence parallelism
  const double heads = a.heads / tp;
  const double kv_heads = std::max(1.0, a.kv_heads / tp);
  const Precision prec = t.precision;

  ops.push_back(memory_op("attn_norm", 2 * kActivationBytes * T * h_local));
  if (a.kind == AttentionKind::mla) {
    // Low-rank down-projections are small and replicated across TP ranks (DeepSeek-V2 Sec 2.1).
    if (a.q_lora_rank > 0) {
      add_gemm(ops, "q_down", T, a.q_lora_rank, h, prec);
      add_gemm(ops, "q_up", T, heads * a.qk_head_dim(), a.q_lora_rank, prec, OpRole::mla_up_projection);
    } else {
      add_gemm(ops, "q_proj", T, heads * a.qk_head_dim(), h, prec);
    }
    add_gemm(ops, "kv_down", T, a.kv_lora_rank + a.qk_rope_head_dim, h, prec);
    // Decode keeps the cache compressed and absorbs the up-projections into q and the output
    // (DeepSeek-V2 Sec 2.1.2): no kv_up over the cache (q_absorb and v_absorb below instead).
    if (!decode)
      add_gemm(ops, "kv_up", T, heads * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank, prec,
               OpRole::mla_up_projection);
  } else {
    add_gemm(ops, "qkv_proj", T, (heads + 2 * kv_heads) * a.head_dim, h, prec);
  }
  const double dqk = a.qk_head_dim(), dv = a.value_head_dim();
  ops.push_back(memory_op("rope", 2 * kActivationBytes * T * (heads + kv_heads) * a.qk_rope_head_dim));
  if (decode) {
    const double seqs = decode->sequences, L = decode->kv_len, kv_elem = kv_cache_bytes_per_elem(decode->kv_cache);
    if (a.kind == AttentionKind::mla) {
      // Absorbed MLA (FlashMLA's form): every head attends over the shared latent + rope key, so the
      // cache is read once for all heads of a GPU: 576 elements per token and layer.
      const double dc = a.kv_lora_rank, dr = a.qk_rope_head_dim, dn = a.qk_nope_head_dim;
      // Per head: the T queries' no-rope part (dn) times that head's absorbed W_UK (dn x dc).
      ops.push_back(Op{"q_absorb", OpClass::gemm, Precision::bf16, 2 * T * heads * dn * dc,
                       kActivationBytes * (heads * dn * dc + T * heads * (dn + dc)), 1, OpRole::decode_attention,
                       GemmShape{T, dc, dn, heads}});
      ops.push_back(Op{"mla_decode", OpClass::mla_decode, Precision::bf16, 2 * T * heads * L * (dc + dr + dc),
                       seqs * L * (dc + dr) * kv_elem + kActivationBytes * T * heads * (dc + dr + dc), 1,
                       OpRole::decode_attention});
      ops.push_back(Op{"v_absorb", OpClass::gemm, Precision::bf16, 2 * T * heads * dc * dv,
                       kActivationBytes * (heads * dc * dv + T * heads * (dc + dv)), 1, OpRole::decode_attention,
                       GemmShape{T, dv, dc, heads}});
    } else {
      // Paged attention over K and V of the kv heads: a few FLOPs per byte, bandwidth-bound.
      ops.push_back(Op{"decode_attention", OpClass::memory_bound, Precision::bf16, 2 * T * heads * L * (dqk + dv),
                       seqs * L * kv_heads * (dqk + dv) * kv_elem + kActivationBytes * T * heads * (dqk + dv), 1,
                       OpRole::decode_attention});
    }
  } else {
    add_prompt_attention(ops, t, p.cp, T, heads, kv_heads, dqk, dv);
  }
  add_gemm(ops, "o_proj", T, h, heads * dv, prec);
  ops.push_back(memory_op("attn_residual", 3 * kActivationBytes * T * h_local));
  ops.push_back(memory_op("ffn_norm", 2 * kActivationBytes * T * h_local));

  const bool swiglu = m.activation == Activation::swiglu;
  const double act_bytes_per_elem = (swiglu ? 3 : 2) * kActivationBytes;
  if (m.is_moe_layer(layer)) {
    const auto& e = *m.moe;
    const double T_moe = p.sp ? T / tp : T;  // tokens this rank routes
    const double fe = e.expert_intermediate;
    const double routed_tokens = T_moe * e.top_k;  // balanced routing: every rank receives its share
    ops.push_back(gemm("router", T_moe, e.routed_experts, h, Precision::bf16));
    ops.push_back(memory_op("gating_topk", 3 * 4 * T_moe * e.routed_experts));
    if (prec == Precision::fp8)  // tokens are quantised once, before the FP8 dispatch
      ops.push_back(memory_op("dispatch_quantize", 3 * T_moe * h));
    ops.push_back(memory_op("dispatch_permute", 2 * kActivationBytes * routed_tokens * h, OpRole::routed_expert));
    // Expert tensor parallelism: the expert_tp ranks sharing each expert gather their routed tokens
    // and each computes its 1/expert_tp slice of the experts' width for all of them (same FLOPs;
    // more rows, narrower weights; the gather and scatter are the etp_* communications of the plan).
    const double etp = p.expert_tp_or_1();
    const double expert_rows = routed_tokens * etp;
    const double up_n = (swiglu ? 2 : 1) * fe / etp, down_k = fe / etp;
    const double experts_local = options.experts_per_gpu > 0
                                     ? options.experts_per_gpu
                                     : std::max(1.0, static_cast<double>(e.routed_experts) / p.ep);
    const double w_bytes = (prec == Precision::fp8 ? 1 : 2) * experts_local * (up_n + down_k) * h;
    const OpRole routed = OpRole::routed_expert;
    ops.push_back(Op{"experts_up", OpClass::grouped_gemm, prec, 2 * expert_rows * up_n * h,
                     w_bytes * up_n / (up_n + down_k) + kActivationBytes * expert_rows * (h + up_n), 1, routed});
    ops.push_back(memory_op("experts_act", act_bytes_per_elem * expert_rows * down_k, routed));
    if (prec == Precision::fp8) ops.push_back(memory_op("experts_down_quantize", 3 * expert_rows * down_k, routed));
    ops.push_back(Op{"experts_down", OpClass::grouped_gemm, prec, 2 * expert_rows * down_k * h,
                     w_bytes * down_k / (up_n + down_k) + kActivationBytes * expert_rows * (down_k + h), 1, routed});
    ops.push_back(memory_op("combine_unpermute", kActivationBytes * (routed_tokens + T_moe) * h, routed));
    if (e.shared_experts > 0) {
      const double fs = static_cast<double>(e.shared_experts) * fe / tp;
      add_gemm(ops, "shared_up", T, (swiglu ? 2 : 1) * fs, h, prec);
      ops.push_back(memory_op("shared_act", act_bytes_per_elem * T * fs));
      add_gemm(ops, "shared_down", T, h, fs, prec);
    }
  } else {
    const double f = static_cast<double>(m.ffn_intermediate) / tp;
    add_gemm(ops, "ffn_up", T, (swiglu ? 2 : 1) * f, h, prec);
    ops.push_back(memory_op("ffn_act", act_bytes_per_elem * T * f));
    add_gemm(ops, "ffn_down", T, h, f, prec);
  }
  ops.push_back(memory_op("ffn_residual", 3 * kActivationBytes * T * h_local));
  return ops;
}

namespace {

// Backward of a forward op, split into the activation-gradient part (B) and weight-gradient part (W).
// The backward ops of one forward op, as parts: the pass (input or weight gradient), the name
// suffix, the kind and the work. add_backward builds them; stage_flops sums them without building.
struct BackwardPart {
  bool weight_pass;
  const char* suffix;
  OpClass op_class;
  double flops, bytes;
  GemmShape shape{};
};
struct BackwardParts {
  std::array<BackwardPart, 2> part;
  int n = 0;
};

BackwardParts backward_parts(const Op& f) {
  BackwardParts p;
  if (is_gemm(f.op_class)) {
    // C (m x n) = A (m x k) B (k x n): dA = dC B^T is m x k over n, dB = A^T dC is k x n over m.
    const GemmShape& s = f.shape;
    const GemmShape d_a = s.known() ? GemmShape{s.m, s.k, s.n, s.batch} : GemmShape{};
    const GemmShape d_b = s.known() ? GemmShape{s.k, s.n, s.m, s.batch} : GemmShape{};
    p.part[p.n++] = {false, "_dgrad", f.op_class, f.flops, f.bytes, d_a};
    if (f.role != OpRole::attention_scores)
      p.part[p.n++] = {true, "_wgrad", f.op_class, f.flops, f.bytes, d_b};
    else  // score/value GEMMs of unfused attention: both gradients are activation gradients
      p.part[p.n++] = {false, "_dgrad2", f.op_class, f.flops, f.bytes, d_b};
  } else if (f.op_class == OpClass::attention) {
    // FlashAttention backward runs 5 matmuls for the forward's 2 (recomputed scores, dV, dP, dQ, dK).
    p.part[p.n++] = {false, "_bwd", OpClass::attention_backward, 2.5 * f.flops, 2 * f.bytes};
  } else {
    // Elementwise backward reads the saved input and the incoming gradient and writes one gradient.
    p.part[p.n++] = {false, "_bwd", f.op_class, 0, 1.5 * f.bytes};
  }
  return p;
}

void add_backward(const Op& f, std::vector<Op>& b, std::vector<Op>& w) {
  const auto parts = backward_parts(f);
  for (int i = 0; i < parts.n; ++i) {
    const auto& bp = parts.part[i];
    (bp.weight_pass ? w : b)
        .push_back(Op{f.name + bp.suffix, bp.op_class, f.precision, bp.flops, bp.bytes, f.count, f.role, bp.shape,
                      f.attention});
  }
}

// Selective recomputation redoes what is cheap to redo and expensive to keep: the elementwise ops
// (norms, activations), the score/softmax passes of unfused attention, and MLA's up-projections from
// the cached latents (DeepSeek-V3 Sec 3.3.2 recomputes RMSNorm and the MLA up-projections).
bool recomputed_selectively(const Op& f) {
  return f.op_class == OpClass::memory_bound || f.role == OpRole::attention_scores ||
         f.role == OpRole::mla_up_projection;
}

bool recomputed(const Op& f, const TrainingSettings& train) {
  return train.recompute == Recompute::full || (train.recompute == Recompute::selective && recomputed_selectively(f));
}

// Activation bytes a layer keeps per token until its backward (per GPU): the tensors its backward
// reads, after Korthikanti et al. 2022 ("Reducing Activation Recomputation"), generalised to
// GQA/MLA/MoE. Full recomputation keeps only the layer input; selective drops what
// recomputed_selectively() redoes. FP8 training caches the FFN/expert GEMM inputs in FP8
// (DeepSeek-V3 Sec 3.3.2).
double activation_bytes_per_token(const ModelSpec& m, int layer, const Parallelism& p, const TrainingSettings& t) {
  const auto& a = m.attention;
  const double h = static_cast<double>(m.hidden);
  const double tp = p.tp;
  const double h_local = p.sp ? h / tp : h;
  if (t.recompute == Recompute::full) return kActivationBytes * h_local;
  const bool selective = t.recompute == Recompute::selective;
  const double heads = a.heads / tp, kv_heads = std::max(1.0, a.kv_heads / tp);
  const double ffn_elem = t.precision == Precision::fp8 ? 1 : kActivationBytes;

  double bytes = kActivationBytes * 2 * h_local;            // the two residual-stream inputs
  if (!selective) bytes += kActivationBytes * 2 * h_local;  // the two norm outputs
  // Attention: GEMM inputs and what flash-attention's backward reads (q, k, v, output).
  double attn = 0;
  if (a.kind == AttentionKind::mla) {
    attn += a.q_lora_rank + a.kv_lora_rank + a.qk_rope_head_dim;  // latents
    if (!selective) attn += heads * a.qk_head_dim() + heads * (a.qk_nope_head_dim + a.value_head_dim());
  } else {
    attn += heads * a.head_dim + 2 * kv_heads * a.head_dim;
  }
  attn += heads * a.value_head_dim();  // attention output = o_proj input
  bytes += kActivationBytes * attn;
  if (t.attention_kernel == AttentionKernel::unfused && !selective)
    bytes += 5.0 * heads * static_cast<double>(t.seq_len);  // softmax output (2) + dropout output (2) + mask (1)
  const double act_in = m.activation == Activation::swiglu ? 2 : 1;  // activation input width per FFN unit
  const double act_out = selective ? 0 : 1;                          // activation output (down-proj input)
  if (m.is_moe_layer(layer)) {
    const auto& e = *m.moe;
    const double share = p.sp ? 1 / tp : 1;
    // Under expert_tp each rank keeps the gathered routed tokens (expert_tp x its own) for its
    // slice's weight gradient, and 1/expert_tp of each token's expert activations.
    const double etp = p.expert_tp_or_1();
    bytes += ffn_elem * share * e.top_k * etp * (h + (act_in + act_out) * e.expert_intermediate / etp);
    bytes += ffn_elem * (h_local + (act_in + act_out) * e.shared_experts * e.expert_intermediate / tp);
  } else {
    // With sequence parallelism the GEMM input is kept as this rank's shard and re-gathered in the
    // backward (Korthikanti et al. Sec 4.2.2).
    bytes += ffn_elem * (h_local + (act_in + act_out) * m.ffn_intermediate / tp);
  }
  return bytes;
}

// Parameters one GPU holds for one transformer layer.
void layer_params(const ModelSpec& m, const ParamCounts& c, int layer, const Parallelism& p, double& dense,
                  double& experts) {
  dense += c.attention_per_layer / p.tp + c.norms_per_layer;
  if (m.is_moe_layer(layer)) {
    dense += c.moe_shared_per_layer / p.tp + c.moe_router_per_layer;
    experts += c.moe_routed_per_layer / (static_cast<double>(p.ep) * p.expert_tp_or_1());
  } else {
    dense += c.dense_ffn_per_layer / p.tp;
  }
}

double sum_flops(const std::vector<Op>& ops) {
  double s = 0;
  for (const auto& o : ops) s += o.flops * o.count;
  return s;
}

// Contiguous partition of per-item costs into `parts` chunks minimising the largest chunk
// (what a practitioner does when placing layers on pipeline stages). Returns chunk start indices.
std::vector<int> balanced_partition(const std::vector<double>& cost, int parts) {
  const int n = static_cast<int>(cost.size());
  std::vector<double> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + cost[i];
  // best[k][i]: smallest max-chunk cost for the first i items in k chunks.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(parts + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(parts + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int k = 1; k <= parts; ++k)
    for (int i = k; i <= n; ++i)
      for (int j = k - 1; j < i; ++j) {
        double v = std::max(best[k - 1][j], prefix[i] - prefix[j]);
        if (v < best[k][i]) {
          best[k][i] = v;
          cut[k][i] = j;
        }
      }
  std::vector<int> starts(parts);
  int i = n;
  for (int k = parts; k >= 1; --k) {
    starts[k - 1] = cut[k][i];
    i = cut[k][i];
  }
  return starts;
}

// balanced_partition is O(parts x items^2) (Llama 3 405B over 128 chunks: ~2M steps), and a
// planner asks it the same question for every layout that differs only in DP, ZeRO or
// recomputation: the last few answers are kept per thread (exact keys, so results are unchanged).
std::vector<int> cached_balanced_partition(const std::vector<double>& cost, int parts) {
  struct Entry {
    std::vector<double> cost;
    int parts;
    std::vector<int> starts;
  };
  constexpr std::size_t kEntries = 16;
  thread_local std::vector<Entry> cache;
  thread_local std::size_t next = 0;
  for (const auto& e : cache)
    if (e.parts == parts && e.cost == cost) return e.starts;
  auto starts = balanced_partition(cost, parts);
  if (cache.size() < kEntries)
    cache.push_back({cost, parts, starts});
  else
    cache[next++ % kEntries] = {cost, parts, starts};
  return starts;
}

}  // namespace

// Ranks are laid out TP fastest, then CP, then DP (EP groups inside DP), then PP.
GroupPlacement place_group(int size, int stride, int domain) {
  if (size <= 1) return {LinkClass::scaleup, 1};
  const int per_domain = std::max(1, std::min(size, domain / std::max(1, stride)));
  return {per_domain >= size ? LinkClass::scaleup : LinkClass::scaleout, per_domain};
}

namespace {

// What the steps of plan_training share: its inputs, the sizes per GPU and micro-batch, and what
// each pipeline stage holds (one entry per stage; after the DualPipe fold, per rank).
struct PlanContext {
  const ModelSpec& model;
  const Parallelism& par;
  const TrainingSettings& train;
  double h;       // hidden size
  double tokens;  // per GPU per micro-batch
  double tp;
  std::vector<double> stage_dense, stage_experts, stage_act;  // parameters; activation bytes
};

// The work items in pipeline order: each item's forward ops and FLOPs.
// Items in pipeline order, each one of a few kinds of op list (dense layer, MoE layer, head): the
// lists are built once per kind and shared, not copied per layer.
struct WorkItems {
  std::vector<std::vector<Op>> kind_ops;
  std::vector<int> kind;  // per item: its index in kind_ops
  std::vector<double> cost;
};

// The head's forward: final norm, output layer, loss, and the MTP modules.
std::vector<Op> head_forward_ops(const PlanContext& c) {
  const ModelSpec& model = c.model;
  const double h = c.h, tokens = c.tokens, tp = c.tp;
  std::vector<Op> head_ops;
  head_ops.push_back(memory_op("final_norm", 2 * kActivationBytes * tokens * (c.par.sp ? h / tp : h)));
  head_ops.push_back(gemm("lm_head", tokens, static_cast<double>(model.vocab) / tp, h, Precision::bf16));
  // Cross-entropy reads the bf16 logits, writes fp32 softmax and reads it back for the loss.
  head_ops.push_back(memory_op("cross_entropy", 10.0 * tokens * model.vocab / tp));
  for (int d = 0; d < model.mtp_depth; ++d) {
    add_gemm(head_ops, "mtp_proj", tokens, h, 2 * h, c.train.precision);
    auto block = layer_forward_ops(model, model.layers - 1, c.par, c.train, tokens);
    for (auto& o : block) o.name = "mtp_" + o.name;  // (its roles stay: the same work as any layer's)
    head_ops.insert(head_ops.end(), block.begin(), block.end());
    head_ops.push_back(gemm("mtp_lm_head", tokens, static_cast<double>(model.vocab) / tp, h, Precision::bf16));
    head_ops.push_back(memory_op("mtp_cross_entropy", 10.0 * tokens * model.vocab / tp));
  }
  return head_ops;
}

// Work items in pipeline order: embedding (0 cost), layers, head (+ MTP), so stages can balance them.
WorkItems pipeline_items(const PlanContext& c) {
  WorkItems items;
  // Layers differ only in being dense or MoE: build each kind's ops once (kinds 0 and 1; 2: head).
  items.kind_ops.resize(3);
  double kind_cost[2] = {0, 0};
  for (int l = 0; l < c.model.layers; ++l) {
    const int kind = c.model.is_moe_layer(l) ? 1 : 0;
    if (items.kind_ops[kind].empty()) {
      items.kind_ops[kind] = layer_forward_ops(c.model, l, c.par, c.train, c.tokens);
      kind_cost[kind] = sum_flops(items.kind_ops[kind]);
    }
    items.kind.push_back(kind);
    items.cost.push_back(kind_cost[kind]);
  }
  items.kind_ops[2] = head_forward_ops(c);
  items.kind.push_back(2);
  items.cost.push_back(sum_flops(items.kind_ops[2]));
  return items;
}

// The head (and its MTP modules) joins the stage: its weights and activations.
void add_head_to_stage(PlanContext& c, const ParamCounts& params, int stage, StageWork& sw) {
  const ModelSpec& model = c.model;
  const double h = c.h;
  sw.has_head = true;
  sw.layers_per_micro_batch += model.mtp_depth;
  sw.moe_layers_per_micro_batch += model.moe ? model.mtp_depth : 0;
  c.stage_dense[stage] += (model.tied_embeddings ? 0.0 : static_cast<double>(model.vocab) * h / c.tp) + h;
  if (model.mtp_depth > 0) {
    double d = 0, e = 0;
    layer_params(model, params, model.layers - 1, c.par, d, e);
    c.stage_dense[stage] += model.mtp_depth * (d + 2 * h * h);
    c.stage_experts[stage] += model.mtp_depth * e;
    c.stage_act[stage] +=
        model.mtp_depth * activation_bytes_per_token(model, model.layers - 1, c.par, c.train) * c.tokens;
  }
}

// Balances the items over the pipeline's chunks and gives each stage its chunks' ops, weights and
// activations.
void assign_chunks(PlanContext& c, const WorkItems& work, TrainingPlan& plan) {
  const Parallelism& par = c.par;
  const int chunks = par.pp * par.virtual_stages;
  auto starts = cached_balanced_partition(work.cost, chunks);
  const int items = static_cast<int>(work.cost.size());
  plan.stages.assign(par.pp, StageWork{});
  for (int ch = 0; ch < chunks; ++ch) {
    const int stage = ch % par.pp;  // interleaved: chunk c lives on GPU c mod pp
    const int begin = starts[ch], end = ch + 1 < chunks ? starts[ch + 1] : items;
    auto& sw = plan.stages[stage];
    std::size_t ops = sw.forward.size() + 1;  // (room for the embedding lookup)
    for (int i = begin; i < end; ++i) ops += work.kind_ops[work.kind[i]].size();
    sw.forward.reserve(ops);  // one allocation per chunk, not one per doubling
    // Consecutive items of one kind share one block of ops whose counts add up (every consumer of
    // an op list is linear in count: times, FLOPs, bytes), so a stage of 30 MoE layers holds one
    // MoE layer's ops at count 30, not 30 copies.
    int block_kind = -1;
    std::size_t block_start = 0;
    if (ch == 0) {
      sw.has_embedding = true;
      sw.forward.push_back(memory_op("embedding_lookup", 2 * kActivationBytes * c.tokens * c.h));
      c.stage_dense[stage] += static_cast<double>(c.model.vocab) * c.h / c.tp;
    }
    for (int i = begin; i < end; ++i) {
      const bool is_head = i == items - 1;
      if (is_head) {
        add_head_to_stage(c, plan.params, stage, sw);
      } else {
        if (sw.layers == 0) sw.first_layer = i;
        sw.layers += 1;
        sw.layers_per_micro_batch += 1;
        sw.moe_layers_per_micro_batch += c.model.is_moe_layer(i) ? 1 : 0;
        layer_params(c.model, plan.params, i, par, c.stage_dense[stage], c.stage_experts[stage]);
        c.stage_act[stage] += activation_bytes_per_token(c.model, i, par, c.train) * c.tokens;
      }
      const auto& item_ops = work.kind_ops[work.kind[i]];
      if (work.kind[i] == block_kind) {
        for (std::size_t k = 0; k < item_ops.size(); ++k) sw.forward[block_start + k].count += item_ops[k].count;
      } else {
        block_kind = work.kind[i];
        block_start = sw.forward.size();
        sw.forward.insert(sw.forward.end(), item_ops.begin(), item_ops.end());
      }
    }
  }
}

// Fold each rank's two stages together: weights of both, ops and activations at half weight.
void fold_dualpipe(PlanContext& c, TrainingPlan& plan) {
  const int pp = c.par.pp;
  // The stages as placed (their op lists moved out, not copied: the planner folds millions).
  struct Placed {
    bool has_embedding, has_head;
    double layers, moe_layers;
    std::vector<Op> forward;
  };
  std::vector<Placed> by_position;
  by_position.reserve(pp);
  for (auto& st : plan.stages)
    by_position.push_back({st.has_embedding, st.has_head, st.layers_per_micro_batch, st.moe_layers_per_micro_batch,
                           std::move(st.forward)});
  auto dense = c.stage_dense, experts = c.stage_experts, act = c.stage_act;
  for (int i = 0; i < pp; ++i) {
    const int j = pp - 1 - i;
    const auto &own = by_position[i], &mirror = by_position[j];
    auto& rank = plan.stages[i];
    rank.mirror_stage = j;
    rank.has_embedding = own.has_embedding || mirror.has_embedding;
    rank.has_head = own.has_head || mirror.has_head;
    rank.layers_per_micro_batch = 0.5 * (own.layers + mirror.layers);
    rank.moe_layers_per_micro_batch = 0.5 * (own.moe_layers + mirror.moe_layers);
    rank.forward.clear();
    rank.forward.reserve(own.forward.size() + mirror.forward.size());
    for (const auto* src : {&own.forward, &mirror.forward})
      for (const auto& op : *src) {
        rank.forward.push_back(op);
        rank.forward.back().count *= 0.5;
      }
    c.stage_dense[i] = dense[i] + dense[j];
    c.stage_experts[i] = experts[i] + experts[j];
    c.stage_act[i] = 0.5 * (act[i] + act[j]);
  }
}

// A stage's FLOPs over all its passes (forward, input and weight gradients, recomputation), from
// its forward ops and the backward_parts rule, whether or not its backward ops are built: the
// critical-stage choice and the hardware FLOPs are the same for PlanStages::all and ::critical.
// (Summed pass by pass in op order, the same number as summing the built lists.)
double stage_flops(const StageWork& s, const TrainingSettings& train) {
  double input = 0, weight = 0, recompute = 0;
  for (const auto& f : s.forward) {
    const auto parts = backward_parts(f);
    for (int i = 0; i < parts.n; ++i) (parts.part[i].weight_pass ? weight : input) += parts.part[i].flops * f.count;
    if (recomputed(f, train)) recompute += f.flops * f.count;
  }
  return sum_flops(s.forward) + input + weight + recompute;
}

void add_backward_ops(StageWork& sw, const TrainingSettings& train) {
  sw.backward_input.reserve(sw.forward.size());
  sw.backward_weight.reserve(sw.forward.size());
  for (const auto& f : sw.forward) {
    add_backward(f, sw.backward_input, sw.backward_weight);
    if (recomputed(f, train)) sw.recompute.push_back(f);
  }
}

// Backward and recomputation from the forward ops; the critical stage is the one with most work.
// With `all_stages` false only the critical stage gets its backward and recomputation ops (the
// step estimate reads no other; the des backend, which runs every stage, asks for all).
void add_backward_and_pick_critical_stage(const PlanContext& c, TrainingPlan& plan, bool all_stages) {
  const TrainingSettings& train = c.train;
  double worst = stage_flops(plan.stages[0], train);
  for (int s = 1; s < c.par.pp; ++s)
    if (const double cost = stage_flops(plan.stages[s], train); cost > worst) {
      worst = cost;
      plan.critical_stage = s;
    }
  if (all_stages)
    for (auto& sw : plan.stages) add_backward_ops(sw, train);
  else
    add_backward_ops(plan.stages[plan.critical_stage], train);
}

// FLOPs per token (whole model, not per GPU).
void count_flops_per_token(const PlanContext& c, TrainingPlan& plan) {
  const ModelSpec& model = c.model;
  const Parallelism& par = c.par;
  const double h = c.h;
  TrainingSettings noncausal = c.train, causal = c.train;
  noncausal.causal_mask = false;
  noncausal.attention_kernel = AttentionKernel::flash;
  causal.causal_mask = true;
  causal.attention_kernel = AttentionKernel::flash;
  Parallelism single;  // one GPU, no splits: per-token whole-model counts
  single.micro_batch_seqs = 1;
  auto forward_flops = [&](const TrainingSettings& ts) {
    const double tokens_seq = static_cast<double>(ts.seq_len);
    const int moe_layers = model.moe_layers(), dense_layers = model.layers - moe_layers;
    double f = 0;
    if (dense_layers > 0) f += dense_layers * sum_flops(layer_forward_ops(model, 0, single, ts, tokens_seq));
    const double moe_block = moe_layers > 0 || model.mtp_depth > 0
                                 ? sum_flops(layer_forward_ops(model, model.layers - 1, single, ts, tokens_seq))
                                 : 0;
    if (moe_layers > 0) f += moe_layers * moe_block;
    f += 2.0 * tokens_seq * model.vocab * h;
    // MTP modules: a block like the last layer, a 2h -> h projection and the shared output head.
    f += model.mtp_depth * (moe_block + 2.0 * tokens_seq * (2 * h * h + model.vocab * h));
    return f / tokens_seq;
  };
  plan.flops_per_token.model_noncausal = 3 * forward_flops(noncausal);
  plan.flops_per_token.model_causal = 3 * forward_flops(causal);
  // Hardware FLOPs: sum over stages of what each GPU executes, per token it processes.
  double hw = 0;
  for (const auto& s : plan.stages) hw += stage_flops(s, c.train);
  plan.flops_per_token.hardware = hw * c.tp * par.cp / (static_cast<double>(par.micro_batch_seqs) * c.train.seq_len);
}

// Tensor- and context-parallel communication of the critical stage.
void add_tp_cp_comms(const PlanContext& c, int domain, TrainingPlan& plan) {
  const Parallelism& par = c.par;
  const double h = c.h, tokens = c.tokens, tp = c.tp;
  const double layers_here = plan.stages[plan.critical_stage].layers_per_micro_batch;
  const double recompute_fwd = c.train.recompute == Recompute::full ? 1 : 0;
  if (par.tp > 1) {
    auto g = place_group(par.tp, 1, domain);
    const double bytes = kActivationBytes * tokens * h;
    if (par.sp) {
      plan.comms.push_back({"tp_all_gather", CommKind::tp, "all_gather", bytes, par.tp, g.link, g.ranks_per_domain, 0,
                            layers_here * (4 + 2 * recompute_fwd), 0});
      plan.comms.push_back({"tp_reduce_scatter", CommKind::tp, "reduce_scatter", bytes, par.tp, g.link,
                            g.ranks_per_domain, 0, layers_here * (4 + 2 * recompute_fwd), 0});
    } else {
      plan.comms.push_back({"tp_all_reduce", CommKind::tp, "all_reduce", bytes, par.tp, g.link, g.ranks_per_domain, 0,
                            layers_here * (4 + 2 * recompute_fwd), 0});
    }
  }
  if (par.cp > 1) {
    auto g = place_group(par.cp, par.tp, domain);
    const auto& a = c.model.attention;
    const double kv =
        kActivationBytes * tokens * par.cp * std::max(1.0, a.kv_heads / tp) * (a.qk_head_dim() + a.value_head_dim());
    plan.comms.push_back({"cp_kv_all_gather", CommKind::cp, "all_gather", kv, par.cp, g.link, g.ranks_per_domain, 0,
                          layers_here * (1 + recompute_fwd), 0});
    plan.comms.push_back({"cp_kv_grad_reduce_scatter", CommKind::cp, "reduce_scatter", kv, par.cp, g.link,
                          g.ranks_per_domain, 0, 1.0 * layers_here, 0});
  }
}

// Expert- and pipeline-parallel communication of the critical stage.
void add_ep_pp_comms(const PlanContext& c, int domain, TrainingPlan& plan) {
  const Parallelism& par = c.par;
  const double h = c.h, tokens = c.tokens, tp = c.tp;
  const double moe_layers_here = plan.stages[plan.critical_stage].moe_layers_per_micro_batch;
  const double recompute_fwd = c.train.recompute == Recompute::full ? 1 : 0;
  if (par.ep > 1 && moe_layers_here > 0) {
    const auto& e = *c.model.moe;
    // EP folds over the data-parallel ranks (stride tp*cp: one rank per TP/CP block). An EP group
    // larger than dp*cp also takes ep/(dp*cp) ranks of each TP/CP block, so its stride shrinks:
    // it stays inside the stage's own GPUs instead of spanning dp*cp x more domains than exist.
    const int folded = par.dp * par.cp;
    const int ep_stride = par.ep > folded ? std::max(1, par.tp * par.cp * folded / par.ep) : par.tp * par.cp;
    auto g = place_group(par.ep, ep_stride, domain);
    const double scaleout_fraction =
        dispatch_scaleout_fraction(par.ep, g.ranks_per_domain, e.top_k, e.max_nodes_per_token);
    const double T_moe = par.sp ? tokens / tp : tokens;
    // DeepSeek-V3 dispatches in FP8 and combines in BF16 (Sec 3.3); BF16 runs use BF16 for both.
    const double dispatch_elem = c.train.precision == Precision::fp8 ? 1 : 2;
    const double passes = 1 + recompute_fwd;
    plan.comms.push_back({"ep_dispatch", CommKind::ep, "all_to_all", dispatch_elem * T_moe * e.top_k * h, par.ep,
                          g.link, g.ranks_per_domain, scaleout_fraction, moe_layers_here * (passes + 1), 0});
    plan.comms.push_back({"ep_combine", CommKind::ep, "all_to_all", 2 * T_moe * e.top_k * h, par.ep, g.link,
                          g.ranks_per_domain, scaleout_fraction, moe_layers_here * (passes + 1), 0});
  }
  if (par.expert_tp_or_1() > 1 && moe_layers_here > 0) {
    // Expert tensor parallelism (Megatron-Core's all-to-all token dispatcher): after the dispatch
    // the expert_tp ranks of a TP group all-gather their routed tokens (bf16), and reduce-scatter
    // the experts' partial outputs before the combine; the backward runs the pair in reverse. They
    // are the dispatcher's traffic (kind ep): the TP GEMM overlap does not hide them, and an EP
    // overlap (DualPipe, Megatron's A2A overlap) hides them with the all-to-alls.
    const auto& e = *c.model.moe;
    const int etp = par.expert_tp_or_1();
    auto g = place_group(etp, 1, domain);
    const double T_moe = par.sp ? tokens / tp : tokens;
    const double gathered = kActivationBytes * etp * T_moe * e.top_k * h;
    const double per_mb = moe_layers_here * (2 + recompute_fwd);
    plan.comms.push_back(
        {"etp_all_gather", CommKind::ep, "all_gather", gathered, etp, g.link, g.ranks_per_domain, 0, per_mb, 0});
    plan.comms.push_back({"etp_reduce_scatter", CommKind::ep, "reduce_scatter", gathered, etp, g.link,
                          g.ranks_per_domain, 0, per_mb, 0});
  }
  if (par.pp > 1) {
    auto g = place_group(2, par.tp * par.cp * par.dp, domain);
    const double act = kActivationBytes * tokens * (par.sp ? h / tp : h);
    plan.comms.push_back(
        {"pp_send_recv", CommKind::pp, "p2p", act, 2, g.link, g.ranks_per_domain, 0, 2.0 * par.virtual_stages, 0});
  }
}

// Data-parallel communication of the critical stage's weights and gradients.
void add_dp_comms(const PlanContext& c, int domain, TrainingPlan& plan) {
  const Parallelism& par = c.par;
  const double layers_here = plan.stages[plan.critical_stage].layers_per_micro_batch;
  double dense = 0, experts = 0;
  for (int s = 0; s < par.pp; ++s)
    if (s == plan.critical_stage) {
      dense = c.stage_dense[s];
      experts = c.stage_experts[s];
    }
  // FSDP and DeepSpeed ZeRO-3 wrap each transformer block, plus the root (embedding, final norm,
  // head): a unit's weights are gathered just before its forward and freed after it, gathered
  // again for its backward (unless kept: zero3.reshard_after_forward), and its gradients are
  // reduce-scattered as its backward ends. Both frameworks do this in every micro-batch: keeping
  // unsharded gradients across micro-batches (FSDP's no_sync) would give up ZeRO-3's memory saving.
  const double zero3_units = layers_here + 1;
  auto add_dp = [&](const std::string& prefix, double params, int group, int stride) {
    if (group <= 1 || params <= 0) return;
    auto g = place_group(group, stride, domain);
    if (par.zero_stage == 3) {
      const double unit = params / zero3_units;
      Comm gather{prefix + "_param_all_gather_fwd",
                  CommKind::dp,
                  "all_gather",
                  kWeightBytes * unit,
                  group,
                  g.link,
                  g.ranks_per_domain,
                  0,
                  zero3_units,
                  0,
                  CommPass::forward};
      plan.comms.push_back(gather);
      if (c.train.zero3_reshard_after_forward) {
        gather.name = prefix + "_param_all_gather_bwd";
        gather.pass = CommPass::backward;
        plan.comms.push_back(gather);
      }
      plan.comms.push_back({prefix + "_grad_reduce_scatter", CommKind::dp, "reduce_scatter", kGradReduceBytes * unit,
                            group, g.link, g.ranks_per_domain, 0, zero3_units, 0, CommPass::backward});
      return;
    }
    if (par.zero_stage == 0) {
      plan.comms.push_back({prefix + "_grad_all_reduce", CommKind::dp, "all_reduce", kGradReduceBytes * params, group,
                            g.link, g.ranks_per_domain, 0, 0, 1});
    } else {
      plan.comms.push_back({prefix + "_grad_reduce_scatter", CommKind::dp, "reduce_scatter", kGradReduceBytes * params,
                            group, g.link, g.ranks_per_domain, 0, 0, 1});
      // ZeRO-1/2 gather the updated weights once after the optimizer.
      plan.comms.push_back({prefix + "_param_all_gather", CommKind::dp, "all_gather", kWeightBytes * params, group,
                            g.link, g.ranks_per_domain, 0, 0, 1});
    }
  };
  add_dp("dp", dense, par.dp * par.cp, par.tp);
  if (experts > 0) add_dp("dp_experts", experts, static_cast<int>(par.expert_dp()), par.tp * par.ep);
}

// Micro-batches whose activations are alive at once on stage s.
double micro_batches_in_flight(const Parallelism& par, int s, int micro_batches) {
  double in_flight = 1;
  switch (par.schedule) {
    case PipelineSchedule::one_f_one_b:
    case PipelineSchedule::zero_bubble:
      in_flight = par.pp - s;
      break;
    case PipelineSchedule::interleaved:  // Narayanan et al. SC21 Sec 2.2.2
      in_flight = par.pp * par.virtual_stages * (1 + (par.pp - 1.0) / (par.pp * par.virtual_stages));
      break;
    case PipelineSchedule::dualpipe:
      in_flight = par.pp + 1;
      break;  // DualPipe README: PP+1 activations
  }
  return std::min<double>(in_flight, static_cast<double>(micro_batches));
}

// Memory per GPU of stage s.
MemoryPerGpu stage_memory(const PlanContext& c, const TrainingPlan& plan, int s) {
  const Parallelism& par = c.par;
  MemoryPerGpu mem;
  const double dense = c.stage_dense[s], experts = c.stage_experts[s];
  const double dp_dense = static_cast<double>(par.dp) * par.cp;
  const double dp_experts = par.expert_dp();
  auto shard = [&](double params, double group, int from_stage) {
    return par.zero_stage >= from_stage ? params / group : params;
  };
  mem.weights = kWeightBytes * (shard(dense, dp_dense, 3) + shard(experts, dp_experts, 3));
  if (par.zero_stage == 3) {
    // Gathered copies: the unit computing and the one prefetched beside it (FSDP's default
    // limit of one all-gather in flight ahead), or every unit from its forward to its backward
    // when weights are not resharded after the forward.
    const double units = plan.stages[s].layers_per_micro_batch + 1;
    const double kept = c.train.zero3_reshard_after_forward ? std::min(2.0, units) : units;
    mem.weights += kWeightBytes * (dense + experts) * kept / units;
  }
  mem.gradients = kGradBytes * (shard(dense, dp_dense, 2) + shard(experts, dp_experts, 2));
  const double opt_bytes =
      c.train.precision == Precision::fp8 ? kOptimizerBytesBf16Moments : kOptimizerBytesFp32Moments;
  mem.optimizer = opt_bytes * (shard(dense, dp_dense, 1) + shard(experts, dp_experts, 1));
  const double in_flight = micro_batches_in_flight(par, s, plan.micro_batches);
  // stage_act sums all chunks a GPU holds; interleaving keeps one chunk's worth per micro-batch.
  mem.activations = c.stage_act[s] * in_flight / par.virtual_stages;
  // Communication buffers: NCCL's default channel buffers (~0.5 GB) plus, with EP, send and
  // receive buffers for one micro-batch of dispatched tokens.
  mem.comm_buffers = 0.5e9;
  if (par.ep > 1 && c.model.moe) mem.comm_buffers += 2 * kActivationBytes * c.tokens * c.model.moe->top_k * c.h;
  return mem;
}

// Memory per GPU (the stage that needs the most); InfeasibleError when it exceeds the GPU's HBM.
void size_memory(const PlanContext& c, const GpuSpec& gpu, const std::string& file, TrainingPlan& plan) {
  double worst = -1;
  for (int s = 0; s < c.par.pp; ++s) {
    const MemoryPerGpu mem = stage_memory(c, plan, s);
    plan.stages[s].params = c.stage_dense[s] + c.stage_experts[s];
    plan.stages[s].expert_params = c.stage_experts[s];
    plan.stages[s].activation_bytes_per_micro_batch = c.stage_act[s];
    if (mem.total() > worst) {
      worst = mem.total();
      plan.memory = mem;
      plan.memory_stage = s;
    }
  }
  const double capacity = gpu.hbm_capacity_bytes();
  if (plan.memory.total() > capacity)
    throw InfeasibleError(
        file, "$.parallelism",
        fmt::format("does not fit: stage {} needs {:.1f} GB per GPU (weights {:.1f}, gradients {:.1f}, "
                    "optimizer {:.1f}, activations {:.1f}, buffers {:.1f}) but {} has {:.0f} GB "
                    "(over by {:.1f} GB)",
                    plan.memory_stage, plan.memory.total() / 1e9, plan.memory.weights / 1e9,
                    plan.memory.gradients / 1e9, plan.memory.optimizer / 1e9, plan.memory.activations / 1e9,
                    plan.memory.comm_buffers / 1e9, gpu.name, capacity / 1e9, (plan.memory.total() - capacity) / 1e9));
}

// The dense FP8 GEMMs of every stage run with block scales. Grouped (expert) GEMMs are not marked:
// the profiles' grouped_gemm.fp8 entries are DeepGEMM's block-scaled kernels already.
void mark_block_scaled_gemms(TrainingPlan& plan) {
  for (auto& w : plan.stages)
    for (auto* list : {&w.forward, &w.backward_input, &w.backward_weight, &w.recompute})
      for (auto& o : *list)
        if (o.op_class == OpClass::gemm && o.precision == Precision::fp8) o.block_scaled = true;
}

}  // namespace

TrainingPlan plan_training(const ModelSpec& model, const Parallelism& stated, const TrainingSettings& train,
                           const ClusterSpec& cluster, const GpuSpec& gpu, const std::string& file, PlanStages stages) {
  check_layout(model, stated, train, cluster.gpus, cluster.gpus_per_node, file);
  const Parallelism par = with_resolved_expert_tp(stated, train);
  if (train.comm_sms > 0 && train.comm_sms >= gpu.sm_count.value)
    throw InfeasibleError(file, "$.training.comm_sms",
                          fmt::format("expected fewer than the {} SMs of a {} (catalogue sm_count; 0: unknown), got {}",
                                      gpu.sm_count.value, gpu.name, train.comm_sms));
  TrainingPlan plan;
  plan.model = model;
  plan.par = par;
  plan.train = train;
  plan.params = count_params(model);
  plan.micro_batches = train.micro_batches(par);
  plan.tokens_per_step = static_cast<double>(train.global_batch_seqs) * train.seq_len;

  PlanContext c{model,
                par,
                train,
                static_cast<double>(model.hidden),
                static_cast<double>(par.micro_batch_seqs) * train.seq_len / par.cp,  // per GPU per micro-batch
                static_cast<double>(par.tp),
                std::vector<double>(par.pp, 0),
                std::vector<double>(par.pp, 0),
                std::vector<double>(par.pp, 0)};
  assign_chunks(c, pipeline_items(c), plan);
  if (par.schedule == PipelineSchedule::dualpipe) fold_dualpipe(c, plan);
  add_backward_and_pick_critical_stage(c, plan, stages == PlanStages::all);
  count_flops_per_token(c, plan);

  // Communication of the critical stage.
  add_tp_cp_comms(c, cluster.scaleup_domain_gpus, plan);
  add_ep_pp_comms(c, cluster.scaleup_domain_gpus, plan);
  add_dp_comms(c, cluster.scaleup_domain_gpus, plan);

  size_memory(c, gpu, file, plan);
  if (train.precision == Precision::fp8 && train.fp8_scaling == Fp8Scaling::block) mark_block_scaled_gemms(plan);
  // After the FLOP counts (model and hardware FLOPs are the mean rank's) and the critical stage.
  if (model.moe && par.ep > 1 && train.moe_hottest_rank_load > 0)
    set_hottest_rank_load(plan, train.moe_hottest_rank_load);
  return plan;
}

void set_hottest_rank_load(TrainingPlan& plan, double load) {
  const double f = load / plan.hottest_rank_load;
  for (auto& w : plan.stages)
    for (auto* list : {&w.forward, &w.backward_input, &w.backward_weight, &w.recompute})
      for (auto& o : *list) {
        if (o.role != OpRole::routed_expert) continue;
        if (o.op_class == OpClass::grouped_gemm)
          o.flops *= f;
        else if (o.op_class == OpClass::memory_bound)
          o.bytes *= f;
      }
  plan.hottest_rank_load = load;
}

}  // namespace gwsim
