#include "gwsim/network/collective.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "gwsim/common/input_error.h"
#include "gwsim/cost/collective_cost.h"

namespace gwsim::net {

namespace {

using Pairs = std::vector<std::pair<int, int>>;

// Everything a builder needs, to keep signatures short.
struct Builder {
  TaskGraph& g;
  const Topology& topo;
  const Profile& profile;
  bool aggregate;
  bool exclusive;
  std::string label;
  int track;
  bool separate = false;     // instances in flow groups of their own (CollectiveSpec::separate_copies)
  bool keep_members = true;  // aggregated groups list their members (not when they carry copies)

  double efficiency(LinkClass c, const std::string& op) const { return profile.collective(c, op).bus_efficiency; }
  double alpha_s(LinkClass c, const std::string& op) const { return profile.collective(c, op).alpha_s; }

  // Per-link counts (all zero between uses) and the links touched: kept from call to call, as a
  // topology's link count can be large.
  struct Counts {
    std::vector<double> n;
    std::vector<int> touched;
  };
  static Counts& scratch(int slot, int links) {
    thread_local Counts c[2];
    if (static_cast<int>(c[slot].n.size()) < links) c[slot].n.assign(links, 0);
    return c[slot];
  }

  // The flows of the lists, in two groups as make_group (task_graph.h) builds them: flows inside
  // one scale-up domain, then flows across domains (each only if it has flows). Dense per-link
  // counts instead of an ordered map: the same groups (links in id order, the same counts, class
  // and latency), linear in the flows' hops.
  std::vector<FlowGroup> route_classes(const std::vector<const Pairs*>& lists) {
    const int links = topo.link_count();
    Counts* acc[2] = {&scratch(0, links), &scratch(1, links)};
    FlowGroup grp[2];
    std::vector<int> path;
    for (const auto* list : lists)
      for (const auto& [s, d] : *list) {
        const int c = topo.same_domain(s, d) ? 0 : 1;
        FlowGroup& f = grp[c];
        Counts& a = *acc[c];
        f.flows += 1;
        topo.route(s, d, path);
        for (int id : path) {
          if (a.n[id] == 0) {
            a.touched.push_back(id);
            if (topo.link(id).link_class == LinkClass::scaleout) f.link_class = LinkClass::scaleout;
          }
          a.n[id] += 1;
        }
        f.latency_s = std::max(f.latency_s, topo.path_latency_s(path));
        if (keep_members) f.members.push_back({s, d});
      }
    std::vector<FlowGroup> out;
    for (int c = 0; c < 2; ++c) {
      Counts& a = *acc[c];
      std::sort(a.touched.begin(), a.touched.end());
      grp[c].link_flows.reserve(a.touched.size());
      for (int id : a.touched) {
        grp[c].link_flows.push_back({id, a.n[id]});
        a.n[id] = 0;
      }
      a.touched.clear();
      if (grp[c].flows > 0) out.push_back(std::move(grp[c]));
    }
    return out;
  }

  // The flows of one step as groups. Aggregated: one group per link class (the flows of a step are
  // symmetric within a class); otherwise one group per flow. Each flow pays the step's α.
  // per[i]: instance i's flows, joined into the same groups, or (separate) in groups of their own.
  std::vector<FlowGroup> groups_for(const std::vector<Pairs>& per, const std::string& op, double bytes_scale = 1) {
    std::vector<FlowGroup> out;
    auto finish = [&](FlowGroup grp) {
      grp.bytes_factor = bytes_scale / efficiency(grp.link_class, op);
      grp.latency_s += alpha_s(grp.link_class, op);
      out.push_back(std::move(grp));
    };
    if (!aggregate) {
      for (const auto& pairs : per)
        for (const auto& p : pairs) finish(make_group(topo, {p}));
      return out;
    }
    std::vector<const Pairs*> lists;
    for (const auto& pairs : per) lists.push_back(&pairs);
    if (!separate) {
      for (auto& grp : route_classes(lists)) finish(std::move(grp));
      return out;
    }
    for (const auto* list : lists)
      for (auto& grp : route_classes({list})) finish(std::move(grp));
    return out;
  }
  std::vector<FlowGroup> groups_for(Pairs pairs, const std::string& op, double bytes_scale = 1) {
    std::vector<Pairs> per(1);
    per.front() = std::move(pairs);
    return groups_for(per, op, bytes_scale);
  }

  int batch(std::vector<FlowGroup> groups) {
    Batch b;
    b.groups = std::move(groups);
    b.exclusive = exclusive;
    return g.add_batch(std::move(b));
  }

  // One zero-length task that waits for all of `tasks`: a phase boundary.
  int join(std::vector<int> tasks, const std::string& what) {
    return g.add_delay(0, std::move(tasks), label + what, track);
  }

  // Parallel rings (all of the same size) running the phases one after another: each phase is
  // (op whose efficiency applies, number of steps). Returns the task that ends the last phase.
  // per_instance: consecutive rings of `rs` that belong to one instance (for separate groups).
  int rings(const std::vector<std::vector<int>>& rs, int per_instance, double bytes_per_ring,
            const std::vector<std::pair<std::string, int>>& phases, std::vector<int> after) {
    const int r = static_cast<int>(rs.front().size());
    if (r < 2) return join(std::move(after), " (no-op)");
    const double chunk = bytes_per_ring / r;
    if (aggregate) {
      // Lockstep: the step's flows over every ring are one batch; symmetric, so a step ends when
      // its flows end, as each rank's next send waits for its receive.
      std::vector<int> prev = std::move(after);
      for (const auto& [op, steps] : phases) {
        std::vector<Pairs> per((rs.size() + per_instance - 1) / per_instance);
        for (std::size_t c = 0; c < rs.size(); ++c)
          for (int i = 0; i < r; ++i) per[c / per_instance].push_back({rs[c][i], rs[c][(i + 1) % r]});
        const int b = batch(groups_for(per, op));
        for (int k = 0; k < steps; ++k)
          prev = {g.add_transfer(b, chunk, prev, fmt::format("{} {} step {}", label, op, k), track)};
      }
      return prev.front();
    }
    // One task per flow: rank i's send in step k waits for its own send and its receive of step k-1.
    std::vector<std::vector<int>> last(rs.size(), std::vector<int>(r, -1));
    for (const auto& [op, steps] : phases) {
      std::vector<std::vector<int>> batches(rs.size(), std::vector<int>(r));
      for (std::size_t c = 0; c < rs.size(); ++c)
        for (int i = 0; i < r; ++i) batches[c][i] = batch(groups_for(Pairs{{rs[c][i], rs[c][(i + 1) % r]}}, op));
      for (int k = 0; k < steps; ++k) {
        auto next = last;
        for (std::size_t c = 0; c < rs.size(); ++c)
          for (int i = 0; i < r; ++i) {
            std::vector<int> deps;
            if (last[c][i] < 0) {
              deps = after;
            } else {
              deps = {last[c][i], last[c][(i + r - 1) % r]};
            }
            next[c][i] = g.add_transfer(batches[c][i], chunk, deps, {}, track);
          }
        last = std::move(next);
      }
    }
    std::vector<int> ends;
    for (const auto& v : last) ends.insert(ends.end(), v.begin(), v.end());
    return join(std::move(ends), " end");
  }
};

// Ranks grouped by scale-up domain, in rank order within each.
std::vector<std::vector<int>> by_domain(const Topology& topo, const std::vector<int>& ranks) {
  std::map<int, std::vector<int>> m;
  for (int r : ranks) m[topo.domain_of(r)].push_back(r);
  std::vector<std::vector<int>> out;
  for (auto& [d, v] : m) out.push_back(std::move(v));
  const auto size = out.front().size();
  for (const auto& v : out)
    if (v.size() != size) throw InputError("collective: every scale-up domain must hold the same number of ranks");
  return out;
}

// NCCL-style rings: within one domain a single ring; across domains one ring per NIC (channel),
// ring c entering every node at its c-th local rank and leaving from the (c-1)-th, so every NIC
// sends for one ring and receives for one.
std::vector<std::vector<int>> nccl_rings(const Topology& topo, const std::vector<int>& ranks) {
  auto doms = by_domain(topo, ranks);
  if (doms.size() == 1) return {ranks};
  std::map<int, std::vector<int>> nodes;
  for (int r : ranks) nodes[topo.node_of(r)].push_back(r);
  const int m = static_cast<int>(nodes.begin()->second.size());
  for (const auto& [n, v] : nodes)
    if (static_cast<int>(v.size()) != m) throw InputError("collective: every node must hold the same number of ranks");
  const int channels = std::max(1, std::min(m, topo.cluster().nics_per_node));
  std::vector<std::vector<int>> out(channels);
  for (int c = 0; c < channels; ++c)
    for (const auto& [n, v] : nodes)
      for (int j = 0; j < m; ++j) out[c].push_back(v[(c + j) % m]);
  return out;
}

// Direct all-to-all with flows counted per class without enumerating pairs' routes (n^2 flows).
// Classes: inside one scale-up domain, through one leaf, across leaves. The flows of a class cross
// their NIC and NVLink links in equal numbers, and under D-mod-k routing spread evenly over the
// spines, so each class is symmetric and its flows get one rate: the grouping is exact. Needs
// fixed_nics() and Ecmp::dmodk; otherwise the pairs are routed one by one (hash collisions make
// flows of a class unequal, so a class is only a conservative group: run per flow to be exact).
std::vector<FlowGroup> all_to_all_counted(const Builder& b, const std::vector<std::vector<int>>& instances) {
  const Topology& topo = b.topo;
  const int links = topo.link_count();
  enum { kUp = 0, kLeaf = 1, kCross = 2 };
  std::vector<std::vector<double>> count(3, std::vector<double>(links, 0));
  std::vector<double> flows(3, 0), latency(3, 0);
  std::vector<int> up, down, path;
  // Each instance counted on its own (its flows stay among its ranks), into the same counts.
  for (const auto& ranks : instances) {
    const int n = static_cast<int>(ranks.size());
    std::map<int, int> in_domain, in_leaf;
    std::map<std::pair<int, int>, int> in_domain_leaf;
    for (int r : ranks) {
      ++in_domain[topo.domain_of(r)];
      ++in_leaf[topo.leaf_of(r)];
      ++in_domain_leaf[{topo.domain_of(r), topo.leaf_of(r)}];
    }
    double edge_latency = 0;
    for (int s : ranks) {
      const int dom = topo.domain_of(s), leaf = topo.leaf_of(s);
      const double intra = in_domain[dom] - 1;
      const double same_leaf = in_leaf[leaf] - in_domain_leaf[{dom, leaf}];
      const double cross = (n - in_leaf[leaf]) - (in_domain[dom] - in_domain_leaf[{dom, leaf}]);
      // As a sender and, by symmetry of all-to-all, as a receiver of the same numbers.
      count[kUp][topo.scaleup_up_link(s)] += intra;
      count[kUp][topo.scaleup_down_link(s)] += intra;
      flows[kUp] += intra;
      topo.up_links(s, up);
      topo.down_links(s, down);
      for (int id : up) count[kLeaf][id] += same_leaf, count[kCross][id] += cross;
      for (int id : down) count[kLeaf][id] += same_leaf, count[kCross][id] += cross;
      flows[kLeaf] += same_leaf;
      flows[kCross] += cross;
      latency[kUp] = topo.path_latency_s({topo.scaleup_up_link(s), topo.scaleup_down_link(s)});
      edge_latency = std::max(edge_latency, topo.path_latency_s(up) + topo.path_latency_s(down));
    }
    latency[kLeaf] = std::max(latency[kLeaf], edge_latency);
    // Leaf-to-leaf flows: under D-mod-k the path from a leaf depends only on the destination, so
    // the flows from leaf A to GPU d all take one path: as many as A holds ranks outside d's domain.
    for (const auto& [a, na] : in_leaf)
      for (int d : ranks) {
        if (topo.leaf_of(d) == a) continue;
        const auto it = in_domain_leaf.find({topo.domain_of(d), a});
        const double m = na - (it == in_domain_leaf.end() ? 0 : it->second);
        if (m <= 0) continue;
        topo.leaf_path_to(a, d, path);
        for (int id : path) count[kCross][id] += m;
        latency[kCross] = std::max(latency[kCross], edge_latency + topo.path_latency_s(path));
      }
  }
  std::vector<FlowGroup> out;
  for (int c = 0; c < 3; ++c) {
    if (flows[c] <= 0) continue;
    FlowGroup grp;
    grp.flows = flows[c];
    grp.link_class = c == kUp ? LinkClass::scaleup : LinkClass::scaleout;
    grp.latency_s = latency[c] + b.alpha_s(grp.link_class, "all_to_all");
    grp.bytes_factor = 1 / b.efficiency(grp.link_class, "all_to_all");
    for (int id = 0; id < links; ++id)
      if (count[c][id] > 0) grp.link_flows.push_back({id, count[c][id]});
    out.push_back(std::move(grp));
  }
  return out;
}

int log2_ceil(int n) {
  int d = 0;
  while ((1 << d) < n) ++d;
  return d;
}

}  // namespace

std::string resolve_algorithm(const CollectiveSpec& spec, const Topology& topo) {
  std::vector<int> ranks = spec.ranks;
  if (ranks.empty()) {
    ranks.resize(topo.gpu_count());
    std::iota(ranks.begin(), ranks.end(), 0);
  }
  const bool one_domain = by_domain(topo, ranks).size() == 1;
  const auto& op = spec.op;
  const auto& a = spec.algorithm;
  if (op != "all_reduce" && op != "all_gather" && op != "reduce_scatter" && op != "all_to_all")
    throw InputError("--op", "", "\"" + op + "\": expected all_reduce|all_gather|reduce_scatter|all_to_all");
  if (a == "auto") {
    if (op == "all_to_all") return "direct";
    if (op == "all_reduce" && one_domain && spec.nvls_capable) return "nvls";
    return "ring";
  }
  if (a == "direct" && op != "all_to_all") throw InputError("--algorithm", "", "direct is an all_to_all algorithm");
  if ((a == "ring" || a == "tree") && op == "all_to_all")
    throw InputError("--algorithm", "", a + " does not apply to all_to_all: expected direct|hierarchical");
  if (a == "tree" && op != "all_reduce") throw InputError("--algorithm", "", "tree is an all_reduce algorithm");
  if (a == "nvls" && (op != "all_reduce" || !one_domain))
    throw InputError("--algorithm", "",
                     "nvls reduces in one NVSwitch domain: all_reduce with every rank in one domain");
  if (a == "sharp" && (op != "all_reduce" || one_domain))
    throw InputError("--algorithm", "", "sharp reduces in the scale-out switches: all_reduce over several domains");
  if (a != "ring" && a != "tree" && a != "direct" && a != "hierarchical" && a != "nvls" && a != "sharp")
    throw InputError("--algorithm", "", "\"" + a + "\": expected ring|tree|direct|hierarchical|nvls|sharp|auto");
  return a;
}

namespace {

// The main instance and its copies: each copy as large as the main one, the same shape over the
// scale-up domains (a bijection between the domains they use, rank by rank), and no GPU in two.
std::vector<std::vector<int>> instances_of(const Topology& topo, const CollectiveSpec& spec, std::vector<int> ranks) {
  std::vector<std::vector<int>> out{std::move(ranks)};
  if (spec.copies.empty()) return out;
  out.reserve(1 + spec.copies.size());  // `first` stays valid
  const auto& first = out.front();
  std::vector<char> used(topo.gpu_count(), 0);
  for (int r : first)
    if (r >= 0 && r < topo.gpu_count()) used[r] = 1;
  for (std::size_t c = 0; c < spec.copies.size(); ++c) {
    const auto& copy = spec.copies[c];
    if (copy.size() != first.size())
      throw InputError(
          fmt::format("collective: copy {} has {} ranks, the main instance {}", c, copy.size(), first.size()));
    std::map<int, int> fwd, bwd;  // main's domain -> copy's, and back
    for (std::size_t i = 0; i < copy.size(); ++i) {
      const int r = copy[i];
      if (r < 0 || r >= topo.gpu_count())
        throw InputError(fmt::format("collective: copy {}: GPU {} is not in the topology", c, r));
      if (used[r])
        throw InputError(fmt::format("collective: copy {}: GPU {} already takes part in another instance", c, r));
      used[r] = 1;
      const int dm = topo.domain_of(first[i]), dc = topo.domain_of(r);
      if (fwd.try_emplace(dm, dc).first->second != dc || bwd.try_emplace(dc, dm).first->second != dm)
        throw InputError(
            fmt::format("collective: copy {} does not have the main instance's shape over the scale-up "
                        "domains",
                        c));
    }
    out.push_back(copy);
  }
  return out;
}

using Instances = std::vector<std::vector<int>>;

InputError instance_shape_error() {
  return InputError(
      "collective: a copy does not have the main instance's shape (its nodes hold its ranks differently)");
}

// Ring algorithms: NCCL's rings over every instance.
int ring_collective(Builder& b, const CollectiveSpec& spec, const Instances& inst, int n,
                    const std::vector<int>& after) {
  const Topology& topo = b.topo;
  const auto& op = spec.op;
  std::vector<std::vector<int>> rs;
  std::size_t per = 0;
  for (const auto& ri : inst) {
    auto r = nccl_rings(topo, ri);
    if (per == 0) per = r.size();
    if (r.size() != per) throw instance_shape_error();
    rs.insert(rs.end(), r.begin(), r.end());
  }
  const double per_ring = spec.bytes / per;
  const int pi = static_cast<int>(per);
  if (op == "all_reduce") return b.rings(rs, pi, per_ring, {{"reduce_scatter", n - 1}, {"all_gather", n - 1}}, after);
  return b.rings(rs, pi, per_ring, {{op, n - 1}}, after);
}

// Two-level reductions and all-gathers (rings inside each scale-up domain and across domains),
// and SHARP all-reduce.
int hierarchical_collective(Builder& b, const CollectiveSpec& spec, const Instances& inst, const std::string& algo,
                            const std::vector<int>& after) {
  TaskGraph& g = b.g;
  const Topology& topo = b.topo;
  const auto& op = spec.op;
  const int track = b.track;
  std::vector<std::vector<int>> doms, cross;
  int m = 0, d = 0;
  for (const auto& ri : inst) {
    const auto di = by_domain(topo, ri);
    if (m == 0) m = static_cast<int>(di.front().size()), d = static_cast<int>(di.size());
    if (static_cast<int>(di.front().size()) != m || static_cast<int>(di.size()) != d) throw instance_shape_error();
    for (int j = 0; j < m; ++j) {
      cross.emplace_back();
      for (const auto& dom : di) cross.back().push_back(dom[j]);
    }
    doms.insert(doms.end(), di.begin(), di.end());
  }
  int t = -1;
  if (algo == "sharp") {
    // InfiniBand SHARP: in-network reduction in the scale-out switches. Reduce-scatter inside
    // each domain; then every rank's shard goes up the switch tree once and comes back reduced
    // once (each NIC sends and receives the shard once, against 2(d-1)/d shards for a ring):
    // the link load of a shift by one domain among the ranks of the same local index, at the
    // profile's scale-out all-reduce efficiency; then all-gather inside each domain.
    std::vector<Pairs> shift(inst.size());
    for (std::size_t x = 0; x < cross.size(); ++x)
      for (int i = 0; i < d; ++i) shift[x / m].push_back({cross[x][i], cross[x][(i + 1) % d]});
    t = b.rings(doms, d, spec.bytes, {{"reduce_scatter", m - 1}}, after);
    const int bt = b.batch(b.groups_for(shift, "all_reduce"));
    t = g.add_transfer(bt, spec.bytes / m, {t}, b.label + " sharp", track);
    t = b.rings(doms, d, spec.bytes, {{"all_gather", m - 1}}, {t});
  } else if (op == "all_reduce") {
    t = b.rings(doms, d, spec.bytes, {{"reduce_scatter", m - 1}}, after);
    t = b.rings(cross, m, spec.bytes / m, {{"reduce_scatter", d - 1}, {"all_gather", d - 1}}, {t});
    t = b.rings(doms, d, spec.bytes, {{"all_gather", m - 1}}, {t});
  } else if (op == "all_gather") {
    t = b.rings(cross, m, spec.bytes / m, {{"all_gather", d - 1}}, after);
    t = b.rings(doms, d, spec.bytes, {{"all_gather", m - 1}}, {t});
  } else {
    t = b.rings(doms, d, spec.bytes, {{"reduce_scatter", m - 1}}, after);
    t = b.rings(cross, m, spec.bytes / m, {{"reduce_scatter", d - 1}}, {t});
  }
  return t;
}

// NVLink SHARP all-reduce inside one NVSwitch domain.
int nvls_all_reduce(Builder& b, const CollectiveSpec& spec, const Instances& inst, int n,
                    const std::vector<int>& after) {
  TaskGraph& g = b.g;
  const int track = b.track;
  // Each rank sends its buffer into the switch once and receives the result once: the link
  // load of a shift by one. The profile's scale-up all-reduce figure is NVLS's bus bandwidth
  // (nccl-tests convention, 2(n-1)/n wire factor), so that factor goes into the bytes.
  std::vector<Pairs> per(inst.size());
  for (std::size_t c = 0; c < inst.size(); ++c)
    for (int i = 0; i < n; ++i) per[c].push_back({inst[c][i], inst[c][(i + 1) % n]});
  const double scale = bus_factor("all_reduce", n);
  const int bt = b.batch(b.groups_for(per, "all_reduce", scale));
  return g.add_transfer(bt, spec.bytes, after, b.label + " nvls", track);
}

// Double-binary-tree all-reduce.
int tree_all_reduce(Builder& b, const CollectiveSpec& spec, const Instances& inst, int n,
                    const std::vector<int>& after) {
  TaskGraph& g = b.g;
  const Profile& profile = b.profile;
  const int track = b.track;
  // Double binary tree: tree 1 over positions (parent (i-1)/2), tree 2 its mirror; each moves
  // half the data up (reduce) and down (broadcast), pipelined so all edges run together.
  std::vector<Pairs> up_pairs(inst.size()), down_pairs(inst.size());
  for (std::size_t c = 0; c < inst.size(); ++c)
    for (int tree = 0; tree < 2; ++tree)
      for (int i = 1; i < n; ++i) {
        const int child = tree == 0 ? i : n - 1 - i;
        const int parent = tree == 0 ? (i - 1) / 2 : n - 1 - (i - 1) / 2;
        up_pairs[c].push_back({inst[c][child], inst[c][parent]});
        down_pairs[c].push_back({inst[c][parent], inst[c][child]});
      }
  auto groups = b.groups_for(up_pairs, "reduce_scatter");
  auto down = b.groups_for(down_pairs, "all_gather");
  groups.insert(groups.end(), down.begin(), down.end());
  // Pipeline fill: a chunk climbs and descends the tree's depth, paying α per level.
  const double fill = 2 * log2_ceil(n + 1) * profile.collective(LinkClass::scaleout, "all_reduce").alpha_s;
  for (auto& grp : groups) grp.latency_s += fill;
  const int bt = b.batch(std::move(groups));
  return g.add_transfer(bt, spec.bytes / 2, after, b.label + " tree", track);
}

// Hierarchical all-to-all (DeepEP normal kernels): RDMA between same-index ranks, NVLink inside
// each domain.
int hierarchical_all_to_all(Builder& b, const CollectiveSpec& spec, const Instances& inst, int n,
                            const std::vector<int>& after) {
  TaskGraph& g = b.g;
  const Topology& topo = b.topo;
  const int track = b.track;
  std::vector<Pairs> rdma(inst.size()), nvlink(inst.size());
  int m = 0, d = 0;
  for (std::size_t c = 0; c < inst.size(); ++c) {
    const auto doms = by_domain(topo, inst[c]);
    if (m == 0) m = static_cast<int>(doms.front().size()), d = static_cast<int>(doms.size());
    if (static_cast<int>(doms.front().size()) != m || static_cast<int>(doms.size()) != d) throw instance_shape_error();
    for (int di = 0; di < d; ++di)
      for (int j = 0; j < m; ++j) {
        for (int dj = 0; dj < d; ++dj)
          if (dj != di) rdma[c].push_back({doms[di][j], doms[dj][j]});
        for (int k = 0; k < m; ++k)
          if (k != j) nvlink[c].push_back({doms[di][j], doms[di][k]});
      }
  }
  // Per pair: RDMA carries the bytes for all m GPUs of the peer node; NVLink carries, for each
  // local peer, its share from every domain (forwarded) including its own.
  auto groups = b.groups_for(rdma, "all_to_all", m);
  auto local = b.groups_for(nvlink, "all_to_all", d);
  groups.insert(groups.end(), local.begin(), local.end());
  const int bt = b.batch(std::move(groups));
  return g.add_transfer(bt, spec.bytes / n, after, b.label + " hierarchical", track);
}

// Direct all-to-all: every rank to every other, optionally skewed towards a hot rank.
int direct_all_to_all(Builder& b, const CollectiveSpec& spec, const Instances& inst, int n,
                      const std::vector<int>& after) {
  TaskGraph& g = b.g;
  const Topology& topo = b.topo;
  const int track = b.track;
  std::vector<FlowGroup> groups;
  if (spec.hot_rank >= 0 && spec.hot_rank < n && spec.hot_rank_load != 1) {
    // Skewed: flows into the hot rank (of every instance) carry load x the mean; the other flows
    // the rest, evenly.
    const double others = (n - spec.hot_rank_load) / (n - 1.0);
    std::vector<Pairs> to_hot(inst.size()), rest(inst.size());
    for (std::size_t c = 0; c < inst.size(); ++c) {
      const int hot = inst[c][spec.hot_rank];
      for (int s : inst[c])
        for (int d : inst[c])
          if (s != d) (d == hot ? to_hot[c] : rest[c]).push_back({s, d});
    }
    groups = b.groups_for(to_hot, "all_to_all", spec.hot_rank_load);
    for (auto& grp : b.groups_for(rest, "all_to_all", std::max(0.0, others))) groups.push_back(std::move(grp));
  } else if (spec.aggregate && topo.fixed_nics() && topo.ecmp() == Ecmp::dmodk) {
    if (b.separate) {
      for (const auto& ri : inst)
        for (auto& grp : all_to_all_counted(b, {ri})) groups.push_back(std::move(grp));
    } else {
      groups = all_to_all_counted(b, inst);
    }
  } else {
    std::vector<Pairs> per(inst.size());
    for (std::size_t c = 0; c < inst.size(); ++c)
      for (int s : inst[c])
        for (int d : inst[c])
          if (s != d) per[c].push_back({s, d});
    groups = b.groups_for(per, "all_to_all");
  }
  if (spec.scaleout_fraction >= 0) {
    const int local = static_cast<int>(by_domain(topo, inst.front()).front().size());
    const double uniform = static_cast<double>(n - local) / n;
    if (uniform > 0)
      for (auto& grp : groups)
        if (grp.link_class == LinkClass::scaleout) grp.bytes_factor *= spec.scaleout_fraction / uniform;
  }
  const int bt = b.batch(std::move(groups));
  return g.add_transfer(bt, spec.bytes / n, after, b.label + " direct", track);
}

}  // namespace

std::vector<int> append_collective(TaskGraph& g, const Topology& topo, const Profile& profile,
                                   const CollectiveSpec& spec, const std::vector<int>& after, bool exclusive,
                                   const std::string& label, int track) {
  std::vector<int> ranks = spec.ranks;
  if (ranks.empty()) {
    ranks.resize(topo.gpu_count());
    std::iota(ranks.begin(), ranks.end(), 0);
  }
  const int n = static_cast<int>(ranks.size());
  Builder b{g, topo, profile, spec.aggregate, exclusive, label.empty() ? spec.op : label, track};
  if (n < 2 || spec.bytes <= 0) return {b.join(after, " (no-op)")};
  const std::string algo = resolve_algorithm(spec, topo);
  const auto& op = spec.op;
  const auto inst = instances_of(topo, spec, std::move(ranks));
  b.separate = spec.separate_copies;
  b.keep_members = inst.size() == 1;
  if (algo == "ring") return {ring_collective(b, spec, inst, n, after)};
  if ((algo == "hierarchical" && op != "all_to_all") || algo == "sharp")
    return {hierarchical_collective(b, spec, inst, algo, after)};
  if (algo == "nvls") return {nvls_all_reduce(b, spec, inst, n, after)};
  if (algo == "tree") return {tree_all_reduce(b, spec, inst, n, after)};
  if (algo == "hierarchical") return {hierarchical_all_to_all(b, spec, inst, n, after)};  // DeepEP normal kernels
  return {direct_all_to_all(b, spec, inst, n, after)};
}

CollectiveResult simulate_collective(const Topology& topo, const Profile& profile, const CollectiveSpec& spec,
                                     NetworkBackend& backend) {
  TaskGraph g;
  CollectiveResult r;
  r.algorithm = resolve_algorithm(spec, topo);
  append_collective(g, topo, profile, spec, {}, spec.aggregate);
  const auto res = backend.execute(topo, g);
  const int n = spec.ranks.empty() ? topo.gpu_count() : static_cast<int>(spec.ranks.size());
  r.time_s = res.makespan_s;
  r.algbw_bps = r.time_s > 0 ? spec.bytes / r.time_s : 0;
  r.busbw_bps = r.algbw_bps * bus_factor(spec.op, n);
  r.flows = g.flow_count();
  r.tasks = static_cast<long long>(g.tasks.size());
  r.events = res.events;
  r.variables = res.variables;
  return r;
}

}  // namespace gwsim::net
