#pragma once
// Layer check: gwsim's predicted time for the kernels of one transformer layer, with a profile,
// against the measured time of the same kernels (the sweep's layer_step records, one per kernel, and
// its layer_sequence record, the whole sequence timed end to end). Compares like with like: only
// gwsim ops with a measured counterpart enter the sums (the measured sequences leave out norms, RoPE
// and residual adds).
#include <optional>
#include <string>
#include <vector>

#include "gwsim/calibrate/measurements.h"
#include "gwsim/hwmodels/gpu.h"
#include "gwsim/hwmodels/profile.h"

namespace gwsim::calibrate {

struct KernelCheck {
  std::string step;                 // measured step ("q_a"); "" for a gwsim op without a measured counterpart
  std::string gwsim_op;             // gwsim op name ("q_down"); "" for a measured step gwsim does not emit
  std::optional<OpClass> op_class;  // gwsim profile op class (none: a measured step gwsim does not emit)
  double measured_s = 0;            // the layer_step record's median (0: not measured)
  double predicted_s = 0;           // gwsim::op_time_s with the profile (0: no gwsim op)
  double work_ratio = 0;            // gwsim's work / the measured record's (FLOPs, or bytes for memory-bound)
  bool matched() const { return !step.empty() && !gwsim_op.empty(); }
  double error() const { return (predicted_s - measured_s) / measured_s; }  // matched kernels only
};

struct LayerCheck {
  std::string layer;    // the sweep's layer name ("deepseek_v3_moe")
  std::string model;    // catalogue model ("deepseek-v3")
  int model_layer = 0;  // layer index given to layer_forward_ops
  double tokens = 0;
  double sequence_s = 0;             // layer_sequence median (0: absent)
  std::vector<KernelCheck> kernels;  // in gwsim's op order, then measured steps without a gwsim op
  // Sums over matched kernels only.
  double measured_sum_s = 0, predicted_sum_s = 0;
  double measured_sum_no_attention_s = 0, predicted_sum_no_attention_s = 0;
  double measured_all_steps_s = 0;  // every layer_step record of the layer (to compare with sequence_s)
  std::vector<std::string> notes;
};

// The gwsim op a measured layer step corresponds to ("q_a" -> "q_down"); "" if none.
std::string gwsim_op_for_step(const std::string& step);

// One LayerCheck per layer_sequence record of `set`, in file order. The layer's ops come from
// gwsim::layer_forward_ops for the catalogue model of the layer (deepseek_v3_moe: deepseek-v3, its
// first MoE layer; llama3_8b: llama3-8b), at the sequence's token count on one GPU (default
// Parallelism), bf16, seq_len = tokens, flash attention, causal; each is timed with
// gwsim::op_time_s on `gpu` with `profile`. InputError for an unknown layer name or no
// layer_sequence record.
std::vector<LayerCheck> check_layers(const MeasurementSet& set, const Profile& profile, const GpuSpec& gpu);

// The check as a text table (one per layer), as `gwsim calibrate --check-layers` prints it.
std::string format_layer_checks(const std::vector<LayerCheck>& checks, const std::string& profile_name);

}  // namespace gwsim::calibrate
