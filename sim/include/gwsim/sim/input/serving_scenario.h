#pragma once
// A serving scenario (schema "gwsim.serving/1", scenarios/serving/*.json; docs/serving.md) as read
// from its file: the model, the cluster and profile it runs on, the decode and prefill instances'
// layouts and settings, the targets. serving.h prices it.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/requests/request_config.h"
#include "gwsim/workloads/model.h"

namespace gwsim {

// How one instance spreads the model over its GPUs.
struct InstanceLayout {
  int gpus = 0;
  int attention_tp = 1;       // GPUs sharing one sequence's attention (and the dense layers)
  int ep = 1;                 // GPUs the routed experts are spread over
  int redundant_experts = 0;  // extra expert copies for load balance (DeepSeek: 32)
  bool overlap = true;        // two micro-batches hide the all-to-all behind compute
  double experts_per_gpu(const ModelSpec& m) const;
};

struct DecodeSettings {
  InstanceLayout layout;
  double kv_len = 0;  // mean cached tokens per sequence
  Precision kv_cache = Precision::bf16;
  std::optional<double> batch_per_gpu;  // sequences per GPU; empty: the largest that fits the SLO and memory
  double tpot_slo_s = 0;                // 0: no time-per-output-token limit
  int mtp_depth = 0;                    // multi-token-prediction drafts per step
  double mtp_acceptance = 0;            // chance each draft is accepted
  double memory_utilization = 0.9;      // share of HBM the server may fill (weights + KV cache)
};

struct PrefillSettings {
  InstanceLayout layout;
  double prompt_len = 0;      // tokens each computed prompt attends over (causal)
  double tokens_per_gpu = 0;  // prompt tokens one GPU runs per forward step (its chunk)
};

struct ServingScenario {
  std::string file, name, description;
  ModelSpec model;
  ClusterSpec cluster;
  GpuSpec gpu;                    // capped when cluster.gpu_variant asks (as in a training scenario)
  GpuVariantRequest gpu_variant;  // inactive: the chip as catalogued
  Profile profile;
  std::string profile_ref;                // what "profile" resolved to (loadable again)
  Precision precision = Precision::bf16;  // GEMM weights and the expert dispatch
  DecodeSettings decode;
  std::optional<PrefillSettings> prefill;
  double target_output_tokens_per_s = 0;  // 0: no decode sizing
  double target_input_tokens_per_s = 0;   // 0: no prefill sizing
  double cache_hit_rate = 0;              // share of input tokens served from a prefix cache
  double usd_per_gpu_hour = 0;
  std::string usd_source;
  std::optional<requests::RequestSimConfig> requests;  // the request-level simulation, if asked for
  nlohmann::json resolved;                             // the input with references resolved
};

class JsonObject;
// The "requests" section (sim/input/request_section.cpp), read once the rest of `s` is.
requests::RequestSimConfig parse_request_section(const JsonObject& o, const ServingScenario& s);

// `overrides` are "path.to.key=value" strings applied before reading, as `gwsim run --set` does
// (e.g. "decode.kv_len=32768", "cluster.gpu=H20").
ServingScenario load_serving_scenario(const std::string& path, const std::vector<std::string>& overrides = {});
ServingScenario parse_serving_scenario(const nlohmann::json& doc, const std::string& file);

}  // namespace gwsim
