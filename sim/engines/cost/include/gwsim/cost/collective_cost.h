#pragma once
// Closed-form (α-β) cost of one collective on the link classes it crosses, with the algorithm NCCL
// would use: ring/tree inside one domain, hierarchical (intra-domain then inter-domain) across
// domains, direct all-to-all split between the scale-up and scale-out links.
#include <string>

#include "gwsim/hwmodels/cluster.h"
#include "gwsim/hwmodels/profile.h"

namespace gwsim {

struct CollectiveRequest {
  std::string op;    // all_reduce | all_gather | reduce_scatter | all_to_all | p2p
  double bytes = 0;  // nccl-tests size
  int group = 1;
  LinkClass link = LinkClass::scaleup;
  int ranks_per_domain = 1;
  double scaleout_fraction = -1;  // all-to-all only; <0: uniform destinations
};

struct CollectiveCost {
  double time_s = 0;
  double algbw_bps = 0;  // bytes / time
  double busbw_bps = 0;  // nccl-tests bus bandwidth
  std::string algorithm;
};

// Wire factor of nccl-tests' bus-bandwidth convention.
double bus_factor(const std::string& op, int ranks);
CollectiveCost collective_cost(const CollectiveRequest& r, const ClusterSpec& cluster, const Profile& profile);

}  // namespace gwsim
