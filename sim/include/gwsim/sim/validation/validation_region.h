#pragma once
// The part of the design space a training run (or a serving deployment) sits in, as error bands
// compare it: the GPU family
// (the catalogue's architecture: Hopper covers H100/H800/H200/H20, Ampere A100/A800, ...), the
// parallelism kinds in use (degree > 1) and whether the model is MoE or dense. A validated row
// records the region of the scenario that produced it; a report finds the rows of its own region.
#include <string>
#include <vector>

#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/input/serving_scenario.h"

namespace gwsim {

struct ValidationRegion {
  std::string gpu_family;                // "Hopper", "Ampere", "Blackwell", ...
  std::vector<std::string> parallelism;  // those of tp, pp, ep, cp, dp with degree > 1, in that order
  std::string model;                     // "moe" or "dense"

  bool operator==(const ValidationRegion&) const = default;
  // "Hopper, pp+ep+dp, MoE"
  std::string describe() const;
};

ValidationRegion region_of(const Scenario& scenario);
// A serving scenario's region, from its decode instance: tp (attention_tp > 1), ep (experts over
// more than one GPU), dp (data-parallel attention: more GPUs than attention_tp).
ValidationRegion region_of(const ServingScenario& scenario);

// How many of the region's attributes differ (family, each parallelism kind present in one only,
// model): 0 inside the same region. Orders the nearest region of a scenario outside all of them.
int region_distance(const ValidationRegion& a, const ValidationRegion& b);

}  // namespace gwsim
