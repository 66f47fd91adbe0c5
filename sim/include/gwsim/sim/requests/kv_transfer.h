#pragma once
// KV-cache transfers from prefill to decode instances over the scale-out network (RDMA): each
// instance has its nodes' NICs, a transfer leaves through one NIC of the prefill instance and
// arrives through one of the decode instance (chosen round-robin per instance), and each NIC sends
// or receives one transfer at a time at its line rate, in the order they were asked for (a FIFO
// per NIC). Several transfers sharing a NIC therefore queue behind each other: their aggregate
// never exceeds the NIC's bandwidth, the contention the issue asks for at its simplest. Fabric
// congestion beyond the NICs (oversubscribed spine) is not modelled.
#include <cstdint>
#include <vector>

namespace gwsim::requests {

class KvTransferNetwork {
 public:
  // `nics_per_instance[i]`: NICs of instance i (prefill and decode instances in one numbering).
  KvTransferNetwork(std::vector<int> nics_per_instance, double nic_bytes_per_s, double latency_s);
  // When a transfer of `bytes` asked for at `ready_s` from instance `from` to `to` completes.
  double transfer(int from, int to, double bytes, double ready_s);

 private:
  std::vector<std::vector<double>> send_free_, recv_free_;  // per instance, per NIC: free from
  std::vector<std::uint64_t> next_send_, next_recv_;
  double bps_, latency_s_;
};

}  // namespace gwsim::requests
