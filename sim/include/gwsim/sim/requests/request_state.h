#pragma once
// One request as the simulator tracks it: what it asked for, where it is, and its timestamps.
#include <cstdint>

#include "gwsim/sim/requests/request_stream.h"

namespace gwsim::requests {

struct Request {
  std::int64_t id = 0;  // index in arrival order
  RequestSpec spec;
  std::int64_t cached = 0;         // prompt tokens found in the prefix cache
  std::int64_t to_prefill = 0;     // tokens still to compute before decoding (prompt - cached, or a recompute)
  std::int64_t context = 0;        // tokens in the KV cache once prefilled
  std::int64_t generated = 0;      // output tokens delivered
  std::int64_t admitted_step = 0;  // decode step count of its instance when it joined the batch
  std::uint32_t epoch = 0;         // bumped on preemption: stale completion entries are ignored
  int prefill_instance = -1, decode_instance = -1;
  int preemptions = 0;
  double first_token_s = -1, finish_s = -1;
  double transfer_s = 0;  // KV transfer from prefill to decode, queueing on the NICs included
};

}  // namespace gwsim::requests
