#include "gwsim/sim/input/rl_scenario.h"

#include <fmt/format.h>

#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace {

constexpr const char* kRlSchema = "gwsim.rl/1";
// Prompt tokens one rollout GPU prefills per forward step when the rollout scenario has no
// "prefill" block. Assumption: the 16384 tokens per GPU of the DeepSeek serving scenario's prefill
// (itself an assumption there, scenarios/serving/deepseek-v3-serving-h800.json) halved, because a
// rollout engine interleaves prefill with decode (vLLM's chunked prefill budget is of this order).
constexpr double kDefaultPrefillTokensPerGpu = 8192;

// The --set strings split by target: "training.x=v", "rollout.x=v", the rest for the RL file.
struct SplitOverrides {
  std::vector<std::string> rl, training, rollout;
};

SplitOverrides split_overrides(const std::vector<std::string>& overrides) {
  SplitOverrides out;
  for (const auto& ov : overrides) {
    if (ov.rfind("training.", 0) == 0)
      out.training.push_back(ov.substr(9));
    else if (ov.rfind("rollout.", 0) == 0)
      out.rollout.push_back(ov.substr(8));
    else
      out.rl.push_back(ov);
  }
  return out;
}

// A part file named by the RL scenario ("training": "parts/x.json"), relative to its folder.
std::string part_path(const JsonObject& o, const std::string& key, const std::string& base) {
  const std::string name = o.string(key);
  const std::string path = resolve_path(name, base);
  require_readable_file(path, o.file(), o.path_of(key));
  return path;
}

// A training scenario resized to a pool of `gpus` GPUs: the cluster holds the pool, dp fills it
// and the global batch is one mini-batch of `sequences` sequences of `seq_len` tokens. The file
// gives the model, the chip, the model-parallel layout, precision and framework settings.
Scenario load_sized_training(const std::string& path, const std::vector<std::string>& overrides, std::int64_t gpus,
                             double sequences, std::int64_t seq_len, double run_tokens, const JsonObject& rl,
                             const std::string& pool_key, const std::string& part_key) {
  auto doc = within_part(rl.file(), rl.path_of(part_key), [&] { return parse_json_file(path); });
  if (!doc.is_object()) rl.fail(part_key, path + ": $: expected a training scenario object");
  within_part(rl.file(), rl.path_of(part_key), [&] {
    for (const auto& ov : overrides) apply_override(doc, ov, path);
    return 0;
  });
  auto& cluster = doc["cluster"];
  if (cluster.is_string()) cluster = nlohmann::json{{"file", cluster.get<std::string>()}};
  if (cluster.is_object()) cluster["gpus"] = gpus;
  auto& par = doc["parallelism"];
  if (!par.is_object()) rl.fail(part_key, path + ": $.parallelism: expected the layout of the update");
  auto degree = [&](const char* key) {
    return par.contains(key) && par[key].is_number_integer() ? par[key].get<std::int64_t>() : std::int64_t{1};
  };
  const std::int64_t model_parallel = degree("tp") * degree("pp") * degree("cp");
  if (model_parallel < 1 || gpus % model_parallel != 0)
    rl.fail(pool_key, fmt::format("expected a multiple of the update layout's tp x pp x cp = {} GPUs ({}), got {}",
                                  model_parallel, path, gpus));
  const std::int64_t dp = gpus / model_parallel;
  par["dp"] = dp;
  const std::int64_t per_round = dp * degree("micro_batch_seqs");
  auto& train = doc["training"];
  if (!train.is_object()) rl.fail(part_key, path + ": $.training: expected the update's training settings");
  // Whole micro-batches on every replica: the mini-batch rounded up (padding, as a trainer does).
  const double rounds = std::ceil(sequences / static_cast<double>(std::max<std::int64_t>(1, per_round)));
  train["global_batch_seqs"] = static_cast<std::int64_t>(rounds) * per_round;
  train["seq_len"] = seq_len;
  train["tokens"] = run_tokens;
  return within_part(rl.file(), rl.path_of(part_key), [&] { return parse_scenario(doc, path); });
}

OutputLengthDistribution parse_output_len(const JsonObject& o) {
  OutputLengthDistribution d;
  d.max_tokens = static_cast<double>(o.integer_in("max", 1, rl_limits::kMaxOutputTokens));
  const std::string kind = o.one_of("distribution", {"fixed", "lognormal", "histogram"});
  if (kind == "fixed") {
    d.kind = OutputLengthDistribution::Kind::fixed;
    d.tokens = o.positive("tokens");
    if (d.tokens > d.max_tokens) o.fail("tokens", fmt::format("expected at most max ({:g})", d.max_tokens));
  } else if (kind == "lognormal") {
    d.kind = OutputLengthDistribution::Kind::lognormal;
    d.mean = o.positive("mean");
    if (d.mean > d.max_tokens) o.fail("mean", fmt::format("expected at most max ({:g})", d.max_tokens));
    d.sigma = o.number("sigma");
    if (!(d.sigma >= 0 && d.sigma <= 4)) o.fail("sigma", "expected the log-length's standard deviation in [0, 4]");
  } else {
    d.kind = OutputLengthDistribution::Kind::histogram;
    const auto bins = o.array_of_objects("bins");
    if (bins.empty() || bins.size() > static_cast<std::size_t>(rl_limits::kMaxHistogramBins))
      o.fail("bins", fmt::format("expected 1 to {} bins", rl_limits::kMaxHistogramBins));
    double previous = 0, total = 0;
    for (const auto& b : bins) {
      OutputLengthDistribution::Bin bin{b.positive("upto_tokens"), b.number("weight")};
      if (!(bin.upto_tokens > previous) || bin.upto_tokens > d.max_tokens)
        b.fail("upto_tokens", fmt::format("expected more than the previous bin's {:g} and at most max ({:g})", previous,
                                          d.max_tokens));
      if (!(bin.weight >= 0)) b.fail("weight", "expected a non-negative weight");
      b.allow({"source", "notes"});
      b.reject_unknown_keys();
      previous = bin.upto_tokens;
      total += bin.weight;
      d.bins.push_back(bin);
    }
    if (!(total > 0)) o.fail("bins", "expected at least one bin with a positive weight");
  }
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return d;
}

void parse_algorithm(const JsonObject& a, RlScenario& s) {
  const std::string kind = a.one_of("kind", {"grpo", "ppo"});
  s.algorithm = kind == "grpo" ? RlAlgorithm::grpo : RlAlgorithm::ppo;
  if (s.algorithm == RlAlgorithm::grpo) {
    s.samples_per_prompt = a.int_in("group_size", 1, 4096);
    if (a.has("critic")) a.fail("critic", "GRPO has no critic: leave it out or use \"kind\": \"ppo\"");
  } else {
    s.samples_per_prompt = a.int_in_or("samples_per_prompt", 1, 4096, 1);
    a.allow({"critic"});  // read by the caller once the pool is known
    if (!a.has("critic")) a.fail("critic", "PPO trains a critic: expected its training scenario file");
    if (a.has("group_size")) a.fail("group_size", "PPO has no group: expected samples_per_prompt");
  }
  a.allow({"source", "notes"});
  a.reject_unknown_keys();
}

void parse_placement(const JsonObject& p, RlScenario& s) {
  const std::string kind = p.one_of("kind", {"colocated", "disaggregated"});
  if (kind == "colocated") {
    s.placement = RlPlacement::colocated;
    s.training_gpus = s.rollout_gpus = p.integer_in("gpus", 1, limits::kMaxGpus);
    for (const char* key : {"training_gpus", "rollout_gpus", "off_policy_overlap"})
      if (p.has(key)) p.fail(key, "a colocated placement has one pool: expected \"gpus\" only");
  } else {
    s.placement = RlPlacement::disaggregated;
    s.training_gpus = p.integer_in("training_gpus", 1, limits::kMaxGpus);
    s.rollout_gpus = p.integer_in("rollout_gpus", 1, limits::kMaxGpus);
    s.off_policy_overlap = p.boolean_or("off_policy_overlap", false);
    if (p.has("gpus"))
      p.fail("gpus", "a disaggregated placement has two pools: expected training_gpus and rollout_gpus");
  }
  p.allow({"source", "notes"});
  p.reject_unknown_keys();
}

void parse_reward(const JsonObject& r, RlScenario& s) {
  const std::string kind = r.one_of("kind", {"rule", "model"});
  s.reward = kind == "rule" ? RewardKind::rule : RewardKind::model;
  if (s.reward == RewardKind::rule) {
    s.reward_cpu_s_per_sample = r.number("cpu_s_per_sample");
    if (!(s.reward_cpu_s_per_sample >= 0 && s.reward_cpu_s_per_sample <= 86400))
      r.fail("cpu_s_per_sample", "expected 0 to 86400 CPU seconds per sample");
    s.reward_cpu_workers = r.integer_in_or("cpu_workers", 1, limits::kMaxGpus * 256, 1);
    if (r.has("training")) r.fail("training", "a rule-based reward runs on CPUs: leave it out or use \"model\"");
  } else {
    r.allow({"training"});  // read by the caller once the pool is known
    if (!r.has("training")) r.fail("training", "expected the reward model's training scenario file (its layout)");
  }
  r.allow({"source", "notes"});
  r.reject_unknown_keys();
}

// The rollout engines: the serving scenario with the rollout's prompt length, and a prefill block
// on the decode layout when it has none.
ServingScenario load_rollout(const std::string& path, const std::vector<std::string>& overrides, const RlScenario& s,
                             const JsonObject& o) {
  ServingScenario r =
      within_part(o.file(), o.path_of("policy.rollout"), [&] { return load_serving_scenario(path, overrides); });
  if (s.rollout_gpus % r.decode.layout.gpus != 0)
    o.fail("placement", fmt::format("expected rollout GPUs ({}) to be a multiple of the decode instance's {} GPUs ({})",
                                    s.rollout_gpus, r.decode.layout.gpus, path));
  if (s.rollout_gpus / r.decode.layout.gpus > rl_limits::kMaxRolloutInstances)
    o.fail("placement", fmt::format("expected at most {} rollout instances, got {}", rl_limits::kMaxRolloutInstances,
                                    s.rollout_gpus / r.decode.layout.gpus));
  if (!r.prefill) {
    PrefillSettings p;
    p.layout = r.decode.layout;
    p.tokens_per_gpu = kDefaultPrefillTokensPerGpu;
    r.prefill = p;
  }
  r.prefill->prompt_len = s.prompt_len;
  return r;
}

// The RL file's own keys, then the parts it names, sized to the step's batch and the pools.
RlScenario parse_rl_document(const nlohmann::json& doc, const std::string& file, const SplitOverrides& ov) {
  RlScenario s;
  s.file = file;
  JsonObject o(doc, file, "$");
  o.require_schema(kRlSchema);
  s.name = o.string("name");
  s.description = o.string_or("description", "");
  o.allow({"notes", "sources"});
  const std::string base = directory_of(file);
  parse_algorithm(o.object("algorithm"), s);
  parse_placement(o.object("placement"), s);
  parse_reward(o.object("reward"), s);
  s.prompts_per_step = o.integer_in("prompts_per_step", 1, rl_limits::kMaxSamplesPerStep);
  if (s.samples_per_step() > rl_limits::kMaxSamplesPerStep)
    o.fail("prompts_per_step", fmt::format("{} prompts x {} samples: expected at most {} samples per step",
                                           s.prompts_per_step, s.samples_per_prompt, rl_limits::kMaxSamplesPerStep));
  s.prompt_len = static_cast<double>(o.integer_in("prompt_len", 1, rl_limits::kMaxOutputTokens));
  s.output_len = parse_output_len(o.object("output_len"));
  s.mini_batches = o.int_in_or("mini_batches", 1, rl_limits::kMaxMiniBatches, 1);
  if (s.mini_batches > s.samples_per_step())
    o.fail("mini_batches", fmt::format("expected at most the step's {} samples", s.samples_per_step()));
  s.steps = o.integer_in("steps", 1, rl_limits::kMaxSteps);
  s.seed = static_cast<std::uint64_t>(o.integer_in_or("seed", 0, std::int64_t{1} << 53, 1));
  if (o.has("reference")) {
    const JsonObject r = o.object("reference");
    s.reference = r.boolean_or("enabled", true);
    s.reference_refresh_steps = r.integer_in_or("refresh_every_steps", 0, rl_limits::kMaxSteps, 0);
    r.allow({"source", "notes"});
    r.reject_unknown_keys();
  }
  if (o.has("partial_rollout")) {
    const JsonObject p = o.object("partial_rollout");
    s.partial_rollout_cutoff_tokens =
        static_cast<double>(p.integer_in("cutoff_tokens", 1, rl_limits::kMaxOutputTokens));
    p.allow({"source", "notes"});
    p.reject_unknown_keys();
  }
  s.output_lengths = sample_output_lengths(s.output_len, s.samples_per_step(), s.seed);
  if (s.partial_rollout_cutoff_tokens > 0) {
    // Each sample is generated in ceil(length / cutoff) segments: bounded, or a 1-token cutoff on
    // long outputs would ask for billions of them.
    double segments = 0;
    for (const double l : s.output_lengths) segments += std::ceil(l / s.partial_rollout_cutoff_tokens);
    if (segments > static_cast<double>(rl_limits::kMaxSegmentsPerStep))
      o.fail("partial_rollout.cutoff_tokens",
             fmt::format("{:.0f} segments per step: expected a cutoff that gives at most {}", segments,
                         rl_limits::kMaxSegmentsPerStep));
  }

  // One mini-batch of the update: its samples, one per sequence, at the step's mean sample length.
  double generated = 0;
  for (double l : s.output_lengths) generated += l;
  const double samples = static_cast<double>(s.samples_per_step());
  const auto seq_len = static_cast<std::int64_t>(std::llround(s.prompt_len + generated / samples));
  const double mini_batch_seqs = samples / s.mini_batches;
  const double run_tokens = (samples * s.prompt_len + generated) * static_cast<double>(s.steps);
  const JsonObject policy = o.object("policy");
  const std::string pool_key = s.placement == RlPlacement::colocated ? "placement.gpus" : "placement.training_gpus";
  s.training = load_sized_training(part_path(policy, "training", base), ov.training, s.training_gpus, mini_batch_seqs,
                                   seq_len, run_tokens, o, pool_key, "policy.training");
  s.rollout = load_rollout(part_path(policy, "rollout", base), ov.rollout, s, o);
  policy.allow({"source", "notes"});
  policy.reject_unknown_keys();
  if (s.rollout.model.name != s.training.model.name)
    o.fail("policy.rollout", fmt::format("the rollout engines serve {} but the update trains {}: expected one policy",
                                         s.rollout.model.name, s.training.model.name));
  if (s.placement == RlPlacement::colocated && s.rollout.gpu.name != s.training.gpu.name)
    o.fail("policy.rollout", fmt::format("colocated rollout and update share GPUs: expected {} in both, got {}",
                                         s.training.gpu.name, s.rollout.gpu.name));
  const JsonObject algorithm = o.object("algorithm");
  if (algorithm.has("critic"))
    s.critic = load_sized_training(part_path(algorithm, "critic", base), {}, s.training_gpus, mini_batch_seqs, seq_len,
                                   run_tokens, o, pool_key, "algorithm.critic");
  const JsonObject reward = o.object("reward");
  if (reward.has("training"))
    s.reward_model = load_sized_training(part_path(reward, "training", base), {}, s.training_gpus, mini_batch_seqs,
                                         seq_len, run_tokens, o, pool_key, "reward.training");
  o.reject_unknown_keys();
  s.resolved = without_nulls(doc);
  return s;
}

}  // namespace

RlScenario load_rl_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected an RL scenario object");
  const SplitOverrides split = split_overrides(overrides);
  for (const auto& ov : split.rl) apply_override(doc, ov, path);
  return parse_rl_document(doc, path, split);
}

}  // namespace gwsim
