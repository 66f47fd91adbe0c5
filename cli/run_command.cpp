// gwsim run SCENARIO [--set k=v ...] [--backend analytical] [--out report.json]
#include <iostream>

#include "commands.h"
#include "gwsim/sim/report.h"

namespace gwsim::cli {

void add_run_command(CLI::App& app) {
  struct Options {
    std::string scenario;
    std::vector<std::string> overrides;
    std::string backend = "analytical";
    std::string out;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "Estimate a training scenario and write its report");
  cmd->add_option("scenario", opt->scenario, "Scenario JSON file")->required();
  cmd->add_option("--set", opt->overrides, "Override a scenario value: path.to.key=value (repeatable)");
  cmd->add_option("--backend", opt->backend, "Estimation backend")->check(CLI::IsMember({"analytical"}));
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->callback([opt] {
    auto scenario = load_scenario(opt->scenario, opt->overrides);
    auto run = run_training(scenario, opt->backend);
    // Write the report only once everything succeeded: bad input leaves no partial output.
    if (!opt->out.empty()) write_report(run.report, opt->out);
    if (!opt->quiet) std::cout << format_summary(run.report);
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
