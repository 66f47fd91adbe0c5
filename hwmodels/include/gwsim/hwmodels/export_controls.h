#pragma once
// US export-control rules for AI accelerators as data (hwmodels/data/export_rules.json, schema
// "gwsim.export_rules/1") and a small classifier: which thresholds a chip crosses under each rule,
// by how much, and how a chip could be capped (interconnect, compute, HBM) to fall outside a rule.
//
// Metrics follow the regulation's definitions (ECCN 3A090 technical notes, 88 FR 73458):
//   TPP = 2 x MacTOPS x bit length  = dense TOPS x bit length (one MAC = 2 ops), highest over
//         the precisions the chip supports;
//   PD  = TPP / applicable die area (all logic dies on non-planar processes, HBM excluded).
#include <map>
#include <string>
#include <vector>

#include "gwsim/hwmodels/gpu.h"

namespace gwsim {

class JsonObject;

struct ExportRule {
  std::string id;    // "2022-10", "2023-10", "2024-12", "2025-01", "2025-04", "2026-01"
  std::string kind;  // tpp_and_io | tpp_pd | tpp_pd_hbm | diffusion | bandwidth | case_by_case
  std::string title;
  std::string citation;                          // the rule text this implements
  std::string effective;                         // date
  std::string status;                            // in force / superseded / rescinded, with date
  bool confirmed = true;                         // false: thresholds known only from secondary reports
  std::map<std::string, double> thresholds;      // kind-specific keys (see export_rules.json)
  std::map<std::string, double> variant_margin;  // how far below a threshold a derived cap lands
  std::string notes;
};

struct ExportRules {
  std::string source;
  std::vector<std::string> us_jurisdiction_vendors;  // others: classified by parameters only
  std::vector<ExportRule> rules;
  const ExportRule& find(const std::string& id) const;  // InputError listing the ids if absent
};

ExportRules parse_export_rules(const JsonObject& obj);
// <data>/hwmodels/data/export_rules.json, loaded once.
const ExportRules& export_rules();
// Checks `rule` names one of export_rules() (InputError at file/path listing them).
void require_export_rule(const std::string& rule, const std::string& file, const std::string& path);

struct ChipMetrics {
  double tpp = 0;             // dense TOPS x bit length, max over precisions
  std::string tpp_precision;  // the precision giving that maximum
  double die_area_mm2 = 0;
  double pd = 0;            // TPP / mm^2
  double io_bidir_gbs = 0;  // chip-to-chip (scale-up) I/O, both directions summed
  double dram_gbs = 0;      // HBM bandwidth
  bool datacenter = true;
};
ChipMetrics chip_metrics(const GpuSpec& gpu);

// One threshold test of a rule, with the numbers that decided it.
struct RuleCheck {
  std::string clause;  // e.g. "3A090.a.1", "is-informed DRAM bandwidth"
  std::string metric;  // "TPP", "PD", "I/O GB/s", "DRAM GB/s" ...
  double value = 0;
  std::string op;  // ">=" or "<"
  double threshold = 0;
  bool met = false;
  std::string text;  // "TPP 15832 >= 4800 (3.30x the threshold)"
};

struct RuleVerdict {
  std::string rule_id;
  bool controlled = false;  // a licence is required (for the rule's destinations)
  std::string category;     // "3A090", "3A090.a.1", "3A090.b.2", "not controlled", "case-by-case" ...
  std::string summary;      // one line: what it means
  std::vector<RuleCheck> checks;
  std::vector<std::string> notes;  // jurisdiction, caps, unconfirmed thresholds
};

RuleVerdict classify(const GpuSpec& gpu, const ExportRule& rule);
std::vector<RuleVerdict> classify_all(const GpuSpec& gpu, const ExportRules& rules);

// An explicit cap: kind is interconnect (= io) | compute | hbm; value in GB/s (interconnect, hbm)
// or TPP (compute). A cap above the chip's own figure or not positive is refused (InputError, with
// `origin` naming where the cap came from, e.g. "--cap").
struct Cap {
  std::string kind;
  double value = 0;
};
GpuSpec apply_caps(const GpuSpec& gpu, const std::vector<Cap>& caps, const std::string& origin,
                   std::vector<std::string>* applied_caps);

// Derives the variant of `gpu` that falls outside rule `rule_id` by capping one figure
// (cap_kind: interconnect | io | compute | hbm), as vendors did (H100 -> H800 under 2022-10,
// -> H20 under 2023-10). applied_caps receives one line per cap applied (or why none was needed).
// InputError when the rule has no threshold that this kind of cap can move under.
GpuSpec derive_compliant_variant(const GpuSpec& gpu, const std::string& rule_id, const std::string& cap_kind,
                                 std::vector<std::string>* applied_caps);

}  // namespace gwsim
