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
// (the cost layer, gwsim/cost/cost.h) and their expert all-to-all with the collective model.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/sim/input/serving_scenario.h"

namespace gwsim {

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
// The same steps at a stated context, leaving the scenario as it is (the request-level simulator
// prices its step table with these): decode at `kv_len` cached tokens per sequence, prefill of
// `tokens_per_gpu` prompt tokens per GPU attending over `prompt_len` on instances of `layout`.
DecodeStep decode_step_at(const ServingScenario& s, double batch_per_gpu, double kv_len);
PrefillStep prefill_step_at(const ServingScenario& s, const InstanceLayout& layout, double tokens_per_gpu,
                            double prompt_len);
// Weights one GPU of a layout holds, with `mtp_modules` MTP modules (decode drafts) beside the model.
double weight_bytes_per_gpu(const ServingScenario& s, const InstanceLayout& layout, int mtp_modules = 0);
// The KV cache a decode GPU keeps for each sequence of its batch_per_gpu (with attention TP, its
// share of the group's tp sequences).
double decode_kv_bytes_per_sequence(const ServingScenario& s);
// The same at `kv_len` cached tokens, and per cached token.
double decode_kv_bytes_at(const ServingScenario& s, double kv_len);
double decode_kv_bytes_per_token(const ServingScenario& s);

// One decode all-to-all (dispatch or combine) moving `bytes` from each of `ep` GPUs, as DeepEP's
// low-latency kernels do it (DeepSeek's decode): every token copy goes straight to its expert's
// GPU; within one scale-up domain over NVLink, otherwise over RDMA for every peer, NVLink
// neighbours included (pure RDMA, IBGDA).
double decode_all_to_all_s(int ep, double bytes, const ClusterSpec& cluster, const Profile& profile);

// The report (schema gwsim.serving-report/1) and its printed summary.
nlohmann::json run_serving(const ServingScenario& s);
std::string format_serving_summary(const nlohmann::json& report);

}  // namespace gwsim
