#include "gwsim/sim/planning/rl/rl_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/cost/collective_cost.h"
#include "gwsim/sim/engines/step_backend.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

RolloutRequest rollout_request(const RlScenario& s) {
  RolloutRequest r;
  r.rollout_gpus = s.rollout_gpus;
  r.prompt_len = s.prompt_len;
  r.samples_per_prompt = s.samples_per_prompt;
  const double cutoff = s.partial_rollout_cutoff_tokens;
  // Fresh samples (their first segment) first, grouped by prompt; resumed segments after them.
  std::vector<double> rest_lengths, rest_contexts;
  for (const double l : s.output_lengths) {
    const double first = cutoff > 0 ? std::min(l, cutoff) : l;
    r.lengths.push_back(first);
    r.contexts.push_back(s.prompt_len);
    r.resumed.push_back(false);
    for (double done = first; done < l; done += cutoff) {
      rest_lengths.push_back(std::min(cutoff, l - done));
      rest_contexts.push_back(s.prompt_len + done);
    }
  }
  for (std::size_t i = 0; i < rest_lengths.size(); ++i) {
    r.lengths.push_back(rest_lengths[i]);
    r.contexts.push_back(rest_contexts[i]);
    r.resumed.push_back(true);
  }
  return r;
}

ModelPasses model_passes(const Scenario& sc, int mini_batches, const std::string& backend) {
  const TrainingPlan plan = plan_training(sc.model, sc.parallelism, sc.training, sc.cluster, sc.gpu, sc.file);
  const StepEstimate est = find_step_backend(backend).estimate(plan, sc, false).step;
  ModelPasses m;
  m.step_s = est.step_time_s;
  m.update_s = mini_batches * est.step_time_s;
  // A forward-only pass (log-probs, values, rewards) over the same tokens: the step without its
  // optimizer, scaled by the forward's share of a micro-batch's compute. Bubbles and exposed
  // communication scale with it: an approximation (docs/rl.md), the backward's own
  // communication (gradient reduction) is not in a forward pass.
  const auto optimizer = est.breakdown_s.find("optimizer");
  const double without_optimizer = est.step_time_s - (optimizer == est.breakdown_s.end() ? 0 : optimizer->second);
  const double micro_batch = est.forward_s + est.backward_input_s + est.backward_weight_s + est.recompute_s;
  m.forward_share = micro_batch > 0 ? est.forward_s / micro_batch : 0;
  m.forward_s = mini_batches * without_optimizer * m.forward_share;
  m.weight_bytes_per_gpu = plan.memory.weights;
  m.memory_gb_per_gpu = plan.memory.total() / 1e9;
  return m;
}

WeightSync weight_sync(const RlScenario& s) {
  const ServingScenario& e = s.rollout;
  const InstanceLayout& l = e.decode.layout;
  const double shard = weight_bytes_per_gpu(e, l, e.decode.mtp_depth);  // one engine GPU's weights
  WeightSync w;
  if (s.placement == RlPlacement::disaggregated) {
    // Each engine GPU's shard comes from the trainers: one ring broadcast per shard, over one GPU
    // of every instance plus the trainer that holds it, the shards' broadcasts side by side on
    // their own NICs. A pipelined ring broadcast moves what an all-gather of the same size moves
    // on each link, so the all-gather prices it.
    w.kind = "broadcast";
    w.op = "all_gather";
    w.bytes = shard;
    w.group = static_cast<int>(s.rollout_gpus / l.gpus + 1);
    w.link = "scaleout";
    w.time_s = collective_cost({w.op, w.bytes, w.group, LinkClass::scaleout, 1, -1}, e.cluster, e.profile).time_s;
  } else {
    // Colocated (veRL's hybrid engine): the training shards are all-gathered inside each engine
    // instance into the engine layout; every GPU ends with its engine shard (the all-gather's
    // output), a 1/gpus share of which it already holds.
    w.kind = "reshard";
    w.op = "all_gather";
    w.group = l.gpus;
    w.bytes = shard;
    const GroupPlacement g = place_group(l.gpus, 1, s.training.cluster.scaleup_domain_gpus);
    w.link = to_string(g.link);
    w.time_s = l.gpus > 1 ? collective_cost({w.op, w.bytes, w.group, g.link, g.ranks_per_domain, -1},
                                            s.training.cluster, s.training.profile)
                                .time_s
                          : 0;
  }
  return w;
}

namespace {

// Where the step's time goes. Serial (colocated, or disaggregated without overlap): every phase in
// turn. One-step off-policy overlap: the longer side, then the sync; the shorter side is hidden.
void compose_step(const RlScenario& s, RlStep& st) {
  const double rollout_busy = st.rollout.phase_s - st.rollout.tail_idle_s;
  const double logprob = st.policy.forward_s + st.reference_forward_s + st.critic_forward_s;
  const double update = st.policy.update_s + st.critic_update_s + st.reference_refresh_s;
  const double reward = st.reward_cpu_s + st.reward_model_s;
  st.rollout_side_s = st.rollout.phase_s + st.reward_cpu_s;
  st.training_side_s = logprob + st.reward_model_s + update;
  const bool overlap = s.placement == RlPlacement::disaggregated && s.off_policy_overlap;
  if (!overlap) {
    st.critical_path = "serial";
    st.breakdown_s = {{"rollout", rollout_busy}, {"tail_idle", st.rollout.tail_idle_s},
                      {"logprob", logprob},      {"reward", reward},
                      {"update", update},        {"resync", st.sync.time_s}};
  } else if (st.rollout_side_s >= st.training_side_s) {
    st.critical_path = "rollout";
    st.breakdown_s = {{"rollout", rollout_busy},
                      {"tail_idle", st.rollout.tail_idle_s},
                      {"logprob", 0},
                      {"reward", st.reward_cpu_s},
                      {"update", 0},
                      {"resync", st.sync.time_s}};
  } else {
    st.critical_path = "training";
    st.breakdown_s = {{"rollout", 0},       {"tail_idle", 0},
                      {"logprob", logprob}, {"reward", st.reward_model_s},
                      {"update", update},   {"resync", st.sync.time_s}};
  }
  st.step_s = 0;
  for (const auto& [name, t] : st.breakdown_s) st.step_s += t;
  // Busy: the pool computes or moves weights; idle: it waits (tail, CPU reward, the other pool).
  if (s.placement == RlPlacement::colocated) {
    st.rollout_pool_busy_s = st.training_pool_busy_s =
        rollout_busy + logprob + st.reward_model_s + update + st.sync.time_s;
  } else {
    st.rollout_pool_busy_s = rollout_busy + st.sync.time_s;
    st.training_pool_busy_s = logprob + st.reward_model_s + update + st.sync.time_s;
  }
}

}  // namespace

RlStep price_rl_step(const RlScenario& s, const std::string& backend) {
  RlStep st;
  st.request = rollout_request(s);
  // A part that cannot run (does not fit, an impossible layout) is refused at the RL key naming it.
  st.rollout = within_part(s.file, "$.policy.rollout", [&] { return simulate_rollout(s.rollout, st.request); });
  st.policy =
      within_part(s.file, "$.policy.training", [&] { return model_passes(s.training, s.mini_batches, backend); });
  // The reference is the policy's architecture on the same layout: one more forward pass.
  if (s.reference) {
    st.reference_forward_s = st.policy.forward_s;
    // Refreshing it copies the policy's weights on each GPU (an HBM read and write), every
    // refresh_every_steps steps.
    if (s.reference_refresh_steps > 0)
      st.reference_refresh_s = 2 * st.policy.weight_bytes_per_gpu / s.training.gpu.hbm_bandwidth_bps() /
                               static_cast<double>(s.reference_refresh_steps);
  }
  if (s.critic) {
    const ModelPasses c =
        within_part(s.file, "$.algorithm.critic", [&] { return model_passes(*s.critic, s.mini_batches, backend); });
    st.critic_forward_s = c.forward_s;
    st.critic_update_s = c.update_s;
  }
  if (s.reward_model)
    st.reward_model_s = within_part(s.file, "$.reward.training", [&] {
                          return model_passes(*s.reward_model, s.mini_batches, backend);
                        }).forward_s;
  st.samples = static_cast<double>(s.samples_per_step());
  // A rule-based reward scores each sample on CPU workers in rounds, after generation.
  st.reward_cpu_s = std::ceil(st.samples / static_cast<double>(s.reward_cpu_workers)) * s.reward_cpu_s_per_sample;
  st.sync = weight_sync(s);
  st.tokens_generated = st.rollout.tokens_generated;
  compose_step(s, st);
  return st;
}

}  // namespace gwsim
