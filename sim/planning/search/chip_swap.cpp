#include "gwsim/sim/planning/chip_swap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/hwmodels/export_controls.h"

namespace gwsim {

ChipLabel parse_chip_label(const std::string& label, const std::string& file, const std::string& path) {
  ChipLabel c{label, "", ""};
  const auto at = label.find('@');
  if (at != std::string::npos) {
    c.name = label.substr(0, at);
    const auto colon = label.find(':', at);
    if (colon == std::string::npos || colon == at + 1 || colon + 1 == label.size())
      throw InputError(
          file, path,
          fmt::format("\"{}\": expected NAME or NAME@RULE:CAP (e.g. H100-SXM@2022-10:interconnect)", label));
    c.rule = label.substr(at + 1, colon - at - 1);
    c.cap = label.substr(colon + 1);
  }
  if (c.name.empty()) throw InputError(file, path, fmt::format("\"{}\": expected a GPU name", label));
  find_gpu(c.name, file, path);  // a misspelt chip names its path before any work
  if (c.rule.empty()) return c;
  require_export_rule(c.rule, file, path);
  const std::vector<std::string> caps{"interconnect", "io", "compute", "hbm"};
  if (std::find(caps.begin(), caps.end(), c.cap) == caps.end())
    throw InputError(file, path,
                     fmt::format("\"{}\": expected the cap to be one of interconnect, io, compute, hbm", c.cap));
  return c;
}

nlohmann::json cluster_for_chip(const nlohmann::json& cluster_doc, const ClusterSpec& base,
                                const std::string& base_chip, const ChipLabel& chip, bool& other_gpu) {
  nlohmann::json cluster = cluster_doc;
  if (cluster.is_string()) cluster = nlohmann::json{{"file", cluster}};
  cluster.erase("gpu_variant");
  const GpuSpec& g = find_gpu(chip.name, "", "");
  other_gpu = g.name != base_chip;
  if (other_gpu) {
    cluster["gpu"] = g.name;
    const int domain = static_cast<int>(g.scaleup_domain_gpus.value);
    cluster["scaleup_domain_gpus"] = domain;
    cluster["scaleup_bidir_gbs"] = g.scaleup_bidir_gbs.value;
    int gpn = base.gpus_per_node;
    if (gpn > domain || domain % gpn != 0) {
      const double nics_per_gpu = static_cast<double>(base.nics_per_node) / gpn;
      gpn = std::min(domain, 8);
      cluster["gpus_per_node"] = gpn;
      cluster["nics_per_node"] = std::max(1, static_cast<int>(std::lround(nics_per_gpu * gpn)));
    }
  }
  if (!chip.rule.empty()) cluster["gpu_variant"] = {{"rule", chip.rule}, {"cap", chip.cap}};
  return cluster;
}

}  // namespace gwsim
