#include "gwsim/cost/cost.h"

#include <algorithm>
#include <cmath>

#include "gwsim/common/input_error.h"

namespace gwsim {

double bus_factor(const std::string& op, int n) {
  if (n <= 1) return 0;
  if (op == "all_reduce") return 2.0 * (n - 1) / n;
  if (op == "all_gather" || op == "reduce_scatter" || op == "all_to_all") return (n - 1.0) / n;
  if (op == "p2p") return 1;
  throw InputError("unknown collective \"" + op + "\": expected all_reduce|all_gather|reduce_scatter|all_to_all|p2p");
}

namespace {

double link_rate(LinkClass link, const ClusterSpec& c) {
  return link == LinkClass::scaleup ? c.scaleup_per_direction_bps : c.scaleout_per_gpu_bps();
}

// Latency of one collective over `ranks`, from the profile's α (a message's latency on the link:
// ISCA'25 Table 5's per-hop figures). NCCL runs all-gather and reduce-scatter as rings (its trees
// serve all-reduce only; NVLS and PAT need hardware or one rank per node), so they pay α at each of
// their ranks - 1 steps: 255 steps across 256 nodes, which is what makes layer-wise ZeRO-3 gathers
// over thousands of GPUs latency-bound. The des network engine runs the same rings step by step.
// All-reduce keeps a tree's depth, growing as log2(ranks).
double latency(const CollectiveEfficiency& e, const std::string& op, int ranks) {
  if (op == "all_gather" || op == "reduce_scatter") return e.alpha_s * std::max(1, ranks - 1);
  return e.alpha_s * std::max(1.0, std::log2(std::max(2, ranks)) / 3.0);
}

double flat_time(const std::string& op, double bytes, int n, LinkClass link, const ClusterSpec& c, const Profile& p) {
  if (n <= 1) return 0;
  const auto& e = p.collective(link, op);
  return latency(e, op, n) + bytes * bus_factor(op, n) / (link_rate(link, c) * e.bus_efficiency);
}

}  // namespace

CollectiveCost collective_cost(const CollectiveRequest& r, const ClusterSpec& c, const Profile& p) {
  CollectiveCost out;
  const int n = r.group;
  if (n <= 1 || r.bytes <= 0) return out;
  const int local = std::clamp(r.ranks_per_domain, 1, n);
  const int domains = (n + local - 1) / local;
  if (r.op == "p2p") {
    out.time_s = flat_time("p2p", r.bytes, 2, r.link, c, p);
    out.algorithm = "p2p";
  } else if (r.link == LinkClass::scaleup || domains == 1) {
    out.time_s = flat_time(r.op, r.bytes, n, LinkClass::scaleup, c, p);
    // In one scale-up domain the profile's figure is whatever NCCL picks there (ring, or NVLS on
    // NVSwitch systems), so the algorithm is named by where it runs.
    out.algorithm = r.op == "all_to_all" ? "direct (scale-up)" : "in-domain (scale-up)";
  } else if (r.op == "all_to_all") {
    // Direct all-to-all: intra-domain bytes go over NVLink while inter-domain bytes go over the NICs,
    // at the same time; the slower side sets the time.
    const double out_frac = r.scaleout_fraction >= 0 ? r.scaleout_fraction : (n - local) / static_cast<double>(n);
    const double in_frac = std::max(0.0, (local - 1.0) / n);
    const auto& eu = p.collective(LinkClass::scaleup, "all_to_all");
    const auto& eo = p.collective(LinkClass::scaleout, "all_to_all");
    const double t_up = r.bytes * in_frac / (c.scaleup_per_direction_bps * eu.bus_efficiency);
    const double t_out =
        r.bytes * out_frac / (c.scaleout_per_gpu_bps() / c.fabric.oversubscription * eo.bus_efficiency);
    out.time_s = latency(eo, "all_to_all", n) + std::max(t_up, t_out);
    out.algorithm = "direct (scale-up + scale-out)";
  } else if (local == 1) {
    // One rank per domain (rail-aligned): a flat ring or tree over the NICs.
    out.time_s = flat_time(r.op, r.bytes, n, LinkClass::scaleout, c, p);
    out.algorithm = "ring (scale-out)";
  } else {
    // Hierarchical: reduce-scatter / gather inside the domain, then each rank works on its 1/local
    // shard across domains over its own NIC, then all-gather / scatter back inside the domain.
    const double shard = r.bytes / local;
    double t = 0;
    if (r.op == "all_reduce") {
      t = 2 * flat_time("reduce_scatter", r.bytes, local, LinkClass::scaleup, c, p) +
          flat_time("all_reduce", shard, domains, LinkClass::scaleout, c, p);
    } else {  // all_gather / reduce_scatter: one inter-domain phase and one intra-domain phase
      t = flat_time(r.op, r.bytes, local, LinkClass::scaleup, c, p) +
          flat_time(r.op, shard, domains, LinkClass::scaleout, c, p);
    }
    out.time_s = t;
    out.algorithm = "hierarchical";
  }
  out.algbw_bps = r.bytes / out.time_s;
  out.busbw_bps = out.algbw_bps * bus_factor(r.op, n);
  return out;
}

}  // namespace gwsim

namespace gwsim {

CollectiveRequest comm_request(const Comm& c, double bytes) {
  // Only an all-to-all has a scale-out share of its own (node-limited routing); the others split
  // their bytes by algorithm.
  return CollectiveRequest{
      c.op, bytes, c.group, c.link, c.ranks_per_domain, c.op == "all_to_all" ? c.scaleout_fraction : -1};
}

CollectiveCost comm_cost(const Comm& c, const TrainingPlan& plan, const ClusterSpec& cluster, const Profile& profile) {
  CollectiveCost cost = collective_cost(comm_request(c, c.bytes), cluster, profile);
  if (c.kind == CommKind::ep) cost.time_s *= plan.hottest_rank_load;
  return cost;
}

}  // namespace gwsim
