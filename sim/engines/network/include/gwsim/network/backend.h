#pragma once
// The one interface both network engines implement: execute a task graph on a topology.
//   des      gwsim's own flow-level discrete-event engine (sim/engines/des), max-min fair sharing with
//            progressive filling, incremental per connected component, flow groups for symmetry
//   simgrid  SimGrid S4U with the CM02 model and cross-traffic off: the same α-β / max-min model,
//            a validated reference for cross-checking `des` on explicit flows (up to ~1k GPUs)
#include <memory>
#include <string>

#include "gwsim/network/task_graph.h"
#include "gwsim/network/topology.h"

namespace gwsim::net {

class NetworkBackend {
 public:
  virtual ~NetworkBackend() = default;
  virtual std::string name() const = 0;
  virtual ExecutionResult execute(const Topology& topo, const TaskGraph& graph) = 0;
};

// "des" or "simgrid"; InputError otherwise.
std::unique_ptr<NetworkBackend> make_backend(const std::string& name);

}  // namespace gwsim::net
