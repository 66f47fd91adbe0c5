// gwsim run SCENARIO [--set k=v ...] [--backend analytical|des|simgrid] [--trace trace.json] [--out report.json]
#include <fstream>
#include <iostream>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/sim/report.h"

namespace gwsim::cli {

void add_run_command(CLI::App& app) {
  struct Options {
    std::string scenario;
    std::vector<std::string> overrides;
    std::string backend = "analytical";
    std::string out;
    std::string trace;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "Estimate a training scenario and write its report");
  cmd->add_option("scenario", opt->scenario, "Scenario JSON file")->required();
  cmd->add_option("--set", opt->overrides, "Override a scenario value: path.to.key=value (repeatable)");
  cmd->add_option("--backend", opt->backend, "Estimation backend")->check(CLI::IsMember({"analytical", "des", "simgrid"}));
  cmd->add_option("--trace", opt->trace, "des|simgrid: write a Chrome trace-event JSON of the step (ui.perfetto.dev)");
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->callback([opt] {
    auto scenario = load_scenario(opt->scenario, opt->overrides);
    if (!opt->trace.empty() && opt->backend == "analytical")
      throw InputError("--trace", "", "a trace needs a simulated step: expected --backend des|simgrid");
    auto run = run_training(scenario, opt->backend, !opt->trace.empty());
    // Write the report only once everything succeeded: bad input leaves no partial output.
    if (!opt->out.empty()) write_report(run.report, opt->out);
    if (!opt->trace.empty()) {
      std::ofstream t(opt->trace, std::ios::binary);
      if (!t) throw InputError(opt->trace, "", "cannot write the trace: expected a writable path");
      t << run.trace_json;
    }
    if (!opt->quiet) std::cout << format_summary(run.report);
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
