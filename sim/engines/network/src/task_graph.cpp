#include "gwsim/network/task_graph.h"

#include <algorithm>
#include <map>

#include "gwsim/network/topology.h"

namespace gwsim::net {

FlowGroup make_group(const Topology& topo, std::vector<std::pair<int, int>> members, double bytes_factor) {
  FlowGroup g;
  g.bytes_factor = bytes_factor;
  g.flows = static_cast<double>(members.size());
  std::map<int, double> counts;  // ordered: the same members always give the same link order
  std::vector<int> path;
  for (const auto& [s, d] : members) {
    topo.route(s, d, path);
    for (int id : path) {
      counts[id] += 1;
      if (topo.link(id).link_class == LinkClass::scaleout) g.link_class = LinkClass::scaleout;
    }
    g.latency_s = std::max(g.latency_s, topo.path_latency_s(path));
  }
  g.link_flows.assign(counts.begin(), counts.end());
  g.members = std::move(members);
  return g;
}

int TaskGraph::add_delay(double seconds, std::vector<int> after, std::string label, int track) {
  Task t;
  t.kind = TaskKind::delay;
  t.delay_s = std::max(0.0, seconds);
  t.after = std::move(after);
  t.label = std::move(label);
  t.track = track;
  tasks.push_back(std::move(t));
  return static_cast<int>(tasks.size()) - 1;
}

int TaskGraph::add_transfer(int batch, double bytes_per_flow, std::vector<int> after, std::string label, int track) {
  Task t;
  t.kind = TaskKind::transfer;
  t.batch = batch;
  t.bytes_per_flow = bytes_per_flow;
  t.after = std::move(after);
  t.label = std::move(label);
  t.track = track;
  tasks.push_back(std::move(t));
  return static_cast<int>(tasks.size()) - 1;
}

double TaskGraph::flow_count() const {
  double n = 0;
  for (const auto& t : tasks)
    if (t.kind == TaskKind::transfer)
      for (const auto& g : batches[t.batch].groups) n += g.flows;
  return n;
}

}  // namespace gwsim::net
