#include "gwsim/sim/validation/validation_region.h"

#include <algorithm>

namespace gwsim {

std::string ValidationRegion::describe() const {
  std::string kinds;
  for (const auto& k : parallelism) kinds += (kinds.empty() ? "" : "+") + k;
  return gpu_family + ", " + (kinds.empty() ? "single GPU" : kinds) + ", " + (model == "moe" ? "MoE" : "dense");
}

ValidationRegion region_of(const Scenario& sc) {
  ValidationRegion r;
  r.gpu_family = sc.gpu.architecture;
  const auto& p = sc.parallelism;
  for (const auto& [name, degree] : {std::pair{"tp", p.tp}, std::pair{"pp", p.pp}, std::pair{"ep", p.ep},
                                     std::pair{"cp", p.cp}, std::pair{"dp", p.dp}})
    if (degree > 1) r.parallelism.emplace_back(name);
  r.model = sc.model.moe ? "moe" : "dense";
  return r;
}

ValidationRegion region_of(const ServingScenario& sc) {
  ValidationRegion r;
  r.gpu_family = sc.gpu.architecture;
  const InstanceLayout& l = sc.decode.layout;
  if (l.attention_tp > 1) r.parallelism.emplace_back("tp");
  if (l.ep > 1) r.parallelism.emplace_back("ep");
  if (l.gpus > l.attention_tp) r.parallelism.emplace_back("dp");
  r.model = sc.model.moe ? "moe" : "dense";
  return r;
}

int region_distance(const ValidationRegion& a, const ValidationRegion& b) {
  int d = (a.gpu_family != b.gpu_family) + (a.model != b.model);
  for (const auto& k : {"tp", "pp", "ep", "cp", "dp"}) {
    const bool in_a = std::find(a.parallelism.begin(), a.parallelism.end(), k) != a.parallelism.end();
    const bool in_b = std::find(b.parallelism.begin(), b.parallelism.end(), k) != b.parallelism.end();
    d += in_a != in_b;
  }
  return d;
}

}  // namespace gwsim
