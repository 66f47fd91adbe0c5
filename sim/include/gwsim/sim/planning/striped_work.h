#pragma once
// The planners' parallel loop (`gwsim plan`'s layouts, `gwsim plan --serving`'s fleets): a list of
// independent work items split over MPI ranks (every `ranks`-th item from `rank`) and, within a
// process, over a pool of threads taking the next item as they finish one. Each worker keeps its
// own results; the caller merges them in worker order, which keeps the outcome independent of the
// thread count when the merge is order-independent.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace gwsim {

struct StripedWork {
  std::size_t items = 0;  // over all ranks
  int threads = 1;        // workers in this process (worker 0 runs on the calling thread)
  int rank = 0, ranks = 1;
  std::function<void(int worker, std::size_t item)> run_item;
  // Optional: called every ~200 ms from a reporter thread, and once at the end, with done() and total.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
  std::function<std::int64_t()> done;
  std::int64_t total = 0;
};

void run_striped(const StripedWork& work);

}  // namespace gwsim
