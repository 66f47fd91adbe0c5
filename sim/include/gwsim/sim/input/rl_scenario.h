#pragma once
// An RL post-training scenario (schema "gwsim.rl/1", scenarios/rl/*.json; docs/rl.md): the policy's
// update layout (a training scenario, "gwsim.scenario/1") and rollout engines (a serving scenario,
// "gwsim.serving/1"), the optional reference, critic and reward models, the algorithm (GRPO or PPO),
// the batch and output-length distribution of one RL step, and the placement of rollout and
// training (colocated or disaggregated). planning/rl/ prices it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/input/serving_scenario.h"

namespace gwsim {

// Bounds on one RL scenario's work (input_limits.h style): the rollout simulation is
// O(samples log samples + max_tokens / chunk) decode-step evaluations per instance.
namespace rl_limits {
inline constexpr std::int64_t kMaxSamplesPerStep = 1 << 20;  // prompts x samples per prompt
inline constexpr std::int64_t kMaxOutputTokens = 1 << 20;    // one sample's output
inline constexpr std::int64_t kMaxSteps = 10'000'000;        // RL steps of a run
inline constexpr int kMaxMiniBatches = 4096;
inline constexpr int kMaxHistogramBins = 1024;
inline constexpr std::int64_t kMaxRolloutInstances = 4096;    // engines simulated one by one
inline constexpr std::int64_t kMaxSegmentsPerStep = 1 << 22;  // partial-rollout segments of one step
}  // namespace rl_limits

struct OutputLengthDistribution {
  enum class Kind { fixed, lognormal, histogram };
  Kind kind = Kind::fixed;
  double tokens = 0;           // fixed
  double mean = 0, sigma = 0;  // lognormal: mean of the (untruncated) distribution, sigma of log-length
  struct Bin {
    double upto_tokens = 0;  // the bin holds lengths in (previous upto, upto]
    double weight = 0;
  };
  std::vector<Bin> bins;  // histogram
  double max_tokens = 0;  // generation stops here (lengths above it are truncated to it)
};

enum class RlAlgorithm { grpo, ppo };
enum class RlPlacement { colocated, disaggregated };
enum class RewardKind { rule, model };

struct RlScenario {
  std::string file, name, description;
  Scenario training;                         // the policy update, sized to the training pool (dp, global batch)
  ServingScenario rollout;                   // the rollout engines (decode layout; optional prefill block)
  bool reference = false;                    // a frozen reference model's log-prob pass (KL penalty)
  std::int64_t reference_refresh_steps = 0;  // 0: never refreshed
  RlAlgorithm algorithm = RlAlgorithm::grpo;
  int samples_per_prompt = 1;      // GRPO: the group size G
  std::optional<Scenario> critic;  // PPO: the value model, trained and run forward
  RewardKind reward = RewardKind::rule;
  double reward_cpu_s_per_sample = 0;    // rule-based reward: CPU seconds per sample
  std::int64_t reward_cpu_workers = 1;   // samples scored at once
  std::optional<Scenario> reward_model;  // model-based reward: its forward pass
  std::int64_t prompts_per_step = 0;
  double prompt_len = 0;
  OutputLengthDistribution output_len;
  int mini_batches = 1;    // policy updates per rollout
  std::int64_t steps = 1;  // RL steps (rollouts) of the run
  std::uint64_t seed = 1;
  RlPlacement placement = RlPlacement::colocated;
  std::int64_t training_gpus = 0;            // colocated: every GPU of the pool
  std::int64_t rollout_gpus = 0;             // colocated: the same GPUs
  bool off_policy_overlap = false;           // disaggregated: rollout of step n+1 runs beside update n
  double partial_rollout_cutoff_tokens = 0;  // 0: every sample finishes within its step
  std::vector<double> output_lengths;        // the sampled output length of every sample of a step
  nlohmann::json resolved;
  std::int64_t samples_per_step() const { return prompts_per_step * samples_per_prompt; }
  std::int64_t total_gpus() const {
    return placement == RlPlacement::colocated ? training_gpus : training_gpus + rollout_gpus;
  }
};

// Runs `work` on a part file named by the RL file at `json_path` (e.g. "$.policy.training"): an
// input error in the part is refused with the RL file and that path in front, so that the one line
// says both which RL key led there and what the part file holds.
template <class Work>
auto within_part(const std::string& rl_file, const std::string& json_path, Work&& work) {
  try {
    return work();
  } catch (const InfeasibleError& e) {
    throw InfeasibleError(rl_file, json_path, e.what());
  } catch (const InputError& e) {
    throw InputError(rl_file, json_path, e.what());
  }
}

// `overrides` are "path.to.key=value" strings as for `gwsim run --set`: "training.<key>=v" goes
// to the policy's training scenario, "rollout.<key>=v" to its serving scenario, others to the RL
// file itself (e.g. "placement.rollout_gpus=256", "output_len.max=65536").
RlScenario load_rl_scenario(const std::string& path, const std::vector<std::string>& overrides = {});

// The output lengths of one step's samples: `samples` draws from `d` with a seeded, portable
// generator (std::mt19937_64 and our own transforms), each in [1, d.max_tokens].
std::vector<double> sample_output_lengths(const OutputLengthDistribution& d, std::int64_t samples, std::uint64_t seed);

}  // namespace gwsim
