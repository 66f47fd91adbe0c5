#pragma once
// Another chip in a scenario's cluster, as both planners search chips (`gwsim plan`'s
// search.chips, `gwsim plan --serving`'s search.chips): "NAME" or "NAME@RULE:CAP", an export-capped
// variant (docs/planner.md).
#include <nlohmann/json.hpp>

#include <string>

#include "gwsim/hwmodels/catalogue.h"

namespace gwsim {

struct ChipLabel {
  std::string name, rule, cap;  // rule and cap empty: the chip as catalogued
};

// Reads "NAME" or "NAME@RULE:CAP", checking the chip, the rule and the cap exist
// (InputError at file/path otherwise).
ChipLabel parse_chip_label(const std::string& label, const std::string& file, const std::string& path);

// The cluster document (`"cluster"` of a scenario: a catalogue name, {"file": ...} or inline)
// rewritten for `chip`: another GPU brings its own scale-up domain and bandwidth, nodes no larger
// than the domain with the NICs per GPU kept (as gwsim compare does); a capped variant adds its
// gpu_variant. `base` is that document as read, `base_chip` its GPU's catalogue name (uncapped).
// Sets `other_gpu` when the GPU changed, so the scenario's profile (the old chip's) must go.
nlohmann::json cluster_for_chip(const nlohmann::json& cluster_doc, const ClusterSpec& base,
                                const std::string& base_chip, const ChipLabel& chip, bool& other_gpu);

}  // namespace gwsim
