// Decode serving (sim/serving.h): the memory accounting by hand, the batch search, MTP, strict input.
#include <gtest/gtest.h>

#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/campus.h"
#include "gwsim/sim/planning/serving.h"

using namespace gwsim;

namespace {

nlohmann::json day6() { return parse_json_file(data_dir() + "/scenarios/serving/deepseek-v3-serving-h800.json"); }

ServingScenario parse(const nlohmann::json& doc) {
  return parse_serving_scenario(doc, data_dir() + "/scenarios/serving/test.json");
}

std::string error_of(const nlohmann::json& doc) {
  try {
    run_serving(parse(doc));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Serving, KvCacheIsTheLatentOfEveryLayer) {
  auto doc = day6();
  const ServingScenario bf16 = parse(doc);
  // MLA: 512 latent + 64 rope elements per token and layer, 61 layers and the MTP module's, 2 bytes.
  EXPECT_DOUBLE_EQ(decode_kv_bytes_per_sequence(bf16), 4989.0 * 62 * 576 * 2);
  doc["decode"]["kv_cache"] = "fp8";
  EXPECT_DOUBLE_EQ(decode_kv_bytes_per_sequence(parse(doc)), 4989.0 * 62 * 576 * (1 + 4.0 / 64));
  doc["decode"].erase("mtp");
  EXPECT_DOUBLE_EQ(decode_kv_bytes_per_sequence(parse(doc)), 4989.0 * 61 * 576 * (1 + 4.0 / 64));
  // GQA split over the TP group by kv head: Llama 3 70B, 8 kv heads of 128, 80 layers, TP 8. Each
  // GPU keeps 1/8 of the K and V of the 8 sequences its group serves per unit of batch_per_gpu.
  nlohmann::json llama = {{"schema", "gwsim.serving/1"},
                          {"name", "llama"},
                          {"model", "llama3-70b"},
                          {"cluster", "generic-h100-1024"},
                          {"decode", {{"gpus", 8}, {"attention_tp", 8}, {"kv_len", 1000}, {"batch_per_gpu", 4}}}};
  EXPECT_DOUBLE_EQ(decode_kv_bytes_per_sequence(parse(llama)), 8 * 1000.0 * 80 * (2 * 8 * 128) * 2 / 8);
  // MLA under attention TP keeps the whole latent on every GPU: 4 times the cache at TP 4.
  auto tp4 = day6();
  tp4["decode"]["attention_tp"] = 4;
  EXPECT_DOUBLE_EQ(decode_kv_bytes_per_sequence(parse(tp4)), 4 * 4989.0 * 62 * 576 * 2);
}

TEST(Serving, ExpertWeightsFollowTheExpertsPerGpu) {
  // 256 routed + 32 redundant experts over 144 GPUs: 2 per GPU; over 72 GPUs: 4. The difference is
  // two experts (3 x 7168 x 2048 FP8 weights each) in each of the 58 MoE layers.
  auto doc = day6();
  const ServingScenario s144 = parse(doc);
  const double at144 = weight_bytes_per_gpu(s144, s144.decode.layout);
  doc["decode"]["gpus"] = 72;
  doc["decode"]["ep"] = 72;
  const ServingScenario s72 = parse(doc);
  const double at72 = weight_bytes_per_gpu(s72, s72.decode.layout);
  EXPECT_NEAR(at72 - at144, 2.0 * 58 * 3 * 7168 * 2048, 1.0);
}

TEST(Serving, AnMtpModuleIsOneMoreMoeBlockAndItsProjection) {
  const ServingScenario s = parse(day6());
  const double plain = weight_bytes_per_gpu(s, s.decode.layout), with_mtp = weight_bytes_per_gpu(s, s.decode.layout, 1);
  const double h = 7168;
  // One MoE layer per GPU (FP8, EP144: its attention, shared expert, bf16 router and 2 experts) plus
  // the 2h x h projection: between 0.4 and 0.5 GB for DeepSeek-V3.
  EXPECT_GT(with_mtp - plain, 2 * h * h);
  EXPECT_NEAR(with_mtp - plain, (plain - 2 * 129280.0 * h) / 61 + 2 * h * h, 0.1e9);
}

TEST(Serving, LargestBatchMeetsTheSloAndFitsMemory) {
  const ServingScenario s = parse(day6());
  const auto r = run_serving(s);
  const double batch = r["decode"]["batch_per_gpu"].get<double>();
  const double max_mem = r["decode"]["max_batch_per_gpu_by_memory"].get<double>();
  ASSERT_GE(batch, 1);
  EXPECT_LE(batch, max_mem);
  EXPECT_LE(decode_step(s, batch).tpot_s, s.decode.tpot_slo_s);
  if (batch < max_mem) {
    EXPECT_GT(decode_step(s, batch + 1).tpot_s, s.decode.tpot_slo_s);
  }
  // Memory: the batch's KV cache and the weights fit the usable share of HBM, one more does not.
  const double usable = s.gpu.hbm_capacity_gb.value * 1e9 * s.decode.memory_utilization;
  const double per_seq = decode_kv_bytes_per_sequence(s),
               weights = weight_bytes_per_gpu(s, s.decode.layout, s.decode.mtp_depth);
  EXPECT_LE(weights + max_mem * per_seq, usable);
  EXPECT_GT(weights + (max_mem + 1) * per_seq, usable);
  // Throughput is what the batch makes of the step.
  const DecodeStep st = decode_step(s, batch);
  EXPECT_DOUBLE_EQ(r["decode"]["output_tokens_per_s_per_gpu"].get<double>(),
                   batch * st.tokens_per_step_per_sequence / st.step_s);
}

TEST(Serving, MtpKeepsTheAcceptedDrafts) {
  auto doc = day6();
  const DecodeStep with = decode_step(parse(doc), 32);
  EXPECT_DOUBLE_EQ(with.tokens_per_step_per_sequence, 1.85);  // one draft at 85 %
  doc["decode"].erase("mtp");
  const DecodeStep without = decode_step(parse(doc), 32);
  EXPECT_DOUBLE_EQ(without.tokens_per_step_per_sequence, 1.0);
  // Verifying the draft doubles the query tokens: each step costs more, each token less.
  EXPECT_GT(with.step_s, without.step_s);
  EXPECT_LT(with.tpot_s, without.tpot_s);
}

TEST(Serving, OverlapHidesTheAllToAllBehindCompute) {
  auto doc = day6();
  const DecodeStep hidden = decode_step(parse(doc), 64);
  doc["decode"]["overlap"] = false;
  const DecodeStep exposed = decode_step(parse(doc), 64);
  ASSERT_GT(hidden.comm_s, 0);
  EXPECT_DOUBLE_EQ(hidden.step_s, std::max(hidden.compute_s, hidden.comm_s));
  EXPECT_DOUBLE_EQ(exposed.step_s, exposed.compute_s + exposed.comm_s);
}

TEST(Serving, BadInputNamesThePath) {
  auto doc = day6();
  doc["decode"]["batch_per_gpu"] = 100000;
  EXPECT_NE(error_of(doc).find("$.decode.batch_per_gpu"), std::string::npos) << error_of(doc);
  doc = day6();
  doc["decode"]["ep"] = 100;
  EXPECT_NE(error_of(doc).find("$.decode.ep: expected a divisor of the 256 routed + 32 redundant"), std::string::npos)
      << error_of(doc);
  doc = day6();
  doc["decode"]["kv_lenn"] = 5;
  EXPECT_NE(error_of(doc).find("$.decode.kv_lenn: unknown key"), std::string::npos) << error_of(doc);
  doc = day6();
  doc["decode"]["batch_per_gpu"] = "most";
  EXPECT_NE(error_of(doc).find("$.decode.batch_per_gpu: expected a number of sequences or \"max\""), std::string::npos)
      << error_of(doc);
  doc = day6();
  doc["model"] = "llama3-70b";  // no MTP modules (and no experts: the mtp block is read first)
  doc["decode"].erase("ep");
  doc["decode"].erase("redundant_experts");
  EXPECT_NE(error_of(doc).find("$.decode.mtp: model Llama 3 70B has no MTP modules"), std::string::npos)
      << error_of(doc);
  doc = day6();
  doc["decode"]["tpot_slo_ms"] = 0.5;
  EXPECT_NE(error_of(doc).find("$.decode.tpot_slo_ms"), std::string::npos) << error_of(doc);
  doc = day6();
  doc["decode"]["gpus"] = 20;  // ep defaults to the instance: 288 experts do not split over 20 GPUs
  doc["decode"].erase("ep");
  EXPECT_NE(error_of(doc).find("$.decode.ep: expected a divisor"), std::string::npos) << error_of(doc);
  doc = day6();
  doc["decode"]["gpus"] = 8;  // 32 experts per GPU: 82 GB of FP8 weights on an 80 GB H800
  doc["decode"]["ep"] = 8;
  doc["decode"]["redundant_experts"] = 0;
  EXPECT_NE(error_of(doc).find("$.decode.gpus: the weights take"), std::string::npos) << error_of(doc);
}

namespace {
// Every number of a report (recursively), so that one NaN or infinity anywhere fails.
void expect_all_finite(const nlohmann::json& j, const std::string& path) {
  if (j.is_number()) {
    EXPECT_TRUE(std::isfinite(j.get<double>())) << path << " = " << j.dump();
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) expect_all_finite(v, path + "." + k);
  }
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) expect_all_finite(j[i], path + "[" + std::to_string(i) + "]");
  }
}
}  // namespace

TEST(Serving, DenseModelGivesFiniteFigures) {
  // Llama 3 70B has no experts: its weights were priced with an expert count read from an empty
  // std::optional, and every figure came out NaN (issue 12).
  const ServingScenario s =
      parse_serving_scenario(parse_json_file(data_dir() + "/scenarios/serving/llama3-70b-serving-h100.json"),
                             data_dir() + "/scenarios/serving/llama3-70b-serving-h100.json");
  ASSERT_FALSE(s.model.moe.has_value());
  // bf16 weights split over TP8; only the norms (2 per layer and the final one) stay whole on
  // every GPU, which bounds the difference from an even split.
  const double weights = weight_bytes_per_gpu(s, s.decode.layout);
  const ParamCounts p = count_params(s.model);
  const double norm_bytes = 2.0 * (2 * 80 + 1) * 8192;
  EXPECT_NEAR(weights, 2 * p.total / 8, norm_bytes);
  const auto r = run_serving(s);
  expect_all_finite(r["decode"], "$.decode");
  expect_all_finite(r["prefill"], "$.prefill");
  expect_all_finite(r["cost"], "$.cost");
  expect_all_finite(r["target"], "$.target");
  EXPECT_GE(r["decode"]["batch_per_gpu"].get<double>(), 1);
  EXPECT_GT(r["decode"]["output_tokens_per_s_per_gpu"].get<double>(), 0);
  EXPECT_GT(r["target"]["facility_mw"].get<double>(), 0);
}

TEST(Serving, SameInputSameReport) { EXPECT_EQ(run_serving(parse(day6())).dump(), run_serving(parse(day6())).dump()); }

TEST(Serving, PrefillSizesTheCacheMisses) {
  const ServingScenario s = parse(day6());
  ASSERT_TRUE(s.prefill.has_value());
  const PrefillStep p = prefill_step(s);
  EXPECT_DOUBLE_EQ(p.input_tokens_per_s_per_gpu, s.prefill->tokens_per_gpu / p.step_s);
  // Prompts run the training forward: attention over the prompt, experts, no KV cache reads.
  const auto r = run_serving(s);
  const double per_instance = p.input_tokens_per_s_per_gpu * s.prefill->layout.gpus;
  EXPECT_DOUBLE_EQ(r["target"]["prefill_instances"].get<double>(),
                   std::ceil(s.target_input_tokens_per_s * (1 - s.cache_hit_rate) / per_instance));
  EXPECT_DOUBLE_EQ(r["target"]["gpus"].get<double>(),
                   r["target"]["prefill_gpus"].get<double>() + r["target"]["decode_gpus"].get<double>());
  // The fleet's power and capital: the training report's footprint model for that many GPUs.
  const PowerAssumptions power = default_power_assumptions(s.gpu);
  const auto fleet = cluster_footprint(static_cast<std::int64_t>(r["target"]["gpus"].get<double>()), s.gpu, s.cluster,
                                       power, power.gpu_power_fraction_of_tdp, default_cost_assumptions(s.gpu));
  EXPECT_DOUBLE_EQ(r["target"]["facility_mw"].get<double>(), fleet.facility_mw);
  EXPECT_GT(r["target"]["facility_mw"].get<double>(), r["target"]["it_mw"].get<double>());
  // An input target needs a prefill block.
  auto doc = day6();
  doc.erase("prefill");
  EXPECT_NE(error_of(doc).find("$.target.input_tokens_per_s: expected a \"prefill\" block"), std::string::npos)
      << error_of(doc);
}

TEST(Serving, OverridesChangeTheChipAndItsProfile) {
  const std::string path = data_dir() + "/scenarios/serving/deepseek-v3-serving-h800.json";
  const ServingScenario h20 = load_serving_scenario(path, {"cluster.gpu=H20", "decode.kv_len=8192"});
  EXPECT_EQ(h20.gpu.name, "H20");
  EXPECT_EQ(h20.profile.gpu_name, "H20");  // no profile named: the chip's own
  EXPECT_DOUBLE_EQ(h20.decode.kv_len, 8192);
  // A seventh of the H800's compute: fewer tokens per GPU at the same SLO.
  const ServingScenario h800 = load_serving_scenario(path);
  EXPECT_LT(run_serving(h20)["decode"]["output_tokens_per_s_per_gpu"].get<double>(),
            run_serving(h800)["decode"]["output_tokens_per_s_per_gpu"].get<double>());
}

TEST(Serving, CountsThatWouldWrapAndDenormalContextAreRefused) {
  // Issue 12: ep 4294967296 became 0 and divided by zero; a kv_len of 1e-320 hung the batch search.
  auto doc = day6();
  doc["decode"]["ep"] = 4294967296LL;
  EXPECT_NE(error_of(doc).find("$.decode.ep: expected an integer from 1 to 16777216, got 4294967296"),
            std::string::npos)
      << error_of(doc);
  doc = day6();
  doc["decode"]["kv_len"] = 1e-320;
  EXPECT_NE(error_of(doc).find("$.decode.kv_len: expected 0 or a magnitude"), std::string::npos) << error_of(doc);
  doc = day6();
  doc["decode"]["kv_len"] = 0.5;
  EXPECT_NE(error_of(doc).find("$.decode.kv_len: expected 1 to 1073741824 tokens, got 0.5"), std::string::npos)
      << error_of(doc);
  doc = day6();
  doc["decode"]["mtp"]["depth"] = 1e9;
  EXPECT_NE(error_of(doc).find("$.decode.mtp.depth: expected an integer from 1 to 16"), std::string::npos)
      << error_of(doc);
}

// A target rate no cluster gwsim models can meet is refused at $.target with the scenario's file
// (the mutation replay's 2^64 - 1 tokens/s once surfaced as a fabric error without a file).
TEST(Serving, TargetBeyondTheClusterLimitIsRefusedAtTheTarget) {
  const std::string path = data_dir() + "/scenarios/serving/llama3-70b-serving-h100.json";
  const ServingScenario s = load_serving_scenario(path, {"target.output_tokens_per_s=18446744073709551615"});
  try {
    run_serving(s);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("llama3-70b-serving-h100.json: $.target: "), std::string::npos) << e.what();
  }
}
