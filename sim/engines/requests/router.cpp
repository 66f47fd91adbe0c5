#include "gwsim/sim/requests/router.h"

#include "gwsim/common/hash.h"

namespace gwsim::requests {

int Router::choose(const std::vector<Instance*>& pool, std::int64_t session) {
  std::vector<int> active;
  active.reserve(pool.size());
  for (const Instance* i : pool)
    if (i->active) active.push_back(i->index());
  if (routing_ == Routing::round_robin) return active[next_++ % active.size()];
  if (routing_ == Routing::prefix_affinity && session >= 0)
    return active[splitmix64(static_cast<std::uint64_t>(session)) % active.size()];
  int best = active.front();
  std::int64_t best_load = -1;
  for (const Instance* i : pool) {
    if (!i->active) continue;
    if (best_load < 0 || i->load() < best_load) {  // ties: the lowest index
      best = i->index();
      best_load = i->load();
    }
  }
  return best;
}

}  // namespace gwsim::requests
