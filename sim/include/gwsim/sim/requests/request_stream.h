#pragma once
// The requests a run serves, in arrival order: arrival times (Poisson, Gamma-bursty, a
// piecewise-constant rate profile, or a CSV trace) and prompt / output lengths drawn from their
// distributions. Bounded by the config's duration and max_requests.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gwsim/sim/requests/random.h"
#include "gwsim/sim/requests/request_config.h"

namespace gwsim::requests {

struct RequestSpec {
  double arrival_s = 0;
  std::int64_t prompt = 1, output = 1;
  std::int64_t session = -1;  // -1: none
};

// Draws one length from a LengthSpec; clamped to [1, max].
std::int64_t draw_length(const LengthSpec& spec, Rng& rng);
// The mean of the distribution as drawn (the cap included), or of its `power`-th power, by
// quadrature of its quantiles.
double mean_length(const LengthSpec& spec, int power = 1);
// The lengths a steady-state capacity is priced at for a mix of independent prompts P and outputs O
// (docs/serving.md, "Autoscaling"), from their first two moments: the mean cached tokens a decoding
// sequence holds per output token, E[P] + E[O^2] / (2 E[O]); the context a prompt token attends
// over, token-weighted, E[P^2] / E[P].
inline double capacity_decode_kv(double prompt, double output, double output_sq) {
  return prompt + output_sq / (2 * output);
}
inline double capacity_prefill_context(double prompt, double prompt_sq) { return prompt_sq / prompt; }

// A CSV trace (docs/serving.md, "Traces"): header `timestamp_s,prompt_tokens,output_tokens` with an
// optional fourth column `session_id`; rows in non-decreasing time. At most `max_rows` are read.
std::vector<RequestSpec> read_trace_csv(const std::string& path, std::int64_t max_rows, double time_scale);

// The rate the profile asks for at time t (requests/s).
double rate_at(const ArrivalSpec& spec, double t);

class RequestStream {
 public:
  RequestStream(const RequestSimConfig& config, std::vector<RequestSpec> trace);
  std::optional<RequestSpec> next();
  std::int64_t emitted() const { return emitted_; }

 private:
  double next_arrival_time();
  const RequestSimConfig& c_;
  std::vector<RequestSpec> trace_;
  Rng rng_;
  double op_time_ = 0;  // arrivals in operational time (integrated rate), converted to wall time
  std::size_t slot_ = 0;
  double slot_start_t_ = 0, slot_start_op_ = 0;
  std::int64_t emitted_ = 0;
};

}  // namespace gwsim::requests
