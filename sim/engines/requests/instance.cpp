#include "gwsim/sim/requests/instance.h"

#include <algorithm>
#include <cmath>

namespace gwsim::requests {

Instance::Instance(int index, Role role, const PoolSpec& pool, double kv_capacity_tokens, double kept_per_step,
                   int query_tokens_per_sequence)
    : index_(index),
      role_(role),
      pool_(pool),
      capacity_(kv_capacity_tokens),
      kept_(kept_per_step),
      query_tokens_(query_tokens_per_sequence) {}

// Cache in use: the decoding sequences' tokens, up to one partly filled page each (paged
// allocation rounds every sequence up to whole blocks), and what prefills have reserved.
double Instance::kv_used_tokens() const {
  return kv_base_ + static_cast<double>(running_) * (kept_ * static_cast<double>(steps_) + pool_.block_tokens) +
         static_cast<double>(reserved_);
}

void Instance::join_decode(Request& r) {
  r.admitted_step = steps_;
  kv_base_ += static_cast<double>(r.context) - static_cast<double>(steps_) * kept_;
  ++running_;
  const double left = static_cast<double>(r.spec.output - r.generated);
  // The step in which its last token is kept (1e-9: a whole number of steps is not rounded up).
  const auto steps_needed = static_cast<std::int64_t>(std::ceil(left / kept_ - 1e-9));
  finishes_.push({steps_ + std::max<std::int64_t>(1, steps_needed), r.id, r.epoch});
  admitted_.push_back({r.id, r.epoch});
  r.decode_instance = index_;
}

void Instance::leave_decode(const Request& r) {
  kv_base_ -= static_cast<double>(r.context) - static_cast<double>(r.admitted_step) * kept_;
  --running_;
}

bool Instance::admit_cached(Request& r) {
  const double need = static_cast<double>(r.context) + pool_.block_tokens + kept_;
  if (running_ + static_cast<std::int64_t>(prefilling_.size()) >= pool_.max_batch) return false;
  if (kv_used_tokens() + static_cast<double>(running_) * kept_ + need > capacity_) return false;
  return true;
}

void Instance::preempt_last(std::vector<Request>& requests, std::vector<std::int64_t>& preempted) {
  while (!admitted_.empty()) {
    const auto [id, epoch] = admitted_.back();
    admitted_.pop_back();
    Request& r = requests[static_cast<std::size_t>(id)];
    if (r.epoch != epoch || r.finish_s >= 0 || r.decode_instance != index_) continue;
    // Tokens it produced so far stay produced; its whole context is recomputed but the cached prefix.
    const auto produced = static_cast<std::int64_t>(std::floor(static_cast<double>(steps_ - r.admitted_step) * kept_));
    leave_decode(r);
    r.generated = std::min(r.spec.output - 1, r.generated + produced);
    r.context = r.spec.prompt + r.generated;
    r.to_prefill = r.context - r.cached;
    ++r.epoch;
    ++r.preemptions;
    waiting_.push_front(id);
    preempted.push_back(id);
    return;
  }
}

// The prompt tokens of this step: first the prefills under way, then new requests in arrival order
// (a request at the head that does not fit stops the others: FCFS, as vLLM schedules).
void Instance::plan_chunk(std::vector<Request>& requests, std::int64_t budget) {
  for (auto& [id, chunk] : prefilling_) {
    chunk = std::min(budget, requests[static_cast<std::size_t>(id)].to_prefill);
    budget -= chunk;
  }
  while (!waiting_.empty()) {
    Request& r = requests[static_cast<std::size_t>(waiting_.front())];
    if (r.to_prefill == 0) {  // its cache came from a prefill instance: it only joins the batch
      if (!admit_cached(r)) return;
      waiting_.pop_front();
      join_decode(r);
      continue;
    }
    if (budget <= 0 || running_ + static_cast<std::int64_t>(prefilling_.size()) >= pool_.max_batch) return;
    const std::int64_t hold = r.context + pool_.block_tokens;
    if (kv_used_tokens() + static_cast<double>(running_) * kept_ + static_cast<double>(hold) > capacity_) return;
    reserved_ += hold;
    const std::int64_t chunk = std::min(budget, r.to_prefill);
    budget -= chunk;
    prefilling_.push_back({r.id, chunk});
    waiting_.pop_front();
  }
}

double Instance::begin_step(std::vector<Request>& requests, const StepTable& table,
                            std::vector<std::int64_t>& preempted) {
  // The batch grows by kept_ tokens per sequence this step: evict (recompute) until that fits.
  while (running_ > 0 && kv_used_tokens() + static_cast<double>(running_) * kept_ > capacity_)
    preempt_last(requests, preempted);
  if (admitted_.size() > 2 * static_cast<std::size_t>(running_) + 64) {  // drop stale entries, keep the order
    std::erase_if(admitted_, [&](const auto& e) {
      const Request& r = requests[static_cast<std::size_t>(e.first)];
      return r.epoch != e.second || r.finish_s >= 0 || r.decode_instance != index_;
    });
  }
  const std::int64_t decode_tokens = role_ == Role::prefill ? 0 : running_ * query_tokens_;
  plan_chunk(requests, pool_.max_tokens_per_step - decode_tokens);
  step_decoding = role_ == Role::prefill ? 0 : running_;
  step_prefill_tokens = 0;
  double weighted_context = 0;
  for (const auto& [id, chunk] : prefilling_) {
    const Request& r = requests[static_cast<std::size_t>(id)];
    step_prefill_tokens += chunk;
    // The chunk attends over what is cached before it and itself (its end position).
    weighted_context += static_cast<double>(chunk) * static_cast<double>(r.context - r.to_prefill + chunk);
  }
  double duration = 0;
  step_mean_kv = 0;
  if (step_decoding > 0) {
    step_mean_kv = (kv_base_ + static_cast<double>(running_) * kept_ * static_cast<double>(steps_)) /
                   static_cast<double>(running_);
    duration += table.decode_s(static_cast<double>(step_decoding), step_mean_kv);
  }
  // A mixed step is priced as its decode part plus its prefill part (an assumption: the weights
  // are streamed once per part, so it overstates a mixed step by one weight read).
  if (step_prefill_tokens > 0)
    duration += table.prefill_s(static_cast<double>(step_prefill_tokens),
                                weighted_context / static_cast<double>(step_prefill_tokens));
  return duration;
}

StepOutcome Instance::end_step(std::vector<Request>& requests) {
  StepOutcome out;
  if (step_decoding > 0) ++steps_;
  while (!finishes_.empty() && finishes_.top().step <= steps_) {
    const Finish f = finishes_.top();
    finishes_.pop();
    Request& r = requests[static_cast<std::size_t>(f.id)];
    if (r.epoch != f.epoch || r.finish_s >= 0 || r.decode_instance != index_) continue;
    leave_decode(r);
    r.generated = r.spec.output;
    out.finished.push_back(f.id);
  }
  std::size_t kept = 0;
  for (const auto& [id, chunk] : prefilling_) {
    Request& r = requests[static_cast<std::size_t>(id)];
    r.to_prefill -= chunk;
    if (r.to_prefill > 0) {
      prefilling_[kept++] = {id, 0};
      continue;
    }
    reserved_ -= r.context + pool_.block_tokens;
    out.prefilled.push_back(id);
  }
  prefilling_.resize(kept);
  step_decoding = 0;
  step_prefill_tokens = 0;
  return out;
}

}  // namespace gwsim::requests
