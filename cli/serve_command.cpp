// gwsim serve SERVING.json [--set path.key=value ...] [--out report.json] [--quiet]
//   [--simulate [--requests-csv FILE] [--trace FILE]]
#include <iostream>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"
#include "gwsim/sim/requests/simulator.h"

namespace gwsim::cli {

namespace {

struct Options {
  std::string scenario;
  std::vector<std::string> overrides;
  std::string out, requests_csv, trace;
  bool quiet = false, simulate = false;
};

// The request-level simulation of the scenario's "requests" section (docs/serving.md).
void run_simulation(const Options& opt) {
  const ServingScenario s = load_serving_scenario(opt.scenario, opt.overrides);
  requests::SimulationOptions so;
  so.request_rows = !opt.requests_csv.empty();
  so.trace = !opt.trace.empty();
  const auto result = requests::simulate_requests(s, so);
  const std::string text = report_text(result.report, opt.scenario);
  // Written only once everything succeeded, all of them or none.
  std::vector<OutputFile> files;
  if (!opt.out.empty()) files.push_back({opt.out, text, "--out"});
  if (so.request_rows) files.push_back({opt.requests_csv, result.requests_csv, "--requests-csv"});
  if (so.trace) files.push_back({opt.trace, result.trace_json, "--trace"});
  write_files_atomically(files);
  if (opt.quiet) return;
  std::cout << requests::format_simulation_summary(result.report);
  if (!opt.out.empty()) std::cout << "  report               " << opt.out << "\n";
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("serve",
                                 "Estimate decode serving: TPOT, tokens/s per GPU, batch that fits, GPUs for a target");
  cmd->add_option("scenario", opt->scenario, "Serving scenario JSON file (schema gwsim.serving/1)")->required();
  cmd->add_option("--set", opt->overrides,
                  "Override a value: path.to.key=value (repeatable), e.g. decode.kv_len=32768 or cluster.gpu=H20");
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->add_flag("--simulate", opt->simulate,
                "Simulate the scenario's \"requests\" section request by request (latency percentiles, goodput)");
  cmd->add_option("--requests-csv", opt->requests_csv, "With --simulate: write one CSV row per request here");
  cmd->add_option("--trace", opt->trace, "With --simulate: write a Chrome/Perfetto trace of instances and requests");
  cmd->callback([opt] {
    if (!opt->simulate && (!opt->requests_csv.empty() || !opt->trace.empty()))
      throw InputError("", "--requests-csv/--trace", "expected --simulate with them");
    if (opt->simulate) return run_simulation(*opt);
    const auto report = run_serving(load_serving_scenario(opt->scenario, opt->overrides));
    // Checked (finite, bounded) even when not written; written only once everything succeeded.
    const std::string text = report_text(report, opt->scenario);
    if (!opt->out.empty()) write_file_atomically(opt->out, text, "--out");
    if (!opt->quiet) std::cout << format_serving_summary(report);
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
