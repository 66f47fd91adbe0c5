// `gwsim chips` and `gwsim export-check`: the accelerator catalogue seen through the export-control
// rules (hwmodels/data/export_rules.json). Every verdict carries the thresholds that decided it.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/export_controls.h"

namespace gwsim::cli {

namespace {

nlohmann::json metrics_json(const ChipMetrics& m) {
  return {{"tpp", m.tpp},
          {"tpp_precision", m.tpp_precision},
          {"applicable_die_area_mm2", m.die_area_mm2},
          {"performance_density", m.pd},
          {"io_bidir_gbs", m.io_bidir_gbs},
          {"dram_gbs", m.dram_gbs},
          {"datacenter", m.datacenter}};
}

nlohmann::json verdict_json(const RuleVerdict& v) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : v.checks)
    checks.push_back({{"clause", c.clause},
                      {"metric", c.metric},
                      {"value", c.value},
                      {"op", c.op},
                      {"threshold", c.threshold},
                      {"met", c.met},
                      {"text", c.text}});
  return {{"rule", v.rule_id},    {"controlled", v.controlled}, {"category", v.category},
          {"summary", v.summary}, {"checks", checks},           {"notes", v.notes}};
}

void print_verdict(const RuleVerdict& v, const ExportRule& r) {
  fmt::print("  {} ({}; {}): {}{}\n", r.id, r.effective, r.status, v.category,
             v.controlled ? " [licence required]" : "");
  fmt::print("    {}\n", v.summary);
  for (const auto& c : v.checks) fmt::print("    {} {}\n", c.met ? "[met]    " : "[not met]", c.text);
  for (const auto& n : v.notes) fmt::print("    note: {}\n", n);
}

// "interconnect" (derive the cap from the rule) or "interconnect=450" (explicit cap value).
Cap parse_cap(const std::string& text) {
  Cap cap;
  auto eq = text.find('=');
  cap.kind = text.substr(0, eq);
  if (eq == std::string::npos) return cap;  // value 0: derive from the rule
  std::string value = text.substr(eq + 1);
  try {
    std::size_t used = 0;
    cap.value = std::stod(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
  } catch (const std::exception&) {
    throw InputError("", "--cap " + text, "expected KIND or KIND=NUMBER (GB/s for interconnect/hbm, TPP for compute)");
  }
  if (!(cap.value > 0)) throw InputError("", "--cap " + text, fmt::format("expected a positive cap, got {}", value));
  return cap;
}

}  // namespace

void add_export_commands(CLI::App& app) {
  // chips ---------------------------------------------------------------------------------------
  auto* chips =
      app.add_subcommand("chips", "List the accelerator catalogue with TPP, PD and export-control classification");
  auto chips_json = std::make_shared<bool>(false);
  chips->add_flag("--json", *chips_json, "Machine-readable output");
  chips->callback([chips_json]() {
    const auto& rules = export_rules();
    if (*chips_json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& g : gpu_catalogue()) {
        nlohmann::json verdicts = nlohmann::json::object();
        for (const auto& v : classify_all(g, rules)) verdicts[v.rule_id] = verdict_json(v);
        out.push_back({{"name", g.name},
                       {"vendor", g.vendor},
                       {"metrics", metrics_json(chip_metrics(g))},
                       {"classification", verdicts}});
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    // Column widths from the contents, so long categories stay aligned.
    std::vector<std::vector<RuleVerdict>> rows;
    std::vector<std::size_t> width(rules.rules.size());
    for (std::size_t i = 0; i < rules.rules.size(); ++i) width[i] = rules.rules[i].id.size();
    for (const auto& g : gpu_catalogue()) {
      rows.push_back(classify_all(g, rules));
      for (std::size_t i = 0; i < rows.back().size(); ++i)
        width[i] = std::max(width[i], rows.back()[i].category.size());
    }
    fmt::print("{:<14} {:>7} {:>6} {:>6} {:>6}", "chip", "TPP", "PD", "I/O", "DRAM");
    for (std::size_t i = 0; i < rules.rules.size(); ++i) fmt::print("  {:<{}}", rules.rules[i].id, width[i]);
    fmt::print("\n");
    for (std::size_t k = 0; k < gpu_catalogue().size(); ++k) {
      const GpuSpec& g = gpu_catalogue()[k];
      ChipMetrics m = chip_metrics(g);
      fmt::print("{:<14} {:>7.0f} {:>6.2f} {:>6.0f} {:>6.0f}", g.name, m.tpp, m.pd, m.io_bidir_gbs, m.dram_gbs);
      for (std::size_t i = 0; i < rows[k].size(); ++i) fmt::print("  {:<{}}", rows[k][i].category, width[i]);
      fmt::print("\n");
    }
    fmt::print("\nRules: ");
    for (const auto& r : rules.rules)
      fmt::print("{} {}{}; ", r.id, r.status, r.confirmed ? "" : " (thresholds unconfirmed)");
    fmt::print("\n");
    fmt::print(
        "\nTPP = dense TOPS x bit length (max over precisions); PD = TPP / applicable die area (mm2);\n"
        "I/O = chip-to-chip bidirectional GB/s; DRAM = HBM GB/s. `gwsim export-check --gpu NAME` gives the reasons.\n");
  });

  // export-check --------------------------------------------------------------------------------
  struct Opts {
    std::string gpu, spec, rule;
    std::vector<std::string> caps;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* check =
      app.add_subcommand("export-check", "Classify one chip (catalogue or custom spec) under the export-control rules");
  auto* gpu_opt = check->add_option("--gpu", o->gpu, "Catalogue GPU name or alias");
  auto* spec_opt = check->add_option("--spec", o->spec, "A gwsim.gpu/1 file describing a custom chip");
  gpu_opt->excludes(spec_opt);
  check->add_option("--rule", o->rule, "Rule id (2022-10, 2023-10, 2024-12, 2025-01, 2025-04, 2026-01); default: all");
  check->add_option("--cap", o->caps,
                    "Derive a limited variant: interconnect|io|compute|hbm (cap derived from --rule) or KIND=VALUE "
                    "(GB/s, or TPP for compute); repeatable");
  check->add_flag("--json", o->json, "Machine-readable output");
  check->callback([o]() {
    if (o->gpu.empty() == o->spec.empty())
      throw InputError("", "", "export-check: expected exactly one of --gpu NAME or --spec FILE");
    GpuSpec chip = o->gpu.empty() ? load_gpu_file(o->spec) : find_gpu(o->gpu, "", "--gpu");
    const auto& rules = export_rules();

    std::vector<std::string> applied;
    if (!o->caps.empty()) {
      if (o->rule.empty()) {
        // Explicit values need no rule; a derived cap does.
        for (const auto& text : o->caps)
          if (text.find('=') == std::string::npos)
            throw InputError("", "--cap " + text,
                             "a cap without a value is derived from a rule: expected --rule ID too");
      }
      for (const auto& text : o->caps) {
        Cap cap = parse_cap(text);
        chip = cap.value > 0 ? apply_caps(chip, {cap}, "--cap", &applied)
                             : derive_compliant_variant(chip, o->rule, cap.kind, &applied);
      }
    }

    std::vector<const ExportRule*> selected;
    if (o->rule.empty())
      for (const auto& r : rules.rules) selected.push_back(&r);
    else
      selected.push_back(&rules.find(o->rule));

    ChipMetrics m = chip_metrics(chip);
    if (o->json) {
      nlohmann::json out = {
          {"chip", chip.name}, {"vendor", chip.vendor}, {"metrics", metrics_json(m)}, {"applied_caps", applied}};
      nlohmann::json verdicts = nlohmann::json::array();
      for (const auto* r : selected) verdicts.push_back(verdict_json(classify(chip, *r)));
      out["verdicts"] = verdicts;
      std::cout << out.dump(2) << "\n";
      return;
    }
    fmt::print(
        "{} ({}): TPP {:.0f} ({}), PD {:.2f} (die {:.0f} mm2), chip-to-chip I/O {:.0f} GB/s, DRAM {:.0f} GB/s, {}\n",
        chip.name, chip.vendor, m.tpp, m.tpp_precision, m.pd, m.die_area_mm2, m.io_bidir_gbs, m.dram_gbs,
        m.datacenter ? "datacenter" : "not datacenter");
    for (const auto& a : applied) fmt::print("  cap applied: {}\n", a);
    for (const auto* r : selected) print_verdict(classify(chip, *r), *r);
  });
}

}  // namespace gwsim::cli
