#pragma once
// How a training job is laid out on GPUs, and the per-run settings that change its cost.
#include <algorithm>
#include <cstdint>
#include <string>

#include "gwsim/hwmodels/gpu.h"
#include "gwsim/workloads/model.h"

namespace gwsim {

class JsonObject;

enum class PipelineSchedule { one_f_one_b, interleaved, dualpipe, zero_bubble };
std::string to_string(PipelineSchedule s);

enum class Recompute { none, selective, full };
std::string to_string(Recompute r);

// Attention kernel: flash (fused, no s^2 tensor in HBM) or unfused (scores materialised, softmax
// and dropout as memory-bound passes, as Megatron-LM did in 2021).
enum class AttentionKernel { flash, unfused };

struct Parallelism {
  int tp = 1;       // tensor parallel
  bool sp = false;  // sequence parallel (with TP: RS/AG instead of all-reduce)
  int pp = 1;       // pipeline stages
  PipelineSchedule schedule = PipelineSchedule::one_f_one_b;
  int virtual_stages = 1;  // interleaved: model chunks per GPU
  int dp = 1;              // data parallel replicas
  int zero_stage = 0;      // 0..3 (3 = FSDP: parameters sharded too)
  int ep = 1;              // expert parallel (within the DP x TP group of MoE layers)
  // Tensor parallelism inside each routed expert (Megatron-Core's --expert-tensor-parallel-size):
  // every expert's FFN split over expert_tp ranks of the TP group, which gather the routed tokens
  // before the experts and reduce-scatter their outputs after. 0: the framework's default
  // (default_expert_tp), resolved by plan_training; 1: experts whole, as DeepSeek and DeepSpeed run them.
  int expert_tp = 0;
  int cp = 1;  // context parallel
  std::int64_t micro_batch_seqs = 1;

  std::int64_t gpus() const { return static_cast<std::int64_t>(tp) * pp * dp * cp; }
  int expert_tp_or_1() const { return expert_tp > 0 ? expert_tp : 1; }
  // Ranks holding the same routed-expert shard: the experts' data-parallel degree.
  double expert_dp() const {
    return std::max(1.0, static_cast<double>(dp) * tp * cp / (static_cast<double>(ep) * expert_tp_or_1()));
  }
};

// The training framework: what it does with communication is a software choice, so it lives in the
// scenario, with per-framework defaults (docs/formats.md, "training.framework").
enum class Framework { megatron, deepspeed, fsdp, deepseek };
std::string to_string(Framework f);

// How FP8 GEMM operands are scaled (precision fp8 only): one scale per tensor (Transformer
// Engine's default recipe), or DeepSeek-V3's fine-grained blocks, 1 x 128 for activations and
// 128 x 128 for weights (DeepSeek-V3 Sec 3.3.1). Block scales cost GEMM throughput: the profile's
// measured gemm.fp8 "block_scaled" rate.
enum class Fp8Scaling { tensor, block };
std::string to_string(Fp8Scaling s);

struct TrainingSettings {
  std::int64_t global_batch_seqs = 0;
  std::int64_t seq_len = 0;
  double tokens = 0;                      // tokens of the whole run
  Precision precision = Precision::bf16;  // GEMM precision (attention stays bf16)
  Recompute recompute = Recompute::selective;
  AttentionKernel attention_kernel = AttentionKernel::flash;
  bool overlap_tp = false;  // TP collectives overlapped with GEMMs
  bool overlap_dp = true;   // gradient reduction overlapped with backward
  // EP all-to-all overlapped with another micro-batch's compute (DualPipe, dual micro-batch). The
  // scenario default is the framework's (default_overlap_ep): on only under DeepSeek's stack.
  bool overlap_ep = false;
  bool overlap_pp = true;   // pipeline sends overlapped in steady state
  bool causal_mask = true;  // attention FLOPs actually computed (flash skips the upper triangle)
  Framework framework = Framework::megatron;
  // SMs a communication kernel holds while it runs beside compute. DeepSeek's stack reserves 20 of
  // the H800's 132 (DeepSeek-V3 Sec 3.2.2); elsewhere 0 unless the scenario sets it: NCCL's channel
  // count (one SM each) depends on topology and version, and no measurement of it is in the repo.
  int comm_sms = 0;
  // ZeRO-3 / FSDP: parameters are gathered layer by layer. After the forward a layer's gathered
  // weights are freed (PyTorch FSDP reshard_after_forward=True, DeepSpeed ZeRO-3's release after use)
  // and gathered again for the backward; Llama 3 kept them (Sec 3.3.2), trading memory for traffic.
  bool zero3_reshard_after_forward = true;
  // MoE: the busiest expert-parallel rank's routed tokens over the mean, per micro-batch. Every EP
  // rank waits for it at the combine, so its expert work and its all-to-all set the pace. 0: not
  // stated, routing taken as balanced (1).
  double moe_hottest_rank_load = 0;
  // FP8 GEMMs' scaling; the scenario default is the framework's (default_fp8_scaling).
  Fp8Scaling fp8_scaling = Fp8Scaling::tensor;

  std::int64_t micro_batches(const Parallelism& p) const {
    return global_batch_seqs / (static_cast<std::int64_t>(p.dp) * p.micro_batch_seqs);
  }
};

// Megatron-Core and DeepSpeed-MoE run the dispatch and combine all-to-alls on the critical path
// unless told otherwise (Megatron's overlap_moe_expert_parallel_comm is opt-in, and needs virtual
// pipeline stages when pp > 1: Megatron-Bridge, "MoE Expert-Parallel Overlap"); DeepSeek's stack
// hides them behind the other micro-batch's compute (DualPipe, DeepSeek-V3 Sec 3.2.1).
bool default_overlap_ep(Framework f);

// DeepSeek's stack trains FP8 with block scales (DeepSeek-V3 Sec 3.3.1, DeepGEMM); Transformer
// Engine's default FP8 recipe (DelayedScaling, under Megatron-LM) and the others scale per tensor.
Fp8Scaling default_fp8_scaling(Framework f);

// Megatron-Core splits experts like the rest of the layer unless told otherwise: its
// --expert-tensor-parallel-size defaults to --tensor-model-parallel-size (Megatron-LM's MoE README,
// argument table). DeepSpeed-MoE, FSDP and DeepSeek's stack keep each expert whole: 1.
int default_expert_tp(Framework f, int tp);
// p.expert_tp, or the framework's default when it is 0.
int resolved_expert_tp(const Parallelism& p, const TrainingSettings& t);
// `p` with expert_tp 0 replaced by the framework's default.
Parallelism with_resolved_expert_tp(Parallelism p, const TrainingSettings& t);
// Ranks holding one copy of the routed experts: ep x expert_tp (each expert split over expert_tp
// of them). The copies tile the dp x tp x cp ranks, so this must divide them.
std::int64_t expert_copy_ranks(const Parallelism& p, const TrainingSettings& t);

Parallelism parse_parallelism(const JsonObject& obj);
TrainingSettings parse_training(const JsonObject& obj, const ModelSpec& model);

// Refuses an impossible layout with InfeasibleError naming what and by how much:
// degrees that do not divide heads, experts, layers or the batch; GPU count mismatch.
void check_layout(const ModelSpec& m, const Parallelism& p, const TrainingSettings& t, std::int64_t cluster_gpus,
                  int gpus_per_node, const std::string& file);

}  // namespace gwsim
