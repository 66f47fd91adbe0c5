#pragma once
// Transformer model description (workloads/models/*.json, schema "gwsim.model/1") and the parameter
// counts derived from it.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gwsim {

class JsonObject;

enum class AttentionKind { mha, gqa, mla };
std::string to_string(AttentionKind k);

struct AttentionSpec {
  AttentionKind kind = AttentionKind::mha;
  int heads = 0;
  int kv_heads = 0;  // MHA: = heads; GQA: fewer; MLA: = heads (after up-projection)
  int head_dim = 0;  // MHA/GQA
  // MLA (DeepSeek-V2/V3): low-rank query and key/value compression.
  int q_lora_rank = 0;  // 0: no query compression (V2-Lite)
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;

  int qk_head_dim() const { return kind == AttentionKind::mla ? qk_nope_head_dim + qk_rope_head_dim : head_dim; }
  int value_head_dim() const { return kind == AttentionKind::mla ? v_head_dim : head_dim; }
  // KV-cache elements per token and layer (MLA: latent + rope key; others: K and V of kv heads).
  std::int64_t kv_cache_elems_per_token() const;
};

struct MoeSpec {
  int routed_experts = 0;
  int shared_experts = 0;
  int top_k = 0;
  int expert_intermediate = 0;
  int first_dense_layers = 0;   // leading layers with a dense FFN instead of MoE
  int max_nodes_per_token = 0;  // node-limited routing (0: unlimited)
};

enum class Activation { swiglu, gelu };

struct ModelSpec {
  std::string name;
  std::string source;
  int layers = 0;
  std::int64_t hidden = 0;
  std::int64_t vocab = 0;
  std::int64_t seq_len = 0;           // default training sequence length
  std::int64_t ffn_intermediate = 0;  // dense FFN width (dense layers of an MoE model too)
  Activation activation = Activation::swiglu;
  AttentionSpec attention;
  std::optional<MoeSpec> moe;
  int mtp_depth = 0;  // multi-token-prediction modules (DeepSeek-V3: 1)
  bool tied_embeddings = false;

  bool is_moe_layer(int layer) const { return moe && layer >= moe->first_dense_layers; }
  int moe_layers() const { return moe ? layers - moe->first_dense_layers : 0; }
};

// Parameter counts (weights only, no optimizer state).
struct ParamCounts {
  double embedding = 0;  // input embedding (+ output head when untied)
  double attention_per_layer = 0;
  double dense_ffn_per_layer = 0;
  double moe_routed_per_layer = 0;  // all routed experts of one MoE layer
  double moe_shared_per_layer = 0;
  double moe_router_per_layer = 0;
  double norms_per_layer = 0;
  double mtp = 0;     // MTP modules (excluded from total, as DeepSeek reports)
  double total = 0;   // main model (embedding + layers + final norm)
  double active = 0;  // touched per token (top_k routed experts)
};
ParamCounts count_params(const ModelSpec& m);

// Loading: a catalogue name (workloads/models/<name>.json, case-insensitive), a file path, or an
// inline object.
ModelSpec parse_model(const JsonObject& obj);
ModelSpec find_model(const std::string& name_or_path, const std::string& base_dir, const std::string& file = "",
                     const std::string& json_path = "");
std::vector<std::string> model_catalogue_names();
nlohmann::json model_to_json(const ModelSpec& m);

// HuggingFace config.json (Llama-style keys; the MoE keys of DeepSeek-V2/V3, Mixtral, Qwen2/Qwen3-MoE) -> ModelSpec.
ModelSpec import_hf_config(const std::string& path, const std::string& name);

}  // namespace gwsim
