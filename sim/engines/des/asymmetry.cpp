// Asymmetry on the representative GPUs of a simulated step: see asymmetry.h.
#include "gwsim/sim/engines/des/asymmetry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/network/topology.h"

namespace gwsim {

namespace {

int stage_of(const JsonObject& o, int pp) { return o.int_in_or("stage", 0, pp - 1, 0); }

// Shares of routed slots per expert, most popular first: Zipf, then capped at 1/top_k (a token
// picks an expert at most once, so no expert can take more than 1/k of the slots), the excess
// spread over the uncapped experts in proportion (water filling).
std::vector<double> slot_shares(int experts, double s, int top_k) {
  std::vector<double> p(experts);
  for (int i = 0; i < experts; ++i) p[i] = 1 / std::pow(i + 1.0, s);
  const double cap = top_k > 0 ? 1.0 / top_k : 1.0;
  std::vector<bool> capped(experts, false);
  for (int round = 0; round < experts; ++round) {
    double fixed = 0, free_sum = 0;
    for (int i = 0; i < experts; ++i) (capped[i] ? fixed : free_sum) += capped[i] ? cap : p[i];
    bool changed = false;
    for (int i = 0; i < experts; ++i) {
      if (capped[i]) continue;
      p[i] *= (1 - fixed) / free_sum;
      if (p[i] > cap) capped[i] = true, changed = true;
    }
    for (int i = 0; i < experts; ++i)
      if (capped[i]) p[i] = cap;
    if (!changed) break;
  }
  return p;
}

}  // namespace

Asymmetry parse_asymmetry(const nlohmann::json& value, const std::string& file, int pp) {
  JsonObject o(value, file, "$.asymmetry");
  Asymmetry a;
  a.file = file;
  if (o.has("straggler")) {
    const auto s = o.object("straggler");
    a.straggler.active = true;
    a.straggler.stage = stage_of(s, pp);
    a.straggler.slowdown_pct = s.number("slowdown_pct");
    if (!(a.straggler.slowdown_pct > 0)) s.fail("slowdown_pct", "expected a slowdown above 0 %");
    s.reject_unknown_keys();
  }
  if (o.has("degraded_link")) {
    const auto l = o.object("degraded_link");
    auto& d = a.link;
    d.active = true;
    d.stage = stage_of(l, pp);
    d.link = l.one_of("link", {"nic", "nvlink", "leaf_uplink"});
    d.failed = l.boolean_or("failed", false);
    if (d.failed == l.has("capacity_pct"))
      l.fail(d.failed ? "capacity_pct" : "link",
             "expected either \"capacity_pct\" (a degraded link) or \"failed\": true");
    if (d.failed && d.link == "nvlink")
      l.fail("failed",
             "a GPU whose NVLink failed leaves the job: expected a degraded nvlink (capacity_pct) or a nic / "
             "leaf_uplink failure");
    if (!d.failed) {
      d.capacity_pct = l.number("capacity_pct");
      if (!(d.capacity_pct > 0 && d.capacity_pct < 100))
        l.fail("capacity_pct", fmt::format("expected a remaining capacity in (0, 100) %, got {}", d.capacity_pct));
    }
    l.reject_unknown_keys();
  }
  if (o.has("expert_routing")) {
    const auto e = o.object("expert_routing");
    auto& x = a.experts;
    x.active = true;
    if (e.has("zipf_exponent") == e.has("hottest_rank_load"))
      e.fail("zipf_exponent", "expected one of \"zipf_exponent\" and \"hottest_rank_load\"");
    if (e.has("zipf_exponent")) {
      x.zipf_exponent = e.number("zipf_exponent");
      if (!(x.zipf_exponent >= 0 && x.zipf_exponent <= 4))
        e.fail("zipf_exponent", fmt::format("expected an exponent in [0, 4], got {}", x.zipf_exponent));
    } else {
      x.hottest_rank_load = e.number("hottest_rank_load");
      if (!(x.hottest_rank_load >= 1))
        e.fail("hottest_rank_load",
               fmt::format("expected the busiest rank's load over the mean, 1 or more, got {}", x.hottest_rank_load));
    }
    e.reject_unknown_keys();
  }
  o.reject_unknown_keys();
  if (!a.any())
    throw InputError(file, "$.asymmetry", "expected at least one of straggler, degraded_link, expert_routing");
  return a;
}

double hottest_rank_load_zipf(int experts, int ep, double s, std::uint64_t seed, int top_k) {
  if (experts <= 0 || ep <= 1) return 1;
  const auto share = slot_shares(experts, s, top_k);
  // Seeded Fisher-Yates with a portable draw (std::shuffle's algorithm is not specified).
  std::vector<int> where(experts);
  for (int i = 0; i < experts; ++i) where[i] = i;
  std::mt19937_64 rng(seed);
  for (int i = experts - 1; i > 0; --i) std::swap(where[i], where[static_cast<int>(rng() % (i + 1))]);
  std::vector<double> rank_load(ep, 0);
  const int per_rank = std::max(1, experts / ep);
  for (int i = 0; i < experts; ++i) rank_load[std::min(ep - 1, where[i] / per_rank)] += share[i];
  return *std::max_element(rank_load.begin(), rank_load.end()) * ep;
}

TrainingPlan apply_compute_asymmetry(const TrainingPlan& plan, const Asymmetry& a, const ModelSpec& model,
                                     std::uint64_t seed, AppliedAsymmetry& out) {
  TrainingPlan p = plan;
  auto each_op = [](StageWork& w, auto&& f) {
    for (auto* list : {&w.forward, &w.backward_input, &w.backward_weight, &w.recompute})
      for (auto& o : *list) f(o);
  };
  if (a.experts.active) {
    if (!model.moe || plan.par.ep <= 1)
      throw InputError(a.file, "$.asymmetry.expert_routing", "skewed expert routing needs an MoE model with ep > 1");
    const auto& e = *model.moe;
    double load = a.experts.hottest_rank_load;
    if (load <= 0) load = hottest_rank_load_zipf(e.routed_experts, plan.par.ep, a.experts.zipf_exponent, seed, e.top_k);
    load = std::min(load, static_cast<double>(plan.par.ep));
    out.hottest_rank_load = load;
    // The busiest rank's routed tokens, in place of the plan's own load (training.moe_hottest_rank_load,
    // 1 unless stated): its expert GEMMs and routed-token memory passes, and its EP traffic.
    set_hottest_rank_load(p, load);
    out.applied.push_back(
        a.experts.hottest_rank_load > 0
            ? fmt::format("expert routing: the busiest EP rank gets {:.3g}x the mean routed tokens (stated)", load)
            : fmt::format(
                  "expert routing: Zipf popularity (s = {:.3g}) over {} experts, capped at 1/top_k = 1/{} of the "
                  "slots, placed on {} EP ranks after a seeded shuffle: the busiest rank gets {:.3g}x the mean "
                  "routed tokens; it is each stage's simulated GPU (its expert GEMMs and its all-to-all traffic)",
                  a.experts.zipf_exponent, e.routed_experts, e.top_k, plan.par.ep, load));
  }
  if (a.straggler.active) {
    const double f = 1 + a.straggler.slowdown_pct / 100;
    // count scales an op's time linearly (the cost layer's op_time_s), unlike FLOPs (efficiency curves).
    each_op(p.stages[a.straggler.stage], [&](Op& o) { o.count *= f; });
    out.applied.push_back(
        fmt::format("straggler: stage {}'s GPU computes {:.3g}% slower; its TP, EP and PP peers "
                    "wait for it at every collective and its DP peers at the step's end",
                    a.straggler.stage, a.straggler.slowdown_pct));
  }
  return p;
}

void apply_link_asymmetry(net::Topology& topo, const Asymmetry& a, int gpu, AppliedAsymmetry& out) {
  if (!a.link.active) return;
  const auto& d = a.link;
  std::vector<int> up, down;
  if (d.link == "nvlink") {
    const double f = d.capacity_pct / 100;
    topo.scale_link_capacity(topo.scaleup_up_link(gpu), f);
    topo.scale_link_capacity(topo.scaleup_down_link(gpu), f);
    out.applied.push_back(
        fmt::format("degraded link: GPU {}'s NVLink (stage {}) at {:.3g}% of its bandwidth, both "
                    "directions",
                    gpu, d.stage, d.capacity_pct));
    return;
  }
  if (!topo.fixed_nics())
    throw InputError(a.file, "$.asymmetry.degraded_link",
                     "this cluster gives a GPU several NICs or fabric planes: expected a cluster with one NIC per GPU "
                     "on one plane for nic / leaf_uplink asymmetry");
  if (d.link == "nic") {
    auto scale_nic = [&](int g, double f) {
      topo.up_links(g, up);
      topo.down_links(g, down);
      for (int id : up) topo.scale_link_capacity(id, f);
      for (int id : down) topo.scale_link_capacity(id, f);
    };
    if (d.failed) {
      const int per_node = std::max(1, topo.cluster().gpus_per_node);
      const int peer = topo.node_of(gpu) * per_node + (gpu % per_node + 1) % per_node;
      if (peer == gpu)
        throw InputError(a.file, "$.asymmetry.degraded_link.failed",
                         "a node with one GPU has no peer NIC to fall back on");
      scale_nic(gpu, 0.5);
      scale_nic(peer, 0.5);
      out.applied.push_back(
          fmt::format("failed link: GPU {}'s NIC (stage {}) is down; NCCL falls back to PXN through "
                      "GPU {}'s NIC, which the two share (both NICs at 50%)",
                      gpu, d.stage, peer));
    } else {
      scale_nic(gpu, d.capacity_pct / 100);
      out.applied.push_back(fmt::format("degraded link: GPU {}'s NIC (stage {}) at {:.3g}% of its bandwidth", gpu,
                                        d.stage, d.capacity_pct));
    }
    return;
  }
  // leaf_uplink
  topo.leaf_uplinks(gpu, up);
  if (up.empty()) throw InputError(a.file, "$.asymmetry.degraded_link.link", "a one-tier fabric has no leaf uplinks");
  if (d.failed) {
    const double k = static_cast<double>(up.size());
    if (up.size() < 2)
      throw InputError(a.file, "$.asymmetry.degraded_link.failed",
                       "the leaf has one uplink: its failure cuts the leaf off");
    for (int id : up) topo.scale_link_capacity(id, (k - 1) / k);
    out.applied.push_back(
        fmt::format("failed link: one of the {} uplinks of GPU {}'s {} (stage {}) is down; ECMP "
                    "spreads its traffic over the other {} (all at {:.3g}%)",
                    up.size(), gpu, "leaf", d.stage, up.size() - 1, 100 * (k - 1) / k));
  } else {
    topo.scale_link_capacity(up.front(), d.capacity_pct / 100);
    out.applied.push_back(
        fmt::format("degraded link: {} -> first spine uplink of GPU {}'s {} (stage {}) at {:.3g}% "
                    "of its bandwidth",
                    topo.link_name(up.front()), gpu, "leaf", d.stage, d.capacity_pct));
  }
}

}  // namespace gwsim
