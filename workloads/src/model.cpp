#include "gwsim/workloads/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace fs = std::filesystem;

std::string to_string(AttentionKind k) {
  switch (k) {
    case AttentionKind::mha:
      return "mha";
    case AttentionKind::gqa:
      return "gqa";
    case AttentionKind::mla:
      return "mla";
  }
  return "?";
}

std::int64_t AttentionSpec::kv_cache_elems_per_token() const {
  if (kind == AttentionKind::mla) return static_cast<std::int64_t>(kv_lora_rank) + qk_rope_head_dim;
  return 2LL * kv_heads * head_dim;
}

ParamCounts count_params(const ModelSpec& m) {
  ParamCounts c;
  const double h = static_cast<double>(m.hidden);
  const auto& a = m.attention;
  c.embedding = static_cast<double>(m.vocab) * h * (m.tied_embeddings ? 1 : 2);
  if (a.kind == AttentionKind::mla) {
    const double qk = a.qk_head_dim();
    double q = a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank /*norm*/ + double(a.q_lora_rank) * a.heads * qk
                                 : h * a.heads * qk;
    double kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank /*norm*/ +
                double(a.kv_lora_rank) * a.heads * (a.qk_nope_head_dim + a.v_head_dim);
    double o = double(a.heads) * a.v_head_dim * h;
    c.attention_per_layer = q + kv + o;
  } else {
    c.attention_per_layer =
        h * a.heads * a.head_dim + 2 * h * a.kv_heads * a.head_dim + double(a.heads) * a.head_dim * h;
  }
  const double ffn_mats = m.activation == Activation::swiglu ? 3 : 2;
  c.dense_ffn_per_layer = ffn_mats * h * static_cast<double>(m.ffn_intermediate);
  c.norms_per_layer = 2 * h;
  double layers_total = 0, layers_active = 0;
  for (int l = 0; l < m.layers; ++l) {
    double common = c.attention_per_layer + c.norms_per_layer;
    if (m.is_moe_layer(l)) {
      layers_total += common + 0;
      layers_active += common;
    } else {
      layers_total += common + c.dense_ffn_per_layer;
      layers_active += common + c.dense_ffn_per_layer;
    }
  }
  if (m.moe) {
    const auto& e = *m.moe;
    const double expert = ffn_mats * h * e.expert_intermediate;
    c.moe_routed_per_layer = expert * e.routed_experts;
    c.moe_shared_per_layer = expert * e.shared_experts;
    c.moe_router_per_layer = h * e.routed_experts;
    const int n = m.moe_layers();
    layers_total += n * (c.moe_routed_per_layer + c.moe_shared_per_layer + c.moe_router_per_layer);
    layers_active += n * (expert * (e.top_k + e.shared_experts) + c.moe_router_per_layer);
  }
  c.total = c.embedding + layers_total + h /*final norm*/;
  c.active = c.embedding + layers_active + h;
  if (m.mtp_depth > 0) {
    // One MTP module (DeepSeek-V3 Sec 2.2): a full transformer block (an MoE block when the model is
    // MoE), a 2h -> h projection and two norms; embedding and output head are shared.
    double block =
        c.attention_per_layer + c.norms_per_layer +
        (m.moe ? c.moe_routed_per_layer + c.moe_shared_per_layer + c.moe_router_per_layer : c.dense_ffn_per_layer);
    c.mtp = m.mtp_depth * (block + 2 * h * h + 2 * h);
  }
  return c;
}

ModelSpec parse_model(const JsonObject& obj) {
  ModelSpec m;
  if (obj.has("schema")) obj.require_schema("gwsim.model/1");
  obj.allow({"schema", "notes", "description"});
  m.name = obj.string("name");
  m.source = obj.string_or("source", "");
  m.layers = obj.int_in("layers", 1, limits::kMaxLayers);
  m.hidden = obj.integer_in("hidden", 1, limits::kMaxHidden);
  m.vocab = obj.integer_in("vocab", 1, limits::kMaxVocab);
  m.seq_len = obj.integer_in("seq_len", 1, limits::kMaxSeqLen);
  m.ffn_intermediate = obj.integer_in("ffn_intermediate", 1, limits::kMaxFfnWidth);
  m.activation =
      obj.one_of_or("activation", {"swiglu", "gelu"}, "swiglu") == "gelu" ? Activation::gelu : Activation::swiglu;
  m.mtp_depth = obj.int_in_or("mtp_depth", 0, limits::kMaxMtpDepth, 0);
  m.tied_embeddings = obj.boolean_or("tied_embeddings", false);

  auto at = obj.object("attention");
  auto& a = m.attention;
  std::string kind = at.one_of("type", {"mha", "gqa", "mla"});
  a.heads = at.int_in("heads", 1, limits::kMaxHeads);
  if (kind == "mla") {
    a.kind = AttentionKind::mla;
    a.kv_heads = a.heads;
    a.q_lora_rank = at.int_in_or("q_lora_rank", 0, limits::kMaxHeadDim, 0);  // 0: no query compression
    a.kv_lora_rank = at.int_in("kv_lora_rank", 1, limits::kMaxHeadDim);
    a.qk_nope_head_dim = at.int_in("qk_nope_head_dim", 1, limits::kMaxHeadDim);
    a.qk_rope_head_dim = at.int_in("qk_rope_head_dim", 1, limits::kMaxHeadDim);
    a.v_head_dim = at.int_in("v_head_dim", 1, limits::kMaxHeadDim);
  } else {
    a.kind = kind == "mha" ? AttentionKind::mha : AttentionKind::gqa;
    a.head_dim = at.int_in_or("head_dim", 1, limits::kMaxHeadDim, static_cast<int>(m.hidden / a.heads));
    if (a.head_dim <= 0)
      at.fail("head_dim", fmt::format("expected a positive integer (hidden / heads is {})", m.hidden / a.heads));
    a.kv_heads = at.int_in_or("kv_heads", 1, limits::kMaxHeads, a.heads);
    if (a.heads % a.kv_heads != 0)
      at.fail("kv_heads", fmt::format("expected a divisor of heads ({}), got {}", a.heads, a.kv_heads));
  }
  at.reject_unknown_keys();

  if (obj.has("moe")) {
    auto mo = obj.object("moe");
    MoeSpec e;
    e.routed_experts = mo.int_in("routed_experts", 1, limits::kMaxExperts);
    e.shared_experts = mo.int_in_or("shared_experts", 0, limits::kMaxExperts, 0);
    e.top_k = mo.int_in("top_k", 1, e.routed_experts);
    e.expert_intermediate = mo.int_in("expert_intermediate", 1, limits::kMaxFfnWidth);
    e.first_dense_layers = mo.int_in_or("first_dense_layers", 0, m.layers, 0);
    e.max_nodes_per_token = mo.int_in_or("max_nodes_per_token", 0, limits::kMaxGpus, 0);  // 0: unlimited
    mo.reject_unknown_keys();
    m.moe = e;
  } else {
    obj.allow({"moe"});
  }
  obj.reject_unknown_keys();
  return m;
}

nlohmann::json model_to_json(const ModelSpec& m) {
  nlohmann::json j;
  j["schema"] = "gwsim.model/1";
  j["name"] = m.name;
  if (!m.source.empty()) j["source"] = m.source;
  j["layers"] = m.layers;
  j["hidden"] = m.hidden;
  j["vocab"] = m.vocab;
  j["seq_len"] = m.seq_len;
  j["ffn_intermediate"] = m.ffn_intermediate;
  j["activation"] = m.activation == Activation::gelu ? "gelu" : "swiglu";
  j["mtp_depth"] = m.mtp_depth;
  j["tied_embeddings"] = m.tied_embeddings;
  const auto& a = m.attention;
  nlohmann::json at;
  at["type"] = to_string(a.kind);
  at["heads"] = a.heads;
  if (a.kind == AttentionKind::mla) {
    at["q_lora_rank"] = a.q_lora_rank;
    at["kv_lora_rank"] = a.kv_lora_rank;
    at["qk_nope_head_dim"] = a.qk_nope_head_dim;
    at["qk_rope_head_dim"] = a.qk_rope_head_dim;
    at["v_head_dim"] = a.v_head_dim;
  } else {
    at["kv_heads"] = a.kv_heads;
    at["head_dim"] = a.head_dim;
  }
  j["attention"] = at;
  if (m.moe) {
    const auto& e = *m.moe;
    j["moe"] = {{"routed_experts", e.routed_experts},
                {"shared_experts", e.shared_experts},
                {"top_k", e.top_k},
                {"expert_intermediate", e.expert_intermediate},
                {"first_dense_layers", e.first_dense_layers},
                {"max_nodes_per_token", e.max_nodes_per_token}};
  }
  return j;
}

namespace {
std::string models_dir() { return (fs::path(data_dir()) / "workloads" / "models").string(); }
std::string normalise(std::string s) {
  std::string out;
  for (char ch : s)
    if (std::isalnum(static_cast<unsigned char>(ch)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
}  // namespace

std::vector<std::string> model_catalogue_names() {
  std::vector<std::string> names;
  if (!path_exists(models_dir())) return names;
  for (const auto& e : fs::directory_iterator(models_dir()))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

ModelSpec find_model(const std::string& name_or_path, const std::string& base_dir, const std::string& file,
                     const std::string& json_path) {
  std::string path;
  if (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".json") {
    path = resolve_path(name_or_path, base_dir);
    require_readable_file(path, file.empty() ? name_or_path : file, json_path.empty() ? "$" : json_path);
  } else {
    for (const auto& n : model_catalogue_names())
      if (normalise(n) == normalise(name_or_path)) path = (fs::path(models_dir()) / (n + ".json")).string();
    if (path.empty())
      throw InputError(file, json_path.empty() ? "$" : json_path,
                       fmt::format("unknown model \"{}\": expected one of {} or a .json file", name_or_path,
                                   fmt::join(model_catalogue_names(), ", ")));
  }
  auto j = parse_json_file(path);
  return parse_model(JsonObject(j, path, "$"));
}

namespace {

// The experts of a HuggingFace config, under each family's keys (transformers' configuration_*.py):
//   DeepSeek-V2/V3  n_routed_experts, n_shared_experts (each moe_intermediate_size wide),
//                   first_k_dense_replace, moe_layer_freq, topk_group (node-limited routing);
//   Mixtral         num_local_experts, each expert a full FFN of intermediate_size;
//   Qwen2-MoE/Qwen3-MoE  num_experts, moe_intermediate_size, one shared expert of
//                   shared_expert_intermediate_size, decoder_sparse_step, mlp_only_layers.
// All take num_experts_per_tok. norm_topk_prob only rescales the routing weights: no FLOPs, bytes
// or parameters. Qwen's shared_expert_gate (h weights per layer, < 0.01 % of the model) is left out.
std::optional<MoeSpec> import_hf_moe(const JsonObject& c, const ModelSpec& m) {
  std::string experts_key;
  for (const char* key : {"n_routed_experts", "num_local_experts", "num_experts"})
    if (experts_key.empty() && c.has(key) && !c.raw(key).is_null()) experts_key = key;
  if (experts_key.empty()) return std::nullopt;
  MoeSpec e;
  e.routed_experts = c.int_in(experts_key, 1, limits::kMaxExperts);
  e.top_k = c.int_in("num_experts_per_tok", 1, e.routed_experts);
  if (e.top_k > e.routed_experts)
    c.fail("num_experts_per_tok",
           fmt::format("expected at most {} ({}), got {}", e.routed_experts, experts_key, e.top_k));
  e.expert_intermediate = c.has("moe_intermediate_size") ? c.int_in("moe_intermediate_size", 1, limits::kMaxFfnWidth)
                                                         : static_cast<int>(m.ffn_intermediate);
  if (c.has("shared_expert_intermediate_size")) {
    // One shared SwiGLU FFN k experts wide has the weights and FLOPs of k shared experts side by
    // side (Qwen1.5-MoE-A2.7B: 5632 = 4 x 1408), which is how a gwsim model states it.
    const std::int64_t shared = c.integer("shared_expert_intermediate_size");
    if (shared < 0 || shared % e.expert_intermediate != 0 || shared / e.expert_intermediate > limits::kMaxExperts)
      c.fail("shared_expert_intermediate_size", fmt::format("expected 0 or a multiple (at most {}) of the expert width "
                                                            "{} (gwsim counts shared experts in experts), got {}",
                                                            limits::kMaxExperts, e.expert_intermediate, shared));
    e.shared_experts = static_cast<int>(shared / e.expert_intermediate);
  } else {
    e.shared_experts = c.int_in_or("n_shared_experts", 0, limits::kMaxExperts, 0);
    if (e.shared_experts < 0) c.fail("n_shared_experts", "expected 0 or more");
  }
  // A gwsim model has a dense FFN in its first layers and experts in all the others.
  e.first_dense_layers = c.int_in_or("first_k_dense_replace", 0, m.layers, 0);
  if (e.first_dense_layers < 0 || e.first_dense_layers > m.layers)
    c.fail("first_k_dense_replace", fmt::format("expected 0..{} (num_hidden_layers)", m.layers));
  for (const char* every_nth : {"moe_layer_freq", "decoder_sparse_step"})
    if (c.integer_or(every_nth, 1) != 1)
      c.fail(
          every_nth,
          "expected 1: experts in every layer after the first dense ones (gwsim models no interleaved dense layers)");
  if (c.has("mlp_only_layers")) {
    // Qwen's dense layers by index: only a leading run 0, 1, ..., k-1 fits the gwsim model.
    const std::vector<double> dense = c.number_array("mlp_only_layers");
    for (std::size_t i = 0; i < dense.size(); ++i)
      if (dense[i] != static_cast<double>(i))
        c.fail(
            "mlp_only_layers",
            fmt::format("expected the leading layers 0, 1, ..., {} in order (gwsim models no interleaved dense layers)",
                        dense.size() - 1));
    if (static_cast<std::int64_t>(dense.size()) > m.layers)
      c.fail("mlp_only_layers", fmt::format("expected at most num_hidden_layers ({}) layers", m.layers));
    e.first_dense_layers = std::max(e.first_dense_layers, static_cast<int>(dense.size()));
  }
  // DeepSeek's node-limited routing sends a token to experts in at most topk_group groups (= nodes);
  // plain top-k ("greedy", DeepSeek-V2-Lite) limits nothing.
  if (c.string_or("topk_method", "") != "greedy")
    e.max_nodes_per_token = c.int_in_or("topk_group", 0, limits::kMaxGpus, 0);
  return e;
}

}  // namespace

ModelSpec import_hf_config(const std::string& path, const std::string& name) {
  auto j = parse_json_file(path);
  JsonObject c(j, path, "$");
  ModelSpec m;
  m.name = name;
  m.source = "imported from HuggingFace config.json " + fs::path(path).filename().string();
  m.layers = c.int_in("num_hidden_layers", 1, limits::kMaxLayers);
  m.hidden = c.integer_in("hidden_size", 1, limits::kMaxHidden);
  m.vocab = c.integer_in("vocab_size", 1, limits::kMaxVocab);
  m.ffn_intermediate = c.integer_in("intermediate_size", 1, limits::kMaxFfnWidth);
  m.seq_len = c.integer_in_or("max_position_embeddings", 1, limits::kMaxSeqLen, 4096);
  m.tied_embeddings = c.boolean_or("tie_word_embeddings", false);
  std::string act = c.string_or("hidden_act", "silu");
  m.activation = (act == "silu" || act == "swiglu") ? Activation::swiglu : Activation::gelu;
  auto& a = m.attention;
  a.heads = c.int_in("num_attention_heads", 1, limits::kMaxHeads);
  if (c.has("kv_lora_rank")) {
    a.kind = AttentionKind::mla;
    a.kv_heads = a.heads;
    a.kv_lora_rank = c.int_in("kv_lora_rank", 1, limits::kMaxHeadDim);
    // DeepSeek-V2-Lite writes "q_lora_rank": null for "no query compression" (null reads as absent).
    a.q_lora_rank = c.int_in_or("q_lora_rank", 0, limits::kMaxHeadDim, 0);
    a.qk_nope_head_dim = c.int_in("qk_nope_head_dim", 1, limits::kMaxHeadDim);
    a.qk_rope_head_dim = c.int_in("qk_rope_head_dim", 1, limits::kMaxHeadDim);
    a.v_head_dim = c.int_in("v_head_dim", 1, limits::kMaxHeadDim);
  } else {
    a.kv_heads = c.int_in_or("num_key_value_heads", 1, a.heads, a.heads);
    a.kind = a.kv_heads == a.heads ? AttentionKind::mha : AttentionKind::gqa;
    a.head_dim = c.int_in_or("head_dim", 1, limits::kMaxHeadDim, static_cast<int>(m.hidden / a.heads));
  }
  m.moe = import_hf_moe(c, m);
  m.mtp_depth = c.int_in_or("num_nextn_predict_layers", 0, limits::kMaxMtpDepth, 0);
  // Every other key of a HuggingFace config (rope scaling, dropout, token ids ...) does not change
  // FLOPs, bytes or parameters; they are read by nobody and deliberately not rejected here.
  return m;
}

}  // namespace gwsim
