#pragma once
// The cluster as a graph of devices and directed links: GPUs, one NVSwitch per scale-up domain,
// NICs, and the leaf / spine / core switches of the scale-out fabric (fat tree, rail-optimized, or
// several independent planes). Built from a ClusterSpec; stored as a Boost.Graph adjacency list
// inside topology.cpp so that this header stays light (it is included by every network file).
//
// Routes follow the fabric's structure (up to the lowest common tier, then down). Where several
// equal-cost next hops exist (ECMP), a route picks one by a seeded hash of the (source,
// destination) pair: deterministic, and one path per GPU pair as one NCCL connection would use.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gwsim/hwmodels/cluster.h"

namespace gwsim::net {

enum class VertexKind { gpu, nvswitch, nic, leaf, spine, core };
std::string to_string(VertexKind k);

struct Vertex {
  VertexKind kind = VertexKind::gpu;
  int index = 0;  // index among vertices of its kind (GPU rank for GPUs)
  int plane = 0;  // fabric plane (switches and NICs)
};

// How a route picks among equal-cost uplinks.
//   hash   a seeded hash of the (source, destination) pair: Ethernet/RoCE ECMP; random collisions
//   dmodk  by destination (its NIC's port on its leaf + seed, modulo the choices): InfiniBand's
//          fat-tree routing (D-mod-k). Balanced for all-to-all and shifts, and symmetric, which is what
//          lets the des engine aggregate an all-to-all exactly.
enum class Ecmp { hash, dmodk };

struct Link {
  int src = 0, dst = 0;     // vertex ids
  double capacity_bps = 0;  // bytes per second, this direction
  double latency_s = 0;     // paid once by every flow crossing it
  LinkClass link_class = LinkClass::scaleup;
};

class Topology {
 public:
  explicit Topology(const ClusterSpec& cluster, std::uint64_t seed = 1, Ecmp ecmp = Ecmp::hash);
  ~Topology();
  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;

  const ClusterSpec& cluster() const;
  int gpu_count() const;
  int vertex_count() const;
  int link_count() const;
  const Vertex& vertex(int v) const;
  const Link& link(int id) const;
  std::string link_name(int id) const;  // "gpu3->nvs0", "leaf2->spine7" ...
  int gpu_vertex(int gpu) const;

  int domain_of(int gpu) const;  // scale-up domain
  int node_of(int gpu) const;
  // Leaf switch the flow src->dst enters the fabric at / leaves it from; -1 inside one domain.
  bool same_domain(int src_gpu, int dst_gpu) const { return domain_of(src_gpu) == domain_of(dst_gpu); }

  // Link ids of the path from src_gpu to dst_gpu (appended to `out`, which is cleared first).
  void route(int src_gpu, int dst_gpu, std::vector<int>& out) const;
  // Structure used to count the links of many flows at once (aggregated all-to-all). Valid when
  // fixed_nics(): one plane and one NIC per GPU, so a GPU's way into the fabric never depends on
  // the destination.
  bool fixed_nics() const;
  int leaf_of(int gpu) const;                             // leaf id (plane 0) of the GPU's NIC
  int leaf_count() const;                                 // leaves of plane 0
  void up_links(int gpu, std::vector<int>& out) const;    // gpu->nic, nic->leaf
  void down_links(int gpu, std::vector<int>& out) const;  // leaf->nic, nic->gpu
  // The path route() takes from leaf_a to the leaf of dst_gpu under dmodk (depends only on dst).
  void leaf_path_to(int leaf_a, int dst_gpu, std::vector<int>& out) const;
  Ecmp ecmp() const;
  int scaleup_up_link(int gpu) const;    // gpu->nvswitch
  int scaleup_down_link(int gpu) const;  // nvswitch->gpu

  // Uplinks (leaf->spine) of the leaf the GPU's first NIC hangs off; empty for a one-tier fabric.
  void leaf_uplinks(int gpu, std::vector<int>& out) const;
  // Multiplies one link's capacity (a degraded link: a NIC trained down, a flapping optic). Routes
  // do not change; factor must be above 0 (a failed link is modelled by its caller, see asymmetry.h).
  void scale_link_capacity(int id, double factor);

  // Sum of link latencies along route(src, dst).
  double path_latency_s(const std::vector<int>& path) const;
  // Hop count (switches crossed) between two vertices over the graph, by breadth-first search on
  // the Boost graph: used by the tests to check that routes are shortest paths.
  int graph_distance(int from_vertex, int to_vertex) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gwsim::net
