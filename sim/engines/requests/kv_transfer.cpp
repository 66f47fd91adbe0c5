#include "gwsim/sim/requests/kv_transfer.h"

#include <algorithm>

namespace gwsim::requests {

KvTransferNetwork::KvTransferNetwork(std::vector<int> nics_per_instance, double nic_bytes_per_s, double latency_s)
    : next_send_(nics_per_instance.size(), 0),
      next_recv_(nics_per_instance.size(), 0),
      bps_(nic_bytes_per_s),
      latency_s_(latency_s) {
  for (int n : nics_per_instance) {
    send_free_.emplace_back(static_cast<std::size_t>(std::max(1, n)), 0.0);
    recv_free_.emplace_back(static_cast<std::size_t>(std::max(1, n)), 0.0);
  }
}

double KvTransferNetwork::transfer(int from, int to, double bytes, double ready_s) {
  auto& send = send_free_[static_cast<std::size_t>(from)];
  auto& recv = recv_free_[static_cast<std::size_t>(to)];
  double& s = send[next_send_[static_cast<std::size_t>(from)]++ % send.size()];
  double& r = recv[next_recv_[static_cast<std::size_t>(to)]++ % recv.size()];
  const double start = std::max({ready_s, s, r});
  const double end = start + latency_s_ + bytes / bps_;
  s = r = end;
  return end;
}

}  // namespace gwsim::requests
