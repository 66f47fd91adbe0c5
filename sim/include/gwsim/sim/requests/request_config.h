#pragma once
// The "requests" section of a serving scenario (docs/serving.md, "Request-level simulation";
// docs/formats.md): how requests arrive, how long their prompts and outputs are, what the prefix
// cache saves, the engine's limits, the pools, the routing, the SLOs and the run's bounds.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gwsim::requests {

enum class ArrivalKind { poisson, gamma, trace };

// Requests per second over time: a base rate times a piecewise-constant profile (equal slots over
// one period: 24 slots of an hour for a diurnal day). Empty profile: the base rate throughout.
struct ArrivalSpec {
  ArrivalKind kind = ArrivalKind::poisson;
  double rate_per_s = 0;
  double cv = 1;                // gamma: coefficient of variation of the inter-arrival gaps
  std::vector<double> profile;  // multipliers of rate_per_s, one per slot
  double period_s = 86400;      // what the profile's slots divide
  std::string trace_file;       // trace: CSV (docs/serving.md, "Traces")
  double trace_time_scale = 1;  // trace timestamps are multiplied by this (compress or stretch)
};

enum class LengthKind { fixed, lognormal, histogram };

// Token counts of prompts or outputs, drawn per request and clamped to [1, max].
struct LengthSpec {
  LengthKind kind = LengthKind::fixed;
  double value = 0;                    // fixed
  double mu = 0, sigma = 0;            // lognormal: of log(tokens)
  std::vector<double> bin_edges;       // histogram: n+1 increasing edges, uniform inside a bin
  std::vector<double> bin_weights;     // n weights
  std::vector<double> bin_cumulative;  // running sums of the weights (filled by the reader), for a binary search
  std::int64_t max = 0;
  double mean_hint = 0;  // the distribution's mean before the cap (for sizing)
};

enum class Routing { round_robin, least_loaded, prefix_affinity };

// One pool of identical instances and the engine limits each of its instances runs with.
struct PoolSpec {
  int instances = 1;
  std::int64_t max_batch = 256;             // sequences decoding at once per instance
  std::int64_t max_tokens_per_step = 8192;  // tokens one step runs (decode tokens + prefill chunk)
  int block_tokens = 16;                    // KV page (vLLM's default block size)
};

// Instances sized per interval to the arrival rate (docs/serving.md, "Autoscaling").
struct AutoscaleSpec {
  double interval_s = 3600;
  double target_utilization = 1;  // load per instance / its capacity at the SLO
};

struct RequestSimConfig {
  ArrivalSpec arrivals;
  LengthSpec prompt, output;
  double prefix_hit_ratio = 0;  // share of each prompt found in the prefix cache (no sessions)
  std::int64_t sessions =
      0;  // >0: requests belong to this many sessions; a session's later turns hit its earlier context
  bool disaggregated = false;
  PoolSpec prefill, decode;  // prefill is unused when not disaggregated (the decode pool runs both)
  Routing routing = Routing::least_loaded;
  std::optional<AutoscaleSpec> autoscale;
  double ttft_slo_s = 0, tpot_slo_s = 0;  // 0: no limit
  double duration_s = 0;                  // arrivals stop after this; the run drains what arrived
  std::int64_t max_requests = 0;
  std::uint64_t seed = 1;
  double sample_interval_s = 1;  // the time series' spacing
};

}  // namespace gwsim::requests
