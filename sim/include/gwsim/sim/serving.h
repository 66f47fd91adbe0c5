#pragma once
// Serving: how fast one decode instance generates tokens, and how many GPUs a target output rate
// takes (schema "gwsim.serving/1", scenarios/serving/*.json; docs/serving.md).
//
// A decode instance is `gpus` GPUs that hold one copy of the model: attention and the dense parts
// data-parallel over groups of `attention_tp` GPUs, the routed experts spread over `ep` GPUs
// (DeepSeek's layout: EP over the whole instance, a few redundant experts). Every step each
// sequence adds one token (plus its MTP drafts) and attends over its KV cache; the step is priced
// op by op with the calibration profile (analytical.h op_time_s) and the expert all-to-all with
// the collective model (collective_cost.h).
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/workloads/model.h"

namespace gwsim {

struct DecodeSettings {
  int gpus = 0;                 // GPUs of one decode instance
  int attention_tp = 1;         // GPUs sharing one sequence's attention (and the dense layers)
  int ep = 1;                   // GPUs the routed experts are spread over
  int redundant_experts = 0;    // extra expert copies for load balance (DeepSeek: 32)
  double kv_len = 0;            // mean cached tokens per sequence
  Precision kv_cache = Precision::bf16;
  std::optional<double> batch_per_gpu;  // sequences per GPU; empty: the largest that fits the SLO and memory
  double tpot_slo_s = 0;        // 0: no time-per-output-token limit
  int mtp_depth = 0;            // multi-token-prediction drafts per step
  double mtp_acceptance = 0;    // chance each draft is accepted
  bool overlap = true;          // two micro-batches hide the all-to-all behind compute
  double memory_utilization = 0.9;  // share of HBM the server may fill (weights + KV cache)
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
  double target_output_tokens_per_s = 0;  // 0: no sizing
  double usd_per_gpu_hour = 0;
  std::string usd_source;
  nlohmann::json resolved;      // the input with references resolved
};

ServingScenario load_serving_scenario(const std::string& path);
ServingScenario parse_serving_scenario(const nlohmann::json& doc, const std::string& file);

// One decode step of one GPU at a given batch.
struct DecodeStep {
  double batch_per_gpu = 0;
  double step_s = 0, compute_s = 0, comm_s = 0;
  double tokens_per_step_per_sequence = 1;  // 1 + accepted MTP drafts
  double tpot_s = 0;                        // step / tokens per step
  double output_tokens_per_s_per_gpu = 0;
  std::vector<std::pair<std::string, double>> breakdown_s;  // compute by kind, then communication
  double weights_bytes = 0, kv_cache_bytes = 0;  // per GPU
};

// One decode all-to-all (dispatch or combine) moving `bytes` from each of `ep` GPUs, as DeepEP's
// low-latency kernels do it (DeepSeek's decode): every token copy goes straight to its expert's
// GPU; within one scale-up domain over NVLink, otherwise over RDMA for every peer, NVLink
// neighbours included (pure RDMA, IBGDA).
double decode_all_to_all_s(int ep, double bytes, const ClusterSpec& cluster, const Profile& profile);

// Prices one step at `batch_per_gpu` sequences per GPU (no memory check).
DecodeStep decode_step(const ServingScenario& s, double batch_per_gpu);
// Per-GPU bytes that do not depend on the batch (weights), and per sequence of batch_per_gpu (the
// KV cache a GPU keeps for it: with attention TP its share of the group's tp sequences).
double decode_weight_bytes_per_gpu(const ServingScenario& s);
double decode_kv_bytes_per_sequence(const ServingScenario& s);

// The report (schema gwsim.serving-report/1) and its printed summary.
nlohmann::json run_serving(const ServingScenario& s);
std::string format_serving_summary(const nlohmann::json& report);

}  // namespace gwsim
