// Layer check: gwsim's per-op prediction against the measured kernels of one layer.
#include "gwsim/calibrate/layer_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "gwsim/common/input_error.h"
#include "gwsim/cost/cost.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/parallelism.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim::calibrate {

namespace {

// Measured step -> gwsim op (workloads/src/training_plan.cpp layer_forward_ops names).
const std::map<std::string, std::string>& step_to_op() {
  static const std::map<std::string, std::string> m = {
      // DeepSeek-V3 MoE layer (kernels/calibrate/layers.cu deepseek_v3_moe_layer)
      {"q_a", "q_down"},
      {"q_b", "q_up"},
      {"kv_a", "kv_down"},
      {"kv_b", "kv_up"},
      {"attention", "attention_core"},
      {"o_proj", "o_proj"},
      {"router", "router"},
      {"gating", "gating_topk"},
      {"permute", "dispatch_permute"},
      {"experts_gate_up", "experts_up"},
      {"experts_swiglu", "experts_act"},
      {"experts_down", "experts_down"},
      {"combine", "combine_unpermute"},
      {"shared_gate_up", "shared_up"},
      {"shared_swiglu", "shared_act"},
      {"shared_down", "shared_down"},
      // Llama 3 layer (llama3_8b_layer)
      {"qkv", "qkv_proj"},
      {"gate_up", "ffn_up"},
      {"swiglu", "ffn_act"},
      {"down", "ffn_down"},
  };
  return m;
}

struct LayerModel {
  std::string model;
  bool moe_layer = false;  // take the first MoE layer (else layer 0)
};

LayerModel model_of_layer(const std::string& layer, const std::string& file) {
  if (layer == "deepseek_v3_moe") return {"deepseek-v3", true};
  if (layer == "llama3_8b") return {"llama3-8b", false};
  throw InputError(file, "$.records[].shape.layer",
                   fmt::format("unknown layer \"{}\": expected deepseek_v3_moe or llama3_8b", layer));
}

bool is_attention(const KernelCheck& k) { return k.op_class == OpClass::attention; }

double measured_work(const Measurement& m, OpClass op_class) { return bandwidth_bound(op_class) ? m.bytes : m.flops; }

std::string us(double s) { return s > 0 ? fmt::format("{:.1f}", s * 1e6) : std::string("-"); }

}  // namespace

std::string gwsim_op_for_step(const std::string& step) {
  const auto it = step_to_op().find(step);
  return it == step_to_op().end() ? std::string() : it->second;
}

std::vector<LayerCheck> check_layers(const MeasurementSet& set, const Profile& profile, const GpuSpec& gpu) {
  std::vector<LayerCheck> out;
  for (const auto& seq : set.records) {
    if (seq.op != "layer_sequence") continue;
    LayerCheck lc;
    lc.layer = seq.shape_text.at("layer");  // the reader requires it
    const LayerModel lm = model_of_layer(lc.layer, set.file);
    lc.model = lm.model;
    lc.sequence_s = seq.median_s;
    const auto tokens_it = seq.shape.find("tokens");
    if (tokens_it == seq.shape.end() || !(tokens_it->second > 0))
      throw InputError(set.file, "$.records[].shape.tokens",
                       fmt::format("layer_sequence {}: expected the token count (tokens > 0)", lc.layer));
    lc.tokens = tokens_it->second;

    const ModelSpec model = find_model(lm.model, "");
    if (lm.moe_layer) {
      lc.model_layer = -1;
      for (int l = 0; l < model.layers; ++l)
        if (model.is_moe_layer(l)) {
          lc.model_layer = l;
          break;
        }
      if (lc.model_layer < 0) throw InputError(fmt::format("model {} has no MoE layer", lm.model));
    }
    const Parallelism par;  // one GPU: no TP/EP/CP split
    TrainingSettings train;
    train.precision = Precision::bf16;
    train.seq_len = static_cast<std::int64_t>(lc.tokens);
    train.attention_kernel = AttentionKernel::flash;
    train.causal_mask = true;
    const std::vector<Op> ops = layer_forward_ops(model, lc.model_layer, par, train, lc.tokens);

    // The layer's measured steps, by name.
    std::map<std::string, const Measurement*> steps;
    std::vector<std::string> step_order;
    for (const auto& m : set.records) {
      if (m.layer != lc.layer || m.step.empty()) continue;
      if (!steps.emplace(m.step, &m).second)
        throw InputError(set.file, "$.records[].step",
                         fmt::format("layer {}: step \"{}\" measured twice", lc.layer, m.step));
      step_order.push_back(m.step);
      lc.measured_all_steps_s += m.median_s;
    }
    std::set<std::string> used_steps;
    for (const auto& op : ops) {
      KernelCheck k;
      k.gwsim_op = op.name;
      k.op_class = op.op_class;
      k.predicted_s = op_time_s(op, gpu, profile);
      for (const auto& [step, name] : step_to_op()) {
        if (name != op.name || !steps.count(step)) continue;
        const Measurement& m = *steps.at(step);
        k.step = step;
        k.measured_s = m.median_s;
        const double mw = measured_work(m, op.op_class);
        const double gw = bandwidth_bound(op.op_class) ? op.bytes : op.flops;
        k.work_ratio = mw > 0 ? gw * op.count / mw : 0;
        used_steps.insert(step);
        if (!m.checked && m.check_ran) lc.notes.push_back(fmt::format("step {}: its result check failed", step));
        break;
      }
      if (k.matched()) {
        lc.measured_sum_s += k.measured_s;
        lc.predicted_sum_s += k.predicted_s;
        if (!is_attention(k)) {
          lc.measured_sum_no_attention_s += k.measured_s;
          lc.predicted_sum_no_attention_s += k.predicted_s;
        }
      }
      lc.kernels.push_back(std::move(k));
    }
    for (const auto& step : step_order) {
      if (used_steps.count(step)) continue;
      KernelCheck k;
      k.step = step;
      k.measured_s = steps.at(step)->median_s;
      lc.kernels.push_back(std::move(k));
    }
    if (steps.empty()) lc.notes.push_back("no layer_step records for this layer: nothing to compare kernel by kernel");
    out.push_back(std::move(lc));
  }
  if (out.empty())
    throw InputError(set.file, "$.records", "expected layer_sequence records (the sweep's layers stage), found none");
  return out;
}

std::string format_layer_checks(const std::vector<LayerCheck>& checks, const std::string& profile_name) {
  std::string s;
  for (const auto& lc : checks) {
    s += fmt::format("layer {} = {} layer {} at {:.0f} tokens, one GPU, bf16; profile {}\n", lc.layer, lc.model,
                     lc.model_layer, lc.tokens, profile_name);
    s += fmt::format("  {:<16} {:<18} {:<13} {:>11} {:>12} {:>8} {:>10}\n", "measured step", "gwsim op", "class",
                     "measured us", "predicted us", "error", "work g/m");
    for (const auto& k : lc.kernels) {
      const std::string err = k.matched() ? fmt::format("{:+.1f} %", 100 * k.error()) : std::string("-");
      const std::string ratio = k.work_ratio > 0 ? fmt::format("{:.3f}", k.work_ratio) : std::string("-");
      s += fmt::format("  {:<16} {:<18} {:<13} {:>11} {:>12} {:>8} {:>10}\n",
                       k.step.empty() ? "(not measured)" : k.step, k.gwsim_op.empty() ? "(none)" : k.gwsim_op,
                       k.op_class ? to_string(*k.op_class) : "-", us(k.measured_s), us(k.predicted_s), err, ratio);
    }
    const auto rel = [](double p, double m) {
      return m > 0 ? fmt::format("{:+.1f} %", 100 * (p - m) / m) : std::string("-");
    };
    s += fmt::format("  {:<49} {:>11} {:>12} {:>8}\n", "sum of matched kernels", us(lc.measured_sum_s),
                     us(lc.predicted_sum_s), rel(lc.predicted_sum_s, lc.measured_sum_s));
    s += fmt::format("  {:<49} {:>11} {:>12} {:>8}\n", "sum of matched kernels without attention",
                     us(lc.measured_sum_no_attention_s), us(lc.predicted_sum_no_attention_s),
                     rel(lc.predicted_sum_no_attention_s, lc.measured_sum_no_attention_s));
    if (lc.sequence_s > 0)
      s += fmt::format("  measured sequence end to end {} us; sum of its kernels timed alone {} us ({})\n",
                       us(lc.sequence_s), us(lc.measured_all_steps_s), rel(lc.measured_all_steps_s, lc.sequence_s));
    for (const auto& n : lc.notes) s += "  note: " + n + "\n";
  }
  return s;
}

}  // namespace gwsim::calibrate
