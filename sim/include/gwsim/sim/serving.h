#pragma once
// Serving: how fast a decode instance generates tokens and a prefill instance reads prompts, and
// how many GPUs a target rate takes (schema "gwsim.serving/1", scenarios/serving/*.json;
// docs/serving.md).
//
// An instance is `gpus` GPUs holding one copy of the model: attention and the dense parts
// data-parallel over groups of `attention_tp` GPUs, the routed experts spread over `ep` GPUs
// (DeepSeek's layout: EP over the whole instance, a few redundant experts). A decode step adds one
// token (plus MTP drafts) to each sequence, attending over its KV cache; a prefill step runs a
// chunk of prompt tokens through the model. Both are priced op by op with the calibration profile
// (analytical.h op_time_s) and their expert all-to-all with the collective model.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/workloads/model.h"

namespace gwsim {

// How one instance spreads the model over its GPUs.
struct InstanceLayout {
  int gpus = 0;
  int attention_tp = 1;         // GPUs sharing one sequence's attention (and the dense layers)
  int ep = 1;                   // GPUs the routed experts are spread over
  int redundant_experts = 0;    // extra expert copies for load balance (DeepSeek: 32)
  bool overlap = true;          // two micro-batches hide the all-to-all behind compute
  double experts_per_gpu(const ModelSpec& m) const;
};

struct DecodeSettings {
  InstanceLayout layout;
  double kv_len = 0;            // mean cached tokens per sequence
  Precision kv_cache = Precision::bf16;
  std::optional<double> batch_per_gpu;  // sequences per GPU; empty: the largest that fits the SLO and memory
  double tpot_slo_s = 0;        // 0: no time-per-output-token limit
  int mtp_depth = 0;            // multi-token-prediction drafts per step
  double mtp_acceptance = 0;    // chance each draft is accepted
  double memory_utilization = 0.9;  // share of HBM the server may fill (weights + KV cache)
};

struct PrefillSettings {
  InstanceLayout layout;
  double prompt_len = 0;        // tokens each computed prompt attends over (causal)
  double tokens_per_gpu = 0;    // prompt tokens one GPU runs per forward step (its chunk)
};

struct ServingScenario {
  std::string file, name, description;
  ModelSpec model;
  ClusterSpec cluster;
  GpuSpec gpu;
  Profile profile;
  std::string profile_ref;      // what "profile" resolved to (loadable again)
  Precision precision = Precision::bf16;  // GEMM weights and the expert dispatch
  DecodeSettings decode;
  std::optional<PrefillSettings> prefill;
  double target_output_tokens_per_s = 0;  // 0: no decode sizing
  double target_input_tokens_per_s = 0;   // 0: no prefill sizing
  double cache_hit_rate = 0;              // share of input tokens served from a prefix cache
  double usd_per_gpu_hour = 0;
  std::string usd_source;
  nlohmann::json resolved;      // the input with references resolved
};

// `overrides` are "path.to.key=value" strings applied before reading, as `gwsim run --set` does
// (e.g. "decode.kv_len=32768", "cluster.gpu=H20").
ServingScenario load_serving_scenario(const std::string& path, const std::vector<std::string>& overrides = {});
ServingScenario parse_serving_scenario(const nlohmann::json& doc, const std::string& file);

// One step of one GPU: compute by kind, communication, and what the step delivers.
struct ServingStep {
  double step_s = 0, compute_s = 0, comm_s = 0;
  std::vector<std::pair<std::string, double>> breakdown_s;  // compute by kind, then communication
};

struct DecodeStep : ServingStep {
  double batch_per_gpu = 0;
  double tokens_per_step_per_sequence = 1;  // 1 + accepted MTP drafts
  double tpot_s = 0;                        // step / tokens per step
  double output_tokens_per_s_per_gpu = 0;
};

struct PrefillStep : ServingStep {
  double input_tokens_per_s_per_gpu = 0;  // computed (not cached) prompt tokens
};

// Prices one decode step at `batch_per_gpu` sequences per GPU (no memory check).
DecodeStep decode_step(const ServingScenario& s, double batch_per_gpu);
PrefillStep prefill_step(const ServingScenario& s);
// Weights one GPU of a layout holds, with `mtp_modules` MTP modules (decode drafts) beside the model.
double weight_bytes_per_gpu(const ServingScenario& s, const InstanceLayout& layout, int mtp_modules = 0);
// The KV cache a decode GPU keeps for each sequence of its batch_per_gpu (with attention TP, its
// share of the group's tp sequences).
double decode_kv_bytes_per_sequence(const ServingScenario& s);

// One decode all-to-all (dispatch or combine) moving `bytes` from each of `ep` GPUs, as DeepEP's
// low-latency kernels do it (DeepSeek's decode): every token copy goes straight to its expert's
// GPU; within one scale-up domain over NVLink, otherwise over RDMA for every peer, NVLink
// neighbours included (pure RDMA, IBGDA).
double decode_all_to_all_s(int ep, double bytes, const ClusterSpec& cluster, const Profile& profile);

// The report (schema gwsim.serving-report/1) and its printed summary.
nlohmann::json run_serving(const ServingScenario& s);
std::string format_serving_summary(const nlohmann::json& report);

}  // namespace gwsim
