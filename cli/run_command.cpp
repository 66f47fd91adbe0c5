// gwsim run SCENARIO [--set k=v ...] [--backend analytical|des|simgrid] [--trace trace.json] [--out report.json]
#include <iostream>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/engines/step_backend.h"
#include "gwsim/sim/report/report.h"

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
  cmd->add_option("--backend", opt->backend, "Estimation backend")->check(CLI::IsMember(step_backend_names()));
  cmd->add_option("--trace", opt->trace, "des|simgrid: write a Chrome trace-event JSON of the step (ui.perfetto.dev)");
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->callback([opt] {
    auto scenario = load_scenario(opt->scenario, opt->overrides);
    if (!opt->trace.empty() && !find_step_backend(opt->backend).writes_trace())
      throw InputError("--trace", "", "a trace needs a simulated step: expected --backend des|simgrid");
    auto run = run_training(scenario, opt->backend, !opt->trace.empty());
    // Checked (finite, bounded) even when not written, so the summary never shows what the
    // report would refuse; files are written only once everything succeeded, all or nothing.
    const std::string report = report_text(run.report, opt->scenario);
    std::vector<OutputFile> files;
    if (!opt->out.empty()) files.push_back({opt->out, report, "--out"});
    if (!opt->trace.empty()) files.push_back({opt->trace, run.trace_json, "--trace"});
    write_files_atomically(files);
    if (!opt->quiet) std::cout << format_summary(run.report);
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
