#pragma once
// What one training step asks of each GPU: the ops of every pipeline stage (FLOPs and bytes, per
// micro-batch), every communication (collective, bytes, group, link class), and memory per GPU.
// Pure accounting: no notion of time (that is sim/'s job, with a calibration profile).
#include <string>
#include <vector>

#include "gwsim/hwmodels/cluster.h"
#include "gwsim/hwmodels/op_class.h"
#include "gwsim/hwmodels/op_shape.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/parallelism.h"

namespace gwsim {

constexpr double kActivationBytes = 2;  // bf16 activations

// What an op is part of, where logic needs more than its class: set where the op is made and kept
// by its backward ops. (Its name is for reports only: no logic reads it.)
enum class OpRole {
  other,
  attention_scores,   // unfused attention's score and value GEMMs: activations times activations, no weights
  decode_attention,   // a decode step's attention: over the KV cache (paged, MLA), MLA's absorbed q/v projections
  mla_up_projection,  // MLA's q and kv up-projections from the latents (selective recomputation redoes them)
  routed_expert,      // work per routed token: dispatch permute, expert GEMMs and activation, combine
};

// One kernel-level op. op_class is its profile op class (how it is priced).
struct Op {
  std::string name;
  OpClass op_class = OpClass::memory_bound;
  Precision precision = Precision::bf16;
  double flops = 0;  // per execution
  double bytes = 0;  // minimum HBM traffic per execution
  double count = 1;  // executions per micro-batch in this stage
  OpRole role = OpRole::other;
  GemmShape shape{};           // dense GEMMs: the M x N x K (x batch) they solve, flops = shape.flops(); else unknown
  AttentionShape attention{};  // flash attention (forward and backward): sequence, head dim, mask; else unknown
  bool block_scaled = false;   // an FP8 dense GEMM with block scales (TrainingSettings::fp8_scaling)
};

// Work of one pipeline rank (all chunks a GPU holds), per micro-batch. With DualPipe a rank holds
// stage i and its mirror stage pp-1-i, and half of the micro-batches pass through each: its ops are
// both stages' ops at half count.
struct StageWork {
  int first_layer = 0, layers = 0;        // transformer layers of this rank's own stage (interleaved: all chunks)
  int mirror_stage = -1;                  // DualPipe: the other stage this rank holds
  double layers_per_micro_batch = 0;      // transformer blocks (MTP included) one micro-batch passes here
  double moe_layers_per_micro_batch = 0;  // of which MoE blocks
  bool has_embedding = false, has_head = false;
  std::vector<Op> forward;
  std::vector<Op> backward_input;   // activation gradients ("B")
  std::vector<Op> backward_weight;  // weight gradients ("W"), separable for zero-bubble/DualPipe
  std::vector<Op> recompute;        // forward work redone in backward
  double params = 0;                // parameters held by one GPU of this stage
  double expert_params = 0;         // of which routed-expert parameters
  double activation_bytes_per_micro_batch = 0;
};

enum class CommKind { tp, cp, ep, pp, dp };
std::string to_string(CommKind k);

// Which passes of a micro-batch run a per-micro-batch communication: ZeRO-3's layer-wise parameter
// gathers run in the forward (and again in the backward when resharded), its gradient
// reduce-scatters in the backward; the others run in both.
enum class CommPass { both, forward, backward };

struct Comm {
  std::string name;
  CommKind kind = CommKind::tp;
  std::string op;    // all_reduce | all_gather | reduce_scatter | all_to_all | p2p
  double bytes = 0;  // nccl-tests "size": per-rank buffer (all_gather: gathered output)
  int group = 1;     // ranks in the collective
  LinkClass link = LinkClass::scaleup;
  int ranks_per_domain = 1;      // group members sharing one scale-up domain (hierarchical algorithms)
  double scaleout_fraction = 0;  // all-to-all: share of bytes that leave the scale-up domain
  double per_micro_batch = 0;    // executions per micro-batch (forward + backward)
  double per_step = 0;           // executions per step (gradient sync, parameter gather)
  CommPass pass = CommPass::both;
};

struct MemoryPerGpu {
  double weights = 0, gradients = 0, optimizer = 0, activations = 0, comm_buffers = 0;
  double total() const { return weights + gradients + optimizer + activations + comm_buffers; }
};

// FLOPs per token of the whole model for one training step (forward + backward).
struct FlopsPerToken {
  double model_noncausal = 0;  // 3x forward, full attention matrix (Megatron / PaLM convention)
  double model_causal = 0;     // 3x forward, lower-triangle attention (FlashAttention convention)
  double hardware = 0;         // what the GPUs execute: recomputation included, causal if masked
};

struct TrainingPlan {
  ModelSpec model;
  Parallelism par;
  TrainingSettings train;
  ParamCounts params;
  std::vector<StageWork> stages;  // one per pipeline rank
  int critical_stage = 0;         // the stage with the most work (sets the step time)
  std::vector<Comm> comms;        // of the critical stage
  MemoryPerGpu memory;            // of the stage with the most memory
  int memory_stage = 0;
  FlopsPerToken flops_per_token;
  std::int64_t micro_batches = 0;  // per data-parallel replica per step
  // MoE with ep > 1: the busiest EP rank's routed tokens over the mean (training.moe_hottest_rank_load;
  // 1: balanced). The stages' routed-expert ops are that rank's (set_hottest_rank_load); the cost
  // layer stretches EP traffic by it.
  double hottest_rank_load = 1;
  double tokens_per_step = 0;
  std::vector<std::string> notes;  // assumptions worth telling the user
};

// Which stages get their backward and recomputation ops: all (the des backend runs every stage), or
// only the critical one (the analytical estimate reads no other: the planner's fast path). Every
// other field of the plan, the critical stage included, is the same either way.
enum class PlanStages { all, critical };

// Builds the plan; throws InfeasibleError (naming `file` and the JSON path) for impossible layouts
// and for memory that does not fit the GPU.
TrainingPlan plan_training(const ModelSpec& model, const Parallelism& par, const TrainingSettings& train,
                           const ClusterSpec& cluster, const GpuSpec& gpu, const std::string& file,
                           PlanStages stages = PlanStages::all);

// Where a group of `size` ranks, `stride` apart, sits: inside one scale-up domain of `domain` GPUs
// or across several, and how many of its ranks share each domain.
struct GroupPlacement {
  LinkClass link;
  int ranks_per_domain;
};
GroupPlacement place_group(int size, int stride, int domain);

// Share of an expert-parallel dispatch's bytes that leaves the scale-up domain: DeepEP sends a token
// once per remote domain (node) it routes to and fans out over NVLink there; node-limited routing
// caps the domains per token (0: no cap). Uniform routing over ep ranks, ranks_per_domain per domain.
double dispatch_scaleout_fraction(int ep, int ranks_per_domain, int top_k, int max_domains_per_token);

// Serving decode: each sequence's new tokens attend over its KV cache rather than over seq_len.
struct DecodeAttention {
  double sequences = 0;                  // sequences in the batch; tokens / sequences query tokens each (MTP drafts)
  double kv_len = 0;                     // cached tokens each sequence attends to (mean)
  Precision kv_cache = Precision::bf16;  // bf16, or fp8 with one fp32 scale per 64 elements
};

struct LayerOpsOptions {
  const DecodeAttention* decode = nullptr;  // null: attention over the sequence (training, prefill)
  double experts_per_gpu = 0;               // routed experts one GPU holds, redundant copies included; 0: routed / ep
};

// Forward ops of one transformer layer for `tokens` tokens on one GPU (after TP/CP/EP splits).
std::vector<Op> layer_forward_ops(const ModelSpec& m, int layer, const Parallelism& p, const TrainingSettings& t,
                                  double tokens, const LayerOpsOptions& options = {});

// Makes the stages' routed-expert ops the busiest EP rank's: grouped GEMM FLOPs and the routed
// tokens' memory passes at `load` x the mean (replacing the plan's current load).
void set_hottest_rank_load(TrainingPlan& plan, double load);

// Bytes one cached element takes: 2 in bf16; in fp8 1 plus a 4-byte scale per 64 elements (the
// layout of kernels/cuda/mla_decode.cu's FP8 cache).
double kv_cache_bytes_per_elem(Precision kv_cache);

}  // namespace gwsim
