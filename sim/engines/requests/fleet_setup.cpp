// The fleet a request simulation runs: instance counts and KV capacities from the scenario's
// layouts and HBM, the tokens a decode step keeps, and the autoscaling plan.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "gwsim/common/input_error.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/requests/request_stream.h"
#include "gwsim/workloads/training_plan.h"
#include "simulation_state.h"

namespace gwsim::requests {

double max_context_tokens(const RequestSimConfig& c, const std::vector<RequestSpec>& trace) {
  if (c.arrivals.kind != ArrivalKind::trace) return static_cast<double>(c.prompt.max + c.output.max);
  std::int64_t longest = 0;
  for (const auto& r : trace) longest = std::max(longest, r.prompt + r.output);
  return static_cast<double>(longest);
}

namespace {

// KV tokens one instance holds: the HBM the server may fill, less the weights, over the cache one
// token takes (serving.h's decode memory model), times the instance's GPUs.
double kv_capacity_tokens(const ServingScenario& s, const InstanceLayout& layout, int mtp_modules,
                          const std::string& block) {
  const double usable = s.gpu.hbm_capacity_gb.value * 1e9 * s.decode.memory_utilization;
  const double weights = weight_bytes_per_gpu(s, layout, mtp_modules);
  if (weights >= usable)
    throw InfeasibleError(
        s.file, "$." + block + ".gpus",
        fmt::format("the weights take {:.1f} GB per GPU, more than the {:.1f} GB usable", weights / 1e9, usable / 1e9));
  return std::floor((usable - weights) / decode_kv_bytes_per_token(s)) * layout.gpus;
}

// The mean arrival rate over [t0, t1) (the profile is piecewise constant: 256 midpoints are exact
// when the interval holds whole slots, and close otherwise).
double mean_rate(const ArrivalSpec& a, double t0, double t1) {
  constexpr int kPoints = 256;
  double sum = 0;
  for (int i = 0; i < kPoints; ++i) sum += rate_at(a, t0 + (i + 0.5) / kPoints * (t1 - t0));
  return sum / kPoints;
}

// Autoscaling (docs/serving.md, "Autoscaling"): per interval, the instances the interval's mean
// arrival rate takes at one instance's capacity at the SLO, over a target utilisation. That
// capacity is gwsim serve's steady state at the request mix's lengths: decode at the batch that
// meets the TPOT limit and memory at the mix's mean KV length per output token, E[P] + E[O^2] /
// (2 E[O]) for independent prompt P and output O; prefill of the scenario's chunk attending over
// the token-weighted mean prompt, E[P^2] / E[P] (where the simulator's chunks attend).
void plan_autoscale(const ServingScenario& s, FleetSetup& f) {
  const RequestSimConfig& c = *s.requests;
  const AutoscaleSpec& a = *c.autoscale;
  ServingScenario mix = s;
  mix.requests.reset();
  const double prompt = mean_length(c.prompt), output = mean_length(c.output);
  mix.decode.kv_len = capacity_decode_kv(prompt, output, mean_length(c.output, 2));
  mix.prefill->prompt_len = capacity_prefill_context(prompt, mean_length(c.prompt, 2));
  const nlohmann::json steady = run_serving(mix);
  f.decode_capacity_tokens_per_s = steady["decode"]["output_tokens_per_s_per_instance"].get<double>();
  f.prefill_capacity_tokens_per_s = steady["prefill"]["input_tokens_per_s_per_instance"].get<double>();
  f.capacity_kv_len = mix.decode.kv_len;
  f.capacity_prompt_len = mix.prefill->prompt_len;
  const double out_tokens = output;
  const double computed_prompt = prompt * (1 - c.prefix_hit_ratio);
  f.autoscale_interval_s = a.interval_s;
  const auto intervals = static_cast<std::size_t>(std::ceil(c.duration_s / a.interval_s));
  for (std::size_t k = 0; k < intervals; ++k) {
    const double rate = mean_rate(c.arrivals, static_cast<double>(k) * a.interval_s,
                                  std::min(c.duration_s, static_cast<double>(k + 1) * a.interval_s));
    const double decode_need = rate * out_tokens / f.decode_capacity_tokens_per_s / a.target_utilization;
    const double prefill_need = rate * computed_prompt / f.prefill_capacity_tokens_per_s / a.target_utilization;
    auto clamp = [](double need, int most) { return std::clamp(static_cast<int>(std::ceil(need)), 1, most); };
    if (f.disaggregated) {
      f.decode_active.push_back(clamp(decode_need, f.decode_instances));
      f.prefill_active.push_back(clamp(prefill_need, f.prefill_instances));
    } else {
      f.decode_active.push_back(clamp(decode_need + prefill_need, f.decode_instances));
    }
  }
}

}  // namespace

FleetSetup plan_fleet(const ServingScenario& s) {
  const RequestSimConfig& c = *s.requests;
  FleetSetup f;
  f.disaggregated = c.disaggregated;
  f.decode_instances = c.decode.instances;
  f.decode_gpus_per_instance = s.decode.layout.gpus;
  f.decode_kv_capacity_tokens = kv_capacity_tokens(s, s.decode.layout, s.decode.mtp_depth, "decode");
  if (f.disaggregated) {
    f.prefill_instances = c.prefill.instances;
    f.prefill_gpus_per_instance = s.prefill->layout.gpus;
    f.prefill_kv_capacity_tokens = kv_capacity_tokens(s, s.prefill->layout, 0, "prefill");
  }
  f.kept_per_step = decode_step_at(s, 1, s.decode.kv_len).tokens_per_step_per_sequence;
  // One full copy of a sequence's cache per token (every layer and MTP module), what a transfer moves.
  const auto& att = s.model.attention;
  f.kv_bytes_per_token = static_cast<double>(s.model.layers + s.decode.mtp_depth) *
                         static_cast<double>(att.kv_cache_elems_per_token()) *
                         kv_cache_bytes_per_elem(s.decode.kv_cache);
  if (c.autoscale) plan_autoscale(s, f);
  return f;
}

}  // namespace gwsim::requests
