#pragma once
// One RL step priced from the engines (docs/rl.md): the rollout phase (rollout_phase.h), the
// forward-only log-prob passes and the updates (the training step backends, step_backend.h), the
// reward, and the weight sync from trainers to engines (the collective model, collective_cost.h).
#include <string>
#include <utility>
#include <vector>

#include "gwsim/sim/input/rl_scenario.h"
#include "gwsim/sim/planning/rl/rollout_phase.h"

namespace gwsim {

// One model on the training layout: a forward-only pass and a full update over the step's tokens.
struct ModelPasses {
  double forward_s = 0;      // every mini-batch's forward share of the training step
  double update_s = 0;       // mini_batches x the training step (forward, backward, optimizer)
  double step_s = 0;         // one mini-batch's training step
  double forward_share = 0;  // forward / (forward + backward + recompute) per micro-batch
  double weight_bytes_per_gpu = 0;
  double memory_gb_per_gpu = 0;
};

// The whole model in the engines' precision, moved to every engine GPU (disaggregated: a broadcast
// of each engine shard from the trainers; colocated: the all-gather that reshards the training
// layout into the engine layout).
struct WeightSync {
  std::string kind;  // broadcast | reshard
  std::string op;    // the collective that prices it
  double bytes = 0;  // its nccl-tests size
  int group = 1;
  std::string link;
  double time_s = 0;
};

struct RlStep {
  RolloutRequest request;
  RolloutPhase rollout;
  ModelPasses policy;
  double reference_forward_s = 0, critic_forward_s = 0, critic_update_s = 0, reward_model_s = 0, reward_cpu_s = 0;
  double reference_refresh_s = 0;  // per step: the copy into the reference, every refresh_every_steps steps
  WeightSync sync;
  // The two sides of a step: generation (+ CPU reward) and the training pool's passes.
  double rollout_side_s = 0, training_side_s = 0;
  double step_s = 0;
  std::string critical_path;  // serial | rollout | training
  std::vector<std::pair<std::string, double>>
      breakdown_s;  // rollout, tail_idle, logprob, reward, update, resync: sums to step_s
  double rollout_pool_busy_s = 0, training_pool_busy_s = 0;
  double tokens_generated = 0, samples = 0;
};

// The rollout's samples for the placement: with a partial-rollout cutoff, every sample is cut into
// segments of at most cutoff tokens and, in the steady state, one step generates all segments of
// one step's worth of samples (the later ones resumed from earlier steps).
RolloutRequest rollout_request(const RlScenario& s);

// The training backend's step for a sized training scenario, split into forward-only and update.
ModelPasses model_passes(const Scenario& sc, int mini_batches, const std::string& backend);
WeightSync weight_sync(const RlScenario& s);
RlStep price_rl_step(const RlScenario& s, const std::string& backend = "analytical");

}  // namespace gwsim
