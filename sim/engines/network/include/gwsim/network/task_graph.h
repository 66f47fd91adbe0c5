#pragma once
// What a network backend executes: a graph of tasks, each a delay (a compute op, a per-step α)
// or a transfer (a batch of flows started together), with "runs after" dependencies.
//
// The unit of a transfer is the flow group: flows that move the same bytes at the same rate. A
// group of one explicit flow is the plain flow-level model. A group of many flows is how symmetry
// is simulated cheaply: under max-min fairness, flows whose constraints are identical get
// identical rates, so they can be solved as one variable whose use of each link is weighted by
// how many of its flows cross that link. Both engines accept explicit flows; only `des` accepts
// groups given by link counts alone (no member list), which is what makes 16M-flow all-to-alls
// tractable.
#include <string>
#include <utility>
#include <vector>

#include "gwsim/hwmodels/cluster.h"

namespace gwsim::net {

class Topology;

struct FlowGroup {
  std::vector<std::pair<int, int>> members;        // explicit (src GPU, dst GPU) flows; may be empty
  double flows = 0;                                // member flows in the group
  std::vector<std::pair<int, double>> link_flows;  // (link id, member flows crossing that link)
  double latency_s = 0;                            // path latency of a member (the largest one)
  double bytes_factor = 1;                         // a member moves task bytes x this (1 / bus efficiency)
  LinkClass link_class = LinkClass::scaleup;       // scaleout when the flows cross a NIC
};

// Routes each member on the topology and fills flows, link_flows, latency_s and link_class.
FlowGroup make_group(const Topology& topo, std::vector<std::pair<int, int>> members, double bytes_factor = 1);

// Flows started together by one transfer task.
struct Batch {
  std::vector<FlowGroup> groups;
  // The builder promises that no other batch's flows share links with this one while it runs
  // (a stand-alone collective whose steps run one after another). The des engine then merges
  // links whose constraints are identical into one, which is exact and makes symmetric steps cost
  // a handful of variables instead of one per GPU.
  bool exclusive = false;
};

enum class TaskKind { delay, transfer };

struct Task {
  TaskKind kind = TaskKind::delay;
  double delay_s = 0;         // delay: its duration
  int batch = -1;             // transfer: index into TaskGraph::batches
  double bytes_per_flow = 0;  // transfer: bytes each member flow moves (before bytes_factor)
  std::vector<int> after;     // tasks that must finish before this one starts
  std::string label;          // for traces and debugging
  int track = -1;             // trace track (a GPU stream), -1: none
};

struct TaskGraph {
  std::vector<Batch> batches;
  std::vector<Task> tasks;

  int add_batch(Batch b) {
    batches.push_back(std::move(b));
    return static_cast<int>(batches.size()) - 1;
  }
  int add_delay(double seconds, std::vector<int> after, std::string label = {}, int track = -1);
  int add_transfer(int batch, double bytes_per_flow, std::vector<int> after, std::string label = {}, int track = -1);
  // Number of member flows over all transfer tasks (what a per-flow simulator would simulate).
  double flow_count() const;
};

struct ExecutionResult {
  std::vector<double> start_s, finish_s;  // per task
  double makespan_s = 0;
  std::vector<double> link_bytes;  // per topology link: bytes carried (all member flows)
  long long events = 0;            // engine events processed (for benchmarks)
  long long variables = 0;         // rate variables the engine solved for at most at once
};

}  // namespace gwsim::net
