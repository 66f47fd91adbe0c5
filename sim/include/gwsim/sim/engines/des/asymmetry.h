#pragma once
// Breaking the symmetry of a simulated step on purpose ("asymmetry" in a scenario): one slow GPU,
// one degraded or failed link, skewed expert routing. The des/simgrid step simulates one
// representative GPU per pipeline stage; every asymmetry is placed on a representative, so the
// engine simulates the one GPU that differs and every collective it takes part in waits for it —
// which is what a synchronous step does. The report then gives the step with and without it.
//
// Scenario block (all parts optional; at least one):
//   "asymmetry": {
//     "straggler":      {"stage": 3, "slowdown_pct": 10},
//     "degraded_link":  {"stage": 0, "link": "nic" | "nvlink" | "leaf_uplink", "capacity_pct": 50}
//                    or {"stage": 0, "link": "nic" | "leaf_uplink", "failed": true},
//     "expert_routing": {"zipf_exponent": 1.0}  or  {"hottest_rank_load": 1.6}
//   }
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "gwsim/workloads/training_plan.h"

namespace gwsim {

namespace net {
class Topology;
}

struct Asymmetry {
  struct Straggler {
    bool active = false;
    int stage = 0;            // pipeline rank holding the slow GPU
    double slowdown_pct = 0;  // its compute takes this much longer
  } straggler;
  struct DegradedLink {
    bool active = false;
    int stage = 0;              // pipeline rank whose representative GPU owns the link
    std::string link = "nic";   // nic | nvlink | leaf_uplink
    double capacity_pct = 100;  // what is left of the link's bandwidth
    bool failed = false;
  } link;
  struct ExpertRouting {
    bool active = false;
    double zipf_exponent = 0;      // popularity of the i-th most popular expert ~ 1 / i^s
    double hottest_rank_load = 0;  // or stated: the busiest EP rank's tokens / the mean
  } experts;
  std::string file;  // the scenario, for errors found when the asymmetry meets the plan
  bool any() const { return straggler.active || link.active || experts.active; }
};

// Reads "$.asymmetry" strictly; `pp` bounds the stage indices. InputError (file, JSON path) on bad input.
Asymmetry parse_asymmetry(const nlohmann::json& value, const std::string& file, int pp);

// The busiest expert-parallel rank's routed tokens over the mean, for expert popularity
// ~ 1 / rank^s over `experts` experts (an expert's share of the routed slots capped at 1/top_k: a
// token picks an expert once) placed on `ep` ranks in contiguous blocks after a seeded shuffle
// (placement does not follow popularity, as with a fixed expert-to-GPU map). 1 when s = 0.
double hottest_rank_load_zipf(int experts, int ep, double zipf_exponent, std::uint64_t seed, int top_k);

// What the asymmetry does to the representative GPUs, resolved against a plan.
struct AppliedAsymmetry {
  double hottest_rank_load = 1;      // EP: the hot rank's tokens / the mean (1: balanced)
  std::vector<std::string> applied;  // one line per change, for the report
};

// Compute: the straggler's stage runs its ops (slowdown) longer; under skewed routing every
// stage's representative is its EP group's busiest rank, whose expert GEMMs see `load` x the mean
// tokens. Returns the plan to simulate.
TrainingPlan apply_compute_asymmetry(const TrainingPlan& plan, const Asymmetry& a, const ModelSpec& model,
                                     std::uint64_t seed, AppliedAsymmetry& out);

// Network: degrades or fails the link of `gpu` (the stage's representative) on the topology.
//   nic, failed        NCCL falls back to PXN through a peer GPU's NIC in the node: the two GPUs
//                      share one NIC; under max-min sharing between symmetric loads that is both
//                      NICs at half capacity (the peer is the next GPU of the node).
//   leaf_uplink, failed ECMP spreads the leaf's traffic over its remaining k-1 uplinks: all k at
//                      (k-1)/k of their capacity (the aggregate is exact; the per-destination
//                      remapping is not modelled).
//   degraded           the link (both directions) at capacity_pct; routes unchanged.
void apply_link_asymmetry(net::Topology& topo, const Asymmetry& a, int gpu, AppliedAsymmetry& out);

}  // namespace gwsim
