#include "gwsim/sim/planning/rl/rollout_phase.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <queue>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/planning/serving.h"

namespace gwsim {

namespace {

// Sequences per GPU that run at once: the stated decode batch, or as many as fit beside the
// weights at the mean sequence's KV length (vLLM pages the cache, so memory follows the mean).
double rollout_slots_per_gpu(const ServingScenario& engines, double mean_kv_len, std::string& chosen_by) {
  if (engines.decode.batch_per_gpu) {
    chosen_by = "stated";
    return *engines.decode.batch_per_gpu;
  }
  ServingScenario at_mean = engines;
  at_mean.decode.kv_len = std::max(1.0, mean_kv_len);
  const double usable = engines.gpu.hbm_capacity_gb.value * 1e9 * engines.decode.memory_utilization;
  const double weights = weight_bytes_per_gpu(engines, engines.decode.layout, engines.decode.mtp_depth);
  const double per_sequence = decode_kv_bytes_per_sequence(at_mean);
  const double slots = std::floor((usable - weights) / per_sequence);
  if (!(slots >= 1))
    throw InfeasibleError(
        engines.file, "$.decode.gpus",
        fmt::format("a rollout sequence of {:.0f} tokens ({:.2f} GB of KV cache per GPU) does not fit "
                    "beside {:.1f} GB of weights in {:.1f} GB usable: expected more GPUs per instance",
                    mean_kv_len, per_sequence / 1e9, weights / 1e9, usable / 1e9));
  chosen_by = "memory";
  return slots;
}

// One engine instance's decode: continuous batching over its samples (admitted in order while a
// slot is free), all running sequences advancing one step at a time. Between two finishes the
// batch is constant; a stretch is priced at its mid-point KV length, re-priced every
// kRolloutRepriceTokens tokens.
struct InstanceDecode {
  double decode_s = 0, packed_s = 0;
};

// Decode steps priced once per (sequences per instance, KV length in kKvBucketTokens buckets),
// shared by all instances of the phase: the instances pass through the same batch sizes at
// nearly the same KV lengths. A step is priced at its bucket's centre; attention, the only part
// that depends on the KV length, moves by under kKvBucketTokens / 2 tokens of context.
constexpr double kKvBucketTokens = 64;

class DecodeStepCache {
 public:
  explicit DecodeStepCache(ServingScenario& engines) : engines_(engines) {}
  const DecodeStep& at(double sequences, double kv_len) {
    const auto bucket = static_cast<std::int64_t>(std::floor(kv_len / kKvBucketTokens));
    const auto key = std::make_pair(static_cast<std::int64_t>(sequences), bucket);
    auto it = steps_.find(key);
    if (it != steps_.end()) return it->second;
    engines_.decode.kv_len = std::max(1.0, (static_cast<double>(bucket) + 0.5) * kKvBucketTokens);
    ++evaluations_;
    return steps_.emplace(key, decode_step(engines_, sequences / engines_.decode.layout.gpus)).first->second;
  }
  std::int64_t evaluations() const { return evaluations_; }

 private:
  ServingScenario& engines_;
  std::map<std::pair<std::int64_t, std::int64_t>, DecodeStep> steps_;
  std::int64_t evaluations_ = 0;
};

InstanceDecode decode_instance(DecodeStepCache& steps, const std::vector<std::size_t>& samples,
                               const RolloutRequest& req, double slots) {
  // Finish times on the per-sequence token clock g (every running sequence gains the same tokens).
  using Finish = std::pair<double, std::size_t>;
  std::priority_queue<Finish, std::vector<Finish>, std::greater<>> running;
  double clock = 0, kv_offset_sum = 0;  // sum over running sequences of (context - clock at admission)
  std::size_t next = 0;
  InstanceDecode out;
  const double full = std::min(slots, static_cast<double>(samples.size()));
  while (next < samples.size() || !running.empty()) {
    while (next < samples.size() && static_cast<double>(running.size()) < slots) {
      const std::size_t i = samples[next++];
      running.push({clock + req.lengths[i], i});
      kv_offset_sum += req.contexts[i] - clock;
    }
    const double active = static_cast<double>(running.size());
    const bool to_finish = running.top().first - clock <= kRolloutRepriceTokens;
    const double stretch = to_finish ? running.top().first - clock : kRolloutRepriceTokens;
    const double kv_len = kv_offset_sum / active + clock + stretch / 2;
    const DecodeStep& now = steps.at(active, kv_len);
    const DecodeStep& packed = steps.at(full, kv_len);
    const double steps = stretch / now.tokens_per_step_per_sequence;
    out.decode_s += steps * now.step_s;
    // The same tokens in a full batch: this stretch's share of a full batch's steps.
    out.packed_s += steps * packed.step_s * active / full;
    clock = to_finish ? running.top().first : clock + stretch;
    while (!running.empty() && running.top().first <= clock) {
      kv_offset_sum -= req.contexts[running.top().second] - (running.top().first - req.lengths[running.top().second]);
      running.pop();
    }
  }
  return out;
}

}  // namespace

RolloutPhase simulate_rollout(const ServingScenario& engines, const RolloutRequest& req) {
  RolloutPhase ph;
  ServingScenario s = engines;  // its decode.kv_len is moved as sequences grow
  const int instance_gpus = s.decode.layout.gpus;
  ph.instance_gpus = instance_gpus;
  ph.instances = req.rollout_gpus / instance_gpus;
  double kv_total = 0;
  for (std::size_t i = 0; i < req.lengths.size(); ++i) {
    kv_total += req.contexts[i] + req.lengths[i];
    ph.tokens_generated += req.lengths[i];
  }
  const double n = static_cast<double>(req.lengths.size());
  ph.slots_per_gpu = rollout_slots_per_gpu(s, kv_total / n, ph.slots_chosen_by);
  const double slots = std::max(1.0, std::floor(ph.slots_per_gpu * instance_gpus));
  const double prefill_rate = prefill_step(s).input_tokens_per_s_per_gpu * instance_gpus;

  // A prompt's samples go to one instance (their shared prefix is prefilled once), prompts dealt
  // round-robin; a resumed partial-rollout segment prefills its whole context again.
  const auto group = static_cast<std::size_t>(std::max(1, req.samples_per_prompt));
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(ph.instances));
  std::vector<double> prefill_tokens(members.size(), 0);
  for (std::size_t i = 0; i < req.lengths.size(); ++i) {
    const std::size_t k = (i / group) % members.size();
    members[k].push_back(i);
    if (req.resumed[i])
      prefill_tokens[k] += req.contexts[i];
    else if (i % group == 0)
      prefill_tokens[k] += req.prompt_len;
  }
  std::vector<double> busy(members.size(), 0);
  double gpu_s_lost = 0;
  DecodeStepCache steps(s);
  for (std::size_t k = 0; k < members.size(); ++k) {
    const double prefill = prefill_tokens[k] / prefill_rate;
    double decode = 0;
    if (!members[k].empty()) {
      const InstanceDecode d = decode_instance(steps, members[k], req, slots);
      decode = d.decode_s;
      ph.packed_decode_s += d.packed_s;
      gpu_s_lost += (d.decode_s - d.packed_s) * instance_gpus;
    }
    ph.prefill_s += prefill;
    ph.decode_s += decode;
    busy[k] = prefill + decode;
  }
  ph.phase_s = *std::max_element(busy.begin(), busy.end());
  // Instances that finished early wait for the slowest: idle too.
  for (const double b : busy) gpu_s_lost += (ph.phase_s - b) * instance_gpus;
  const double instances = static_cast<double>(ph.instances);
  ph.prefill_s /= instances;
  ph.decode_s /= instances;
  ph.packed_decode_s /= instances;
  ph.tail_idle_gpu_s = gpu_s_lost;
  ph.decode_step_evaluations = steps.evaluations();
  ph.tail_idle_s = gpu_s_lost / static_cast<double>(req.rollout_gpus);
  s.decode.kv_len = std::max(1.0, req.prompt_len);
  const DecodeStep first = decode_step(s, std::min(slots, std::ceil(n / instances)) / instance_gpus);
  ph.full_batch_step_s = first.step_s;
  ph.tokens_per_step_per_sequence = first.tokens_per_step_per_sequence;
  return ph;
}

}  // namespace gwsim
