// gwsim rl RL.json [--set path.key=value ...] [--backend analytical|des|simgrid] [--out report.json]
//          [--compare-placements] [--quiet]
#include <iostream>

#include "commands.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/engines/step_backend.h"
#include "gwsim/sim/planning/rl/rl_report.h"
#include "gwsim/sim/report/report.h"

namespace gwsim::cli {

void add_rl_command(CLI::App& app) {
  struct Options {
    std::string scenario;
    std::vector<std::string> overrides;
    std::string backend = "analytical";
    std::string out;
    bool compare = false;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "rl", "Estimate RL post-training (GRPO/PPO): rollout with its tail, log-prob passes, updates, weight sync");
  cmd->add_option("scenario", opt->scenario, "RL scenario JSON file (schema gwsim.rl/1)")->required();
  cmd->add_option("--set", opt->overrides,
                  "Override a value: path.to.key=value (repeatable); training.<key> and rollout.<key> reach the "
                  "policy's training and rollout scenarios");
  cmd->add_option("--backend", opt->backend, "Training step backend for the update and log-prob passes")
      ->check(CLI::IsMember(step_backend_names()));
  cmd->add_option("--out", opt->out, "Write the JSON report (with --compare-placements: the comparison) here");
  cmd->add_flag("--compare-placements", opt->compare,
                "Compare colocated against disaggregated pool splits of the same GPUs, with and without overlap");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->callback([opt] {
    const auto report = opt->compare ? compare_rl_placements(opt->scenario, opt->overrides, opt->backend)
                                     : run_rl(load_rl_scenario(opt->scenario, opt->overrides), opt->backend);
    // Checked (finite, bounded) even when not written; written only once everything succeeded.
    const std::string text = report_text(report, opt->scenario);
    if (!opt->out.empty()) write_file_atomically(opt->out, text, "--out");
    if (!opt->quiet) std::cout << (opt->compare ? format_rl_comparison(report) : format_rl_summary(report));
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
