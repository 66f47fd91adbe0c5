#pragma once
// One serving instance stepping as vLLM / SGLang do: continuous batching (sequences join and leave
// the batch at every step), a token budget per step shared by the decode tokens and a chunk of
// prompt tokens (chunked prefill mixed with decode, Sarathi-Serve), a paged KV cache with a fixed
// token capacity, and preemption by recompute (vLLM's default: the last sequence admitted is
// evicted and its context recomputed) when the cache cannot hold the next step.
//
// A decoding sequence adds `kept_per_step` tokens per step (1 plus the MTP drafts accepted, their
// expectation as in `gwsim serve`). Sequences are not visited step by step: each is stored with the
// step it joined at, the cache size is kept as a running sum, and finishes come off a heap ordered
// by the step they finish in, so a step costs O(log batch) however large the batch.
#include <cstdint>
#include <deque>
#include <queue>
#include <vector>

#include "gwsim/sim/requests/request_config.h"
#include "gwsim/sim/requests/request_state.h"
#include "gwsim/sim/requests/step_table.h"

namespace gwsim::requests {

enum class Role { mixed, prefill, decode };

struct StepOutcome {
  std::vector<std::int64_t> prefilled;  // requests whose prompt (or recompute) completed this step
  std::vector<std::int64_t> finished;   // requests that delivered their last token
};

class Instance {
 public:
  Instance(int index, Role role, const PoolSpec& pool, double kv_capacity_tokens, double kept_per_step,
           int query_tokens_per_sequence);

  void enqueue(std::int64_t id) { waiting_.push_back(id); }
  bool has_work() const { return !waiting_.empty() || !prefilling_.empty() || running_ > 0; }
  // Plans the next step at `now`: admits, preempts, picks the prefill chunk; returns its duration
  // (0 when there is nothing to run). `preempted` receives evicted requests.
  double begin_step(std::vector<Request>& requests, const StepTable& table, std::vector<std::int64_t>& preempted);
  // Applies the step planned by begin_step.
  StepOutcome end_step(std::vector<Request>& requests);
  // Joins a request whose prompt is in the cache (prefilled here) to the decode batch.
  void join_decode(Request& r);

  int index() const { return index_; }
  Role role() const { return role_; }
  bool busy = false;
  bool active = true;  // the router may send requests here
  std::int64_t load() const { return static_cast<std::int64_t>(waiting_.size() + prefilling_.size()) + running_; }
  std::int64_t waiting() const { return static_cast<std::int64_t>(waiting_.size()); }
  std::int64_t running() const { return running_; }
  double kv_used_tokens() const;
  double kv_capacity_tokens() const { return capacity_; }
  // What the last planned step ran.
  std::int64_t step_decoding = 0, step_prefill_tokens = 0;
  double step_mean_kv = 0;

 private:
  struct Finish {
    std::int64_t step, id;
    std::uint32_t epoch;
    bool operator>(const Finish& o) const { return step != o.step ? step > o.step : id > o.id; }
  };
  bool admit_cached(Request& r);
  void preempt_last(std::vector<Request>& requests, std::vector<std::int64_t>& preempted);
  void plan_chunk(std::vector<Request>& requests, std::int64_t budget);
  void leave_decode(const Request& r);

  int index_;
  Role role_;
  PoolSpec pool_;
  double capacity_, kept_;
  int query_tokens_;
  std::deque<std::int64_t> waiting_;
  std::vector<std::pair<std::int64_t, std::int64_t>> prefilling_;  // (request, tokens in this step's chunk)
  std::int64_t reserved_ = 0;                                      // KV tokens held by requests being prefilled
  std::int64_t steps_ = 0;                                         // decode steps run
  std::int64_t running_ = 0;
  double kv_base_ = 0;  // sum over running of (context at admission - admitted_step x kept)
  std::priority_queue<Finish, std::vector<Finish>, std::greater<>> finishes_;
  std::vector<std::pair<std::int64_t, std::uint32_t>> admitted_;  // admission order (LIFO eviction), lazily pruned
};

}  // namespace gwsim::requests
