// Parameter and FLOP counts against the published figures (published_cases.json and the papers).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/training_plan.h"

using namespace gwsim;

TEST(ModelCatalogue, DeepSeekV3MatchesTheReport) {
  auto m = find_model("deepseek-v3", "");
  auto c = count_params(m);
  EXPECT_NEAR(c.total / 1e9, 671, 671 * 0.01);  // DeepSeek-V3 report: 671B total
  EXPECT_NEAR(c.active / 1e9, 37, 37 * 0.03);   // 37B activated per token
  // The HF checkpoint's 685B includes a 14B MTP module that stores its own copy of embedding and
  // head (2 x 129280 x 7168 = 1.85B); the report shares them, so 14 - 1.85 = ~12.2B.
  EXPECT_NEAR(c.mtp / 1e9, 14 - 1.85, 1.0);
  EXPECT_EQ(m.attention.kv_cache_elems_per_token(), 576);
}

TEST(ModelCatalogue, OtherModelsMatchTheirPapers) {
  struct Case {
    const char* name;
    double total_b, active_b, tol;
  };
  for (auto c : {Case{"deepseek-v2", 236, 21, 0.03}, Case{"llama3-405b", 405, 405, 0.01},
                 Case{"llama3-70b", 70, 70, 0.02}, Case{"llama3-8b", 8, 8, 0.02}, Case{"gpt3-175b", 175, 175, 0.01},
                 Case{"megatron-sc21-1008b", 1008, 1008, 0.01}, Case{"megatron-sc21-145p6b", 145.6, 145.6, 0.01}}) {
    auto p = count_params(find_model(c.name, ""));
    EXPECT_NEAR(p.total / 1e9, c.total_b, c.total_b * c.tol) << c.name;
    EXPECT_NEAR(p.active / 1e9, c.active_b, c.active_b * c.tol) << c.name;
  }
}

TEST(ModelCatalogue, UnknownModelListsTheCatalogue) {
  try {
    find_model("deepseek-v4", "", "s.json", "$.model");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("s.json: $.model: unknown model \"deepseek-v4\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("deepseek-v3"), std::string::npos) << msg;
  }
}

TEST(HuggingFaceImport, DeepSeekV3ConfigGivesTheCatalogueModel) {
  auto imported = import_hf_config(std::string(GWSIM_TEST_DATA_DIR) + "/deepseek-v3-config.json", "DeepSeek-V3");
  auto shipped = find_model("deepseek-v3", "");
  auto a = count_params(imported), b = count_params(shipped);
  EXPECT_DOUBLE_EQ(a.total, b.total);
  EXPECT_DOUBLE_EQ(a.active, b.active);
  EXPECT_DOUBLE_EQ(a.mtp, b.mtp);
  ASSERT_TRUE(imported.moe.has_value());
  EXPECT_EQ(imported.moe->max_nodes_per_token, 4);
  EXPECT_EQ(imported.attention.kind, AttentionKind::mla);
}

TEST(HuggingFaceImport, Llama3Config) {
  auto m = import_hf_config(std::string(GWSIM_TEST_DATA_DIR) + "/llama3-8b-config.json", "Llama 3 8B");
  EXPECT_EQ(m.attention.kind, AttentionKind::gqa);
  EXPECT_EQ(m.attention.kv_heads, 8);
  EXPECT_EQ(m.attention.head_dim, 128);
  EXPECT_NEAR(count_params(m).total / 1e9, 8.03, 0.01);
}

namespace {
ModelSpec import_test_config(const std::string& file) {
  return import_hf_config(std::string(GWSIM_TEST_DATA_DIR) + "/" + file, file);
}
}  // namespace

// Published totals are rounded to 0.1B: the counts must round to them (half a unit either way).
TEST(HuggingFaceImport, MixtralExpertsAreFullWidthFfns) {
  const ModelSpec m = import_test_config("mixtral-8x7b-v0.1-config.json");
  ASSERT_TRUE(m.moe.has_value()) << "num_local_experts ignored: imported as a dense model";
  EXPECT_EQ(m.moe->routed_experts, 8);
  EXPECT_EQ(m.moe->top_k, 2);
  EXPECT_EQ(m.moe->shared_experts, 0);
  EXPECT_EQ(m.moe->expert_intermediate, 14336);  // each expert is a whole FFN of intermediate_size
  EXPECT_EQ(m.moe->first_dense_layers, 0);
  EXPECT_EQ(m.attention.kind, AttentionKind::gqa);
  EXPECT_EQ(m.attention.kv_heads, 8);
  const ParamCounts c = count_params(m);
  EXPECT_NEAR(c.total / 1e9, 46.7, 0.05);   // Mixtral of Experts (arXiv 2401.04088): 46.7B total
  EXPECT_NEAR(c.active / 1e9, 12.9, 0.05);  // 12.9B per token
}

TEST(HuggingFaceImport, QwenMoeSharedExpertIsCountedInExperts) {
  const ModelSpec m = import_test_config("qwen1.5-moe-a2.7b-chat-config.json");
  ASSERT_TRUE(m.moe.has_value()) << "num_experts ignored: imported as a dense model";
  EXPECT_EQ(m.moe->routed_experts, 60);
  EXPECT_EQ(m.moe->top_k, 4);
  EXPECT_EQ(m.moe->expert_intermediate, 1408);
  EXPECT_EQ(m.moe->shared_experts, 4);  // one shared FFN of 5632 = 4 x 1408
  EXPECT_EQ(m.moe->first_dense_layers, 0);
  EXPECT_EQ(m.attention.kind, AttentionKind::mha);
  const ParamCounts c = count_params(m);
  EXPECT_NEAR(c.total / 1e9, 14.3, 0.05);  // model card: 14.3B total
  EXPECT_NEAR(c.active / 1e9, 2.7, 0.05);  // 2.7B activated
}

TEST(HuggingFaceImport, DeepSeekV2LiteHasNoQueryCompressionAndPlainTopK) {
  const ModelSpec m = import_test_config("deepseek-v2-lite-config.json");
  EXPECT_EQ(m.attention.kind, AttentionKind::mla);
  EXPECT_EQ(m.attention.q_lora_rank, 0);  // "q_lora_rank": null
  ASSERT_TRUE(m.moe.has_value());
  EXPECT_EQ(m.moe->routed_experts, 64);
  EXPECT_EQ(m.moe->shared_experts, 2);
  EXPECT_EQ(m.moe->top_k, 6);
  EXPECT_EQ(m.moe->first_dense_layers, 1);
  EXPECT_EQ(m.moe->max_nodes_per_token, 0);              // topk_method "greedy": topk_group limits nothing
  EXPECT_NEAR(count_params(m).total / 1e9, 15.7, 0.05);  // model card: 15.7B total
}

TEST(HuggingFaceImport, Llama32TiesItsEmbeddings) {
  const ModelSpec m = import_test_config("llama-3.2-1b-config.json");
  EXPECT_FALSE(m.moe.has_value());
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_EQ(m.attention.kind, AttentionKind::gqa);
  EXPECT_EQ(m.attention.kv_heads, 8);
  EXPECT_EQ(m.attention.head_dim, 64);
  EXPECT_EQ(m.ffn_intermediate, 8192);
  const ParamCounts c = count_params(m);
  EXPECT_DOUBLE_EQ(c.embedding, 128256.0 * 2048);  // one matrix for the embedding and the head
  // 16 layers of q, o (2048 x 2048), k, v (2048 x 512), a 3 x 2048 x 8192 SwiGLU FFN and two
  // norms, the shared embedding and the final norm: the checkpoint's 1,235,814,400 weights, which
  // Meta's model card gives as 1.23B.
  EXPECT_DOUBLE_EQ(c.total,
                   16 * (2 * 2048.0 * 2048 + 2 * 2048.0 * 512 + 3 * 2048.0 * 8192 + 2 * 2048) + 128256.0 * 2048 + 2048);
  EXPECT_NEAR(c.total / 1e9, 1.23, 0.01);
}

TEST(HuggingFaceImport, MultiQueryAttentionKeepsOneKvHead) {
  auto config = parse_json_file(std::string(GWSIM_TEST_DATA_DIR) + "/llama-3.2-1b-config.json");
  config["num_key_value_heads"] = 1;
  const std::string path = ::testing::TempDir() + "/mqa-config.json";
  std::ofstream(path) << config.dump();
  const ModelSpec m = import_hf_config(path, "MQA");
  EXPECT_EQ(m.attention.kind, AttentionKind::gqa);
  EXPECT_EQ(m.attention.kv_heads, 1);
  EXPECT_EQ(m.attention.kv_cache_elems_per_token(), 2 * 64);  // one K and one V head
  // q and o: h x h each; k and v: h x 64 each.
  EXPECT_DOUBLE_EQ(count_params(m).attention_per_layer, 2.0 * 2048 * 2048 + 2.0 * 2048 * 64);
}

TEST(HuggingFaceImport, InterleavedDenseLayersAreRefusedWithTheirKey) {
  auto config = parse_json_file(std::string(GWSIM_TEST_DATA_DIR) + "/qwen1.5-moe-a2.7b-chat-config.json");
  const std::string path = ::testing::TempDir() + "/qwen-sparse-step.json";
  config["decoder_sparse_step"] = 2;
  std::ofstream(path) << config.dump();
  try {
    import_hf_config(path, "q");
    FAIL() << "expected an error for decoder_sparse_step 2";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("$.decoder_sparse_step: expected 1"), std::string::npos) << e.what();
  }
  // Leading dense layers by index are a first_dense_layers.
  config["decoder_sparse_step"] = 1;
  config["mlp_only_layers"] = {0, 1};
  std::ofstream(path) << config.dump();
  EXPECT_EQ(import_hf_config(path, "q").moe->first_dense_layers, 2);
  config["mlp_only_layers"] = {0, 5};
  std::ofstream(path) << config.dump();
  EXPECT_THROW(import_hf_config(path, "q"), InputError);
}

TEST(Flops, TrainingFlopsPerTokenMatchIscaTable2) {
  // ISCA'25 Table 2: 250 GFLOPs/token for DeepSeek-V3 and 155 for V2 at sequence 4096.
  for (auto [name, published] : {std::pair{"deepseek-v3", 250.0}, std::pair{"deepseek-v2", 155.0}}) {
    auto m = find_model(name, "");
    TrainingSettings t;
    t.seq_len = 4096;
    t.causal_mask = true;
    Parallelism one;
    double f = 2.0 * 4096 * m.vocab * m.hidden;
    for (int l = 0; l < m.layers; ++l)
      for (const auto& op : layer_forward_ops(m, l, one, t, 4096)) f += op.flops * op.count;
    EXPECT_NEAR(3 * f / 4096 / 1e9, published, published * 0.02) << name;
  }
}

namespace {
std::string model_error(const std::function<void(nlohmann::json&)>& change) {
  auto j = parse_json_file(data_dir() + "/workloads/models/deepseek-v3.json");
  change(j);
  try {
    parse_model(JsonObject(j, "m.json", "$"));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ModelCatalogue, SizesThatWrapOrRunAwayAreRefused) {
  // Issue 12: heads 4294967296 became 0 and divided by zero; kv_lora_rank 2^31 - 1 overflowed an
  // int; layers 1e9 took 24 GB; mtp_depth 1e9 hung.
  EXPECT_EQ(model_error([](auto& j) { j["attention"]["heads"] = 4294967296LL; }),
            "m.json: $.attention.heads: expected an integer from 1 to 65536, got 4294967296");
  EXPECT_EQ(model_error([](auto& j) { j["attention"]["kv_lora_rank"] = 2147483647; }),
            "m.json: $.attention.kv_lora_rank: expected an integer from 1 to 65536, got 2147483647");
  EXPECT_EQ(model_error([](auto& j) { j["layers"] = 1000000000; }),
            "m.json: $.layers: expected an integer from 1 to 10000, got 1000000000");
  EXPECT_EQ(model_error([](auto& j) { j["mtp_depth"] = 1e9; }),
            "m.json: $.mtp_depth: expected an integer from 0 to 16, got 1000000000");
  EXPECT_EQ(model_error([](auto& j) { j["moe"]["top_k"] = 257; }),
            "m.json: $.moe.top_k: expected an integer from 1 to 256, got 257");
  EXPECT_EQ(model_error([](auto&) {}), "");
}

TEST(HuggingFaceImport, LayerCountsBeyondTheLimitAreRefusedNotWrapped) {
  // num_hidden_layers 2^32 + 32 imported as 32 layers.
  auto j = parse_json_file(std::string(GWSIM_TEST_DATA_DIR) + "/llama3-8b-config.json");
  j["num_hidden_layers"] = 4294967328LL;
  const std::string path = ::testing::TempDir() + "/gwsim-wrapped-config.json";
  {
    std::ofstream f(path);
    f << j.dump();
  }
  try {
    import_hf_config(path, "wrapped");
    FAIL() << "2^32 + 32 layers were accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": $.num_hidden_layers: expected an integer from 1 to 10000, got 4294967328");
  }
  std::remove(path.c_str());
}
