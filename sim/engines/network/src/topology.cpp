#include "gwsim/network/topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <cmath>
#include <stdexcept>

#include "gwsim/common/hash.h"
#include "gwsim/common/input_error.h"

namespace gwsim::net {

std::string to_string(VertexKind k) {
  switch (k) {
    case VertexKind::gpu:
      return "gpu";
    case VertexKind::nvswitch:
      return "nvs";
    case VertexKind::nic:
      return "nic";
    case VertexKind::leaf:
      return "leaf";
    case VertexKind::spine:
      return "spine";
    case VertexKind::core:
      return "core";
  }
  return "?";
}

namespace {

struct EdgeProps {
  int link_id = 0;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, EdgeProps>;

}  // namespace

// One plane of the scale-out fabric: leaves, and above them spines (and cores for 3 tiers).
struct Plane {
  std::vector<int> leaf_vertex;              // by leaf index in the plane
  std::vector<std::vector<int>> leaf_up;     // [leaf][spine slot] -> link id leaf->spine
  std::vector<std::vector<int>> spine_down;  // [spine][leaf slot] -> link id spine->leaf
  std::vector<std::vector<int>> spine_up;    // [spine][core slot] -> link id spine->core (3 tiers)
  std::vector<std::vector<int>> core_down;   // [core][pod] -> link id core->spine
  int spines_per_group = 0;                  // spines above one leaf (2 tiers: all; 3 tiers: per pod)
  int leaves_per_pod = 0;                    // 3 tiers only
  int cores_per_spine = 0;                   // 3 tiers only
  int down_ports = 0;                        // NIC ports per leaf
};

struct Topology::Impl {
  ClusterSpec cluster;
  std::uint64_t seed = 1;
  Ecmp ecmp = Ecmp::hash;
  Graph graph;
  std::vector<Vertex> vertices;
  std::vector<Link> links;
  int gpus = 0, G = 8, N = 8, P = 1, nodes = 0, D = 8, tiers = 2;
  std::vector<int> gpu_vertex, nvs_vertex;
  std::vector<int> gpu_up_nvs, nvs_down_gpu;  // by GPU rank
  // NICs: global NIC id = node * N + local NIC index r.
  std::vector<int> nic_vertex, nic_plane, nic_leaf, nic_slot, nic_up_leaf, leaf_down_nic;
  std::vector<int> gpu_nic_link, nic_gpu_link;  // by (gpu rank * nics_per_gpu + k)
  int nics_per_gpu = 1;
  std::vector<Plane> planes;

  int add_vertex(VertexKind kind, int index, int plane) {
    vertices.push_back({kind, index, plane});
    boost::add_vertex(graph);
    return static_cast<int>(vertices.size()) - 1;
  }
  int add_link(int src, int dst, double bps, double latency_s, LinkClass cls) {
    const int id = static_cast<int>(links.size());
    links.push_back({src, dst, bps, latency_s, cls});
    boost::add_edge(static_cast<std::size_t>(src), static_cast<std::size_t>(dst), EdgeProps{id}, graph);
    return id;
  }

  // Local NIC indices (0..N-1) attached to local GPU l.
  int first_nic_of(int l) const { return N >= G ? l * (N / G) : l * N / G; }
  int nic_of(int gpu) const { return (gpu / G) * N + first_nic_of(gpu % G); }  // the GPU's first NIC
  int owner_of_nic(int r) const { return N >= G ? r / (N / G) : (r * G + N - 1) / N; }

  // Equal-cost choices: hashed per pair, or by the destination NIC's port on its leaf (D-mod-k:
  // consecutive ports take consecutive spines, so a leaf's downlinks are evenly used).
  int spine_choice(std::uint64_t h, int dst_nic, const Plane& pl) const {
    if (ecmp == Ecmp::dmodk) return static_cast<int>((nic_slot[dst_nic] + seed) % pl.spines_per_group);
    return static_cast<int>((h >> 24) % pl.spines_per_group);
  }
  // D-mod-k one level up: the destination's index in its pod (leaf in pod x ports + port), past
  // the digit the spine choice used. (The port alone, divided by the spine count, is 0 on every
  // leaf that is not oversubscribed: all traffic into a pod would climb to one core.)
  int core_choice(std::uint64_t h, int dst_nic, const Plane& pl) const {
    if (ecmp == Ecmp::dmodk) {
      const long long in_pod =
          static_cast<long long>(nic_leaf[dst_nic] % pl.leaves_per_pod) * pl.down_ports + nic_slot[dst_nic];
      return static_cast<int>((in_pod / pl.spines_per_group + static_cast<long long>(seed)) % pl.cores_per_spine);
    }
    return static_cast<int>((h >> 40) % pl.cores_per_spine);
  }
  void build();
  void build_plane(int p, const std::vector<int>& plane_nics);
  std::uint64_t hash(int src, int dst, int salt) const {
    return splitmix64(seed ^ splitmix64((static_cast<std::uint64_t>(src) << 32) ^ static_cast<std::uint64_t>(dst)) ^
                      (static_cast<std::uint64_t>(salt) * 0x632be59bd9b4e019ULL));
  }
};

void Topology::Impl::build() {
  const auto& c = cluster;
  gpus = static_cast<int>(c.gpus);
  G = std::max(1, c.gpus_per_node);
  N = std::max(1, c.nics_per_node);
  D = std::max(1, c.scaleup_domain_gpus);
  tiers = std::clamp(c.fabric.tiers, 1, 3);
  if (gpus <= 0) throw InputError("cluster: gpus must be positive");
  nodes = (gpus + G - 1) / G;
  P = c.fabric.kind == FabricKind::multi_plane_fat_tree ? std::max(1, c.fabric.planes) : 1;
  if (N % P != 0)
    throw InputError(fmt::format("cluster {}: {} NICs per node cannot be split over {} planes", c.name, N, P));
  if (N >= G && N % G != 0)
    throw InputError(
        fmt::format("cluster {}: {} NICs per node for {} GPUs per node: expected a multiple", c.name, N, G));
  nics_per_gpu = N >= G ? N / G : 1;

  // GPUs and the NVSwitch of each scale-up domain.
  const double up_bps = c.scaleup_per_direction_bps;
  for (int g = 0; g < gpus; ++g) gpu_vertex.push_back(add_vertex(VertexKind::gpu, g, 0));
  const int domains = (gpus + D - 1) / D;
  for (int d = 0; d < domains; ++d) nvs_vertex.push_back(add_vertex(VertexKind::nvswitch, d, 0));
  for (int g = 0; g < gpus; ++g) {
    gpu_up_nvs.push_back(
        add_link(gpu_vertex[g], nvs_vertex[g / D], up_bps, c.scaleup_latency_s / 2, LinkClass::scaleup));
    nvs_down_gpu.push_back(
        add_link(nvs_vertex[g / D], gpu_vertex[g], up_bps, c.scaleup_latency_s / 2, LinkClass::scaleup));
  }
  // NICs (one PCIe-side link per attached GPU, both directions).
  const double nic_bps = c.nic_bps;
  const double nic_lat = c.fabric.nic_latency_s;
  nic_plane.assign(static_cast<std::size_t>(nodes) * N, 0);
  for (int n = 0; n < nodes; ++n)
    for (int r = 0; r < N; ++r) {
      nic_vertex.push_back(add_vertex(VertexKind::nic, n * N + r, r % P));
      nic_plane[n * N + r] = r % P;
    }
  gpu_nic_link.assign(static_cast<std::size_t>(gpus) * nics_per_gpu, -1);
  nic_gpu_link.assign(static_cast<std::size_t>(gpus) * nics_per_gpu, -1);
  for (int g = 0; g < gpus; ++g) {
    const int n = g / G, l = g % G;
    for (int k = 0; k < nics_per_gpu; ++k) {
      const int nic = n * N + first_nic_of(l) + k;
      gpu_nic_link[g * nics_per_gpu + k] =
          add_link(gpu_vertex[g], nic_vertex[nic], nic_bps, nic_lat / 2, LinkClass::scaleout);
      nic_gpu_link[g * nics_per_gpu + k] =
          add_link(nic_vertex[nic], gpu_vertex[g], nic_bps, nic_lat / 2, LinkClass::scaleout);
    }
  }
  // Fabric planes. Within a plane, NICs are ordered so that a leaf holds consecutive nodes; a
  // rail-optimized fabric puts NIC r of every node on the leaves of rail r.
  nic_leaf.assign(nic_vertex.size(), -1);
  nic_slot.assign(nic_vertex.size(), 0);
  nic_up_leaf.assign(nic_vertex.size(), -1);
  leaf_down_nic.assign(nic_vertex.size(), -1);
  for (int p = 0; p < P; ++p) {
    std::vector<int> plane_nics;
    if (c.fabric.kind == FabricKind::rail_optimized) {
      for (int r = 0; r < N; ++r)
        for (int n = 0; n < nodes; ++n) plane_nics.push_back(n * N + r);
    } else {
      for (int n = 0; n < nodes; ++n)
        for (int r = p; r < N; r += P) plane_nics.push_back(n * N + r);
    }
    build_plane(p, plane_nics);
  }
}

void Topology::Impl::build_plane(int p, const std::vector<int>& plane_nics) {
  const auto& f = cluster.fabric;
  const double port_bps = cluster.nic_bps;  // switch ports run at the NIC line rate
  const double hop = f.hop_latency_s;
  const int radix = std::max(2, f.switch_radix);
  const double o = std::max(1.0, f.oversubscription);
  // Leaf ports: down:up = oversubscription.
  int down = static_cast<int>(std::lround(radix * o / (1 + o)));
  down = std::clamp(down, 1, radix - 1);
  const int up = radix - down;
  const int endpoints = static_cast<int>(plane_nics.size());
  Plane pl;
  pl.down_ports = down;
  int leaves = 0;
  if (tiers == 1) {
    leaves = 1;  // one switch layer: a single switch holds every NIC of the plane
    down = endpoints;
  } else if (cluster.fabric.kind == FabricKind::rail_optimized) {
    const int per_rail = (nodes + down - 1) / down;
    leaves = per_rail * N;
  } else {
    leaves = (endpoints + down - 1) / down;
  }
  for (int i = 0; i < leaves; ++i) pl.leaf_vertex.push_back(add_vertex(VertexKind::leaf, i, p));
  std::vector<int> slot_in_leaf(leaves, 0);  // down port of each NIC on its leaf (D-mod-k's "LID")
  for (int i = 0; i < endpoints; ++i) {
    const int nic = plane_nics[i];
    int leaf = i / down;
    if (tiers > 1 && cluster.fabric.kind == FabricKind::rail_optimized) {
      const int r = nic % N, n = nic / N;
      leaf = r * ((nodes + down - 1) / down) + n / down;
    }
    nic_leaf[nic] = leaf;
    nic_slot[nic] = slot_in_leaf[leaf]++;
    nic_up_leaf[nic] = add_link(nic_vertex[nic], pl.leaf_vertex[leaf], port_bps, 0, LinkClass::scaleout);
    leaf_down_nic[nic] = add_link(pl.leaf_vertex[leaf], nic_vertex[nic], port_bps, hop, LinkClass::scaleout);
  }
  if (tiers == 2) {
    // Every leaf has one uplink to each of `up` spines.
    pl.spines_per_group = up;
    std::vector<int> spine_vertex;
    for (int s = 0; s < up; ++s) spine_vertex.push_back(add_vertex(VertexKind::spine, s, p));
    pl.leaf_up.assign(leaves, std::vector<int>(up));
    pl.spine_down.assign(up, std::vector<int>(leaves));
    for (int l = 0; l < leaves; ++l)
      for (int s = 0; s < up; ++s) {
        pl.leaf_up[l][s] = add_link(pl.leaf_vertex[l], spine_vertex[s], port_bps, hop, LinkClass::scaleout);
        pl.spine_down[s][l] = add_link(spine_vertex[s], pl.leaf_vertex[l], port_bps, hop, LinkClass::scaleout);
      }
  } else if (tiers == 3) {
    // Pods of radix/2 leaves under `up` spines; spine slot j of every pod reaches core group j.
    const int half = radix / 2;
    pl.leaves_per_pod = half;
    pl.spines_per_group = up;
    pl.cores_per_spine = half;
    const int pods = (leaves + half - 1) / half;
    std::vector<int> spine_vertex;
    for (int s = 0; s < pods * up; ++s) spine_vertex.push_back(add_vertex(VertexKind::spine, s, p));
    std::vector<int> core_vertex;
    for (int cidx = 0; cidx < up * half; ++cidx) core_vertex.push_back(add_vertex(VertexKind::core, cidx, p));
    pl.leaf_up.assign(leaves, std::vector<int>(up));
    pl.spine_down.assign(pods * up, std::vector<int>(half, -1));
    pl.spine_up.assign(pods * up, std::vector<int>(half));
    pl.core_down.assign(up * half, std::vector<int>(pods));
    for (int l = 0; l < leaves; ++l) {
      const int pod = l / half;
      for (int j = 0; j < up; ++j) {
        const int s = pod * up + j;
        pl.leaf_up[l][j] = add_link(pl.leaf_vertex[l], spine_vertex[s], port_bps, hop, LinkClass::scaleout);
        pl.spine_down[s][l % half] = add_link(spine_vertex[s], pl.leaf_vertex[l], port_bps, hop, LinkClass::scaleout);
      }
    }
    for (int pod = 0; pod < pods; ++pod)
      for (int j = 0; j < up; ++j)
        for (int k = 0; k < half; ++k) {
          const int s = pod * up + j, cidx = j * half + k;
          pl.spine_up[s][k] = add_link(spine_vertex[s], core_vertex[cidx], port_bps, hop, LinkClass::scaleout);
          pl.core_down[cidx][pod] = add_link(core_vertex[cidx], spine_vertex[s], port_bps, hop, LinkClass::scaleout);
        }
  }
  planes.push_back(std::move(pl));
}

Topology::Topology(const ClusterSpec& cluster, std::uint64_t seed, Ecmp ecmp) : impl_(std::make_unique<Impl>()) {
  impl_->cluster = cluster;
  impl_->seed = seed;
  impl_->ecmp = ecmp;
  impl_->build();
}
Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

const ClusterSpec& Topology::cluster() const { return impl_->cluster; }
int Topology::gpu_count() const { return impl_->gpus; }
int Topology::vertex_count() const { return static_cast<int>(impl_->vertices.size()); }
int Topology::link_count() const { return static_cast<int>(impl_->links.size()); }
const Vertex& Topology::vertex(int v) const { return impl_->vertices[v]; }
const Link& Topology::link(int id) const { return impl_->links[id]; }
int Topology::gpu_vertex(int gpu) const { return impl_->gpu_vertex[gpu]; }
int Topology::domain_of(int gpu) const { return gpu / impl_->D; }
int Topology::node_of(int gpu) const { return gpu / impl_->G; }

std::string Topology::link_name(int id) const {
  const auto& l = impl_->links[id];
  auto name = [&](int v) {
    const auto& x = impl_->vertices[v];
    std::string s = to_string(x.kind) + std::to_string(x.index);
    if (impl_->P > 1 && x.kind != VertexKind::gpu && x.kind != VertexKind::nvswitch)
      s += "/p" + std::to_string(x.plane);
    return s;
  };
  return name(l.src) + "->" + name(l.dst);
}

void Topology::route(int s, int d, std::vector<int>& out) const {
  const auto& m = *impl_;
  out.clear();
  if (s == d) return;
  if (s / m.D == d / m.D) {
    out.push_back(m.gpu_up_nvs[s]);
    out.push_back(m.nvs_down_gpu[d]);
    return;
  }
  const std::uint64_t h = m.hash(s, d, 0);
  // Destination NIC (ECMP among the GPU's NICs), and the plane it sits in.
  const int dk = static_cast<int>(h % m.nics_per_gpu);
  const int d_nic = (d / m.G) * m.N + m.first_nic_of(d % m.G) + dk;
  const int plane = m.nic_plane[d_nic];
  // Source NIC in that plane: the GPU's own, or (multi-plane, PXN) a NIC of a peer GPU in the
  // same node reached over NVLink, as NCCL's PXN does, since planes are not interconnected.
  const int s_node = s / m.G;
  int s_nic = -1;
  for (int k = 0; k < m.nics_per_gpu; ++k) {
    const int nic =
        s_node * m.N + m.first_nic_of(s % m.G) + (static_cast<int>((h >> 8) % m.nics_per_gpu) + k) % m.nics_per_gpu;
    if (m.nic_plane[nic] == plane) {
      s_nic = nic;
      break;
    }
  }
  int s_gpu_on_nic = s;
  int s_k = 0;
  if (s_nic < 0) {
    // NCCL's PXN is rail-matched: the data crosses NVLink to the GPU on the destination's rail
    // (same local NIC index, hence the same plane) and leaves through that GPU's NIC.
    const int r = d_nic % m.N;
    s_nic = s_node * m.N + r;
    s_gpu_on_nic = s_node * m.G + m.owner_of_nic(r);
    s_k = r - m.first_nic_of(s_gpu_on_nic % m.G);
    out.push_back(m.gpu_up_nvs[s]);
    out.push_back(m.nvs_down_gpu[s_gpu_on_nic]);
  } else {
    s_k = s_nic % m.N - m.first_nic_of(s % m.G);
  }
  out.push_back(m.gpu_nic_link[s_gpu_on_nic * m.nics_per_gpu + s_k]);
  out.push_back(m.nic_up_leaf[s_nic]);
  const int a = m.nic_leaf[s_nic], b = m.nic_leaf[d_nic];
  if (a != b) {
    const Plane& pl = m.planes[plane];
    const int j = m.spine_choice(h, d_nic, pl);
    if (m.tiers == 2) {
      out.push_back(pl.leaf_up[a][j]);
      out.push_back(pl.spine_down[j][b]);
    } else {
      const int pod_a = a / pl.leaves_per_pod, pod_b = b / pl.leaves_per_pod;
      const int spine_a = pod_a * pl.spines_per_group + j;
      out.push_back(pl.leaf_up[a][j]);
      if (pod_a != pod_b) {
        const int k = m.core_choice(h, d_nic, pl);
        const int core = j * pl.cores_per_spine + k;
        out.push_back(pl.spine_up[spine_a][k]);
        out.push_back(pl.core_down[core][pod_b]);
        out.push_back(pl.spine_down[pod_b * pl.spines_per_group + j][b % pl.leaves_per_pod]);
      } else {
        out.push_back(pl.spine_down[spine_a][b % pl.leaves_per_pod]);
      }
    }
  }
  out.push_back(m.leaf_down_nic[d_nic]);
  out.push_back(m.nic_gpu_link[d * m.nics_per_gpu + dk]);
}

bool Topology::fixed_nics() const { return impl_->P == 1 && impl_->nics_per_gpu == 1; }
int Topology::leaf_count() const { return static_cast<int>(impl_->planes[0].leaf_vertex.size()); }
int Topology::scaleup_up_link(int gpu) const { return impl_->gpu_up_nvs[gpu]; }
int Topology::scaleup_down_link(int gpu) const { return impl_->nvs_down_gpu[gpu]; }

int Topology::leaf_of(int gpu) const { return impl_->nic_leaf[impl_->nic_of(gpu)]; }

void Topology::up_links(int gpu, std::vector<int>& out) const {
  out = {impl_->gpu_nic_link[gpu * impl_->nics_per_gpu], impl_->nic_up_leaf[impl_->nic_of(gpu)]};
}

void Topology::down_links(int gpu, std::vector<int>& out) const {
  out = {impl_->leaf_down_nic[impl_->nic_of(gpu)], impl_->nic_gpu_link[gpu * impl_->nics_per_gpu]};
}

Ecmp Topology::ecmp() const { return impl_->ecmp; }

void Topology::leaf_uplinks(int gpu, std::vector<int>& out) const {
  const int nic = impl_->nic_of(gpu);
  const auto& pl = impl_->planes[impl_->nic_plane[nic]];
  out.clear();
  if (impl_->tiers >= 2 && !pl.leaf_up.empty()) out = pl.leaf_up[impl_->nic_leaf[nic]];
}

void Topology::scale_link_capacity(int id, double factor) {
  if (!(factor > 0)) throw std::invalid_argument("Topology::scale_link_capacity: factor must be above 0");
  impl_->links.at(id).capacity_bps *= factor;
}

void Topology::leaf_path_to(int a, int dst, std::vector<int>& out) const {
  const auto& m = *impl_;
  const Plane& pl = m.planes[0];
  const int dst_nic = m.nic_of(dst);
  const int b = m.nic_leaf[dst_nic];
  out.clear();
  if (a == b || m.tiers < 2) return;
  const int j = m.spine_choice(0, dst_nic, pl);
  if (m.tiers == 2) {
    out = {pl.leaf_up[a][j], pl.spine_down[j][b]};
    return;
  }
  const int pod_a = a / pl.leaves_per_pod, pod_b = b / pl.leaves_per_pod;
  const int spine_a = pod_a * pl.spines_per_group + j;
  if (pod_a == pod_b) {
    out = {pl.leaf_up[a][j], pl.spine_down[spine_a][b % pl.leaves_per_pod]};
    return;
  }
  const int k = m.core_choice(0, dst_nic, pl);
  out = {pl.leaf_up[a][j], pl.spine_up[spine_a][k], pl.core_down[j * pl.cores_per_spine + k][pod_b],
         pl.spine_down[pod_b * pl.spines_per_group + j][b % pl.leaves_per_pod]};
}

double Topology::path_latency_s(const std::vector<int>& path) const {
  double t = 0;
  for (int id : path) t += impl_->links[id].latency_s;
  return t;
}

int Topology::graph_distance(int from, int to) const {
  std::vector<int> dist(impl_->vertices.size(), -1);
  dist[from] = 0;
  auto vis = boost::make_bfs_visitor(boost::record_distances(
      boost::make_iterator_property_map(dist.begin(), boost::get(boost::vertex_index, impl_->graph)),
      boost::on_tree_edge()));
  boost::breadth_first_search(impl_->graph, static_cast<std::size_t>(from), boost::visitor(vis));
  return dist[to];
}

}  // namespace gwsim::net
