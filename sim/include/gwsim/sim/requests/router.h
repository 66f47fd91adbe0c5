#pragma once
// Which instance of a pool a request goes to: round-robin, least-loaded (fewest requests waiting,
// prefilling or decoding), or prefix-affinity (a session always to the same instance, so its
// earlier turns' cache is there; requests without a session least-loaded). Only active instances
// (autoscaling) are chosen.
#include <cstdint>
#include <vector>

#include "gwsim/sim/requests/instance.h"
#include "gwsim/sim/requests/request_config.h"

namespace gwsim::requests {

class Router {
 public:
  explicit Router(Routing routing) : routing_(routing) {}
  // `pool`: the pool's instances; at least one is active.
  int choose(const std::vector<Instance*>& pool, std::int64_t session);

 private:
  Routing routing_;
  std::uint64_t next_ = 0;
};

}  // namespace gwsim::requests
