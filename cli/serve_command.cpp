// gwsim serve SERVING.json [--set path.key=value ...] [--out report.json] [--quiet]
#include <iostream>

#include "commands.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"

namespace gwsim::cli {

void add_serve_command(CLI::App& app) {
  struct Options {
    std::string scenario;
    std::vector<std::string> overrides;
    std::string out;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("serve",
                                 "Estimate decode serving: TPOT, tokens/s per GPU, batch that fits, GPUs for a target");
  cmd->add_option("scenario", opt->scenario, "Serving scenario JSON file (schema gwsim.serving/1)")->required();
  cmd->add_option("--set", opt->overrides,
                  "Override a value: path.to.key=value (repeatable), e.g. decode.kv_len=32768 or cluster.gpu=H20");
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the summary");
  cmd->callback([opt] {
    const auto report = run_serving(load_serving_scenario(opt->scenario, opt->overrides));
    // Checked (finite, bounded) even when not written; written only once everything succeeded.
    const std::string text = report_text(report, opt->scenario);
    if (!opt->out.empty()) write_file_atomically(opt->out, text, "--out");
    if (!opt->quiet) std::cout << format_serving_summary(report);
    if (!opt->out.empty() && !opt->quiet) std::cout << "  report               " << opt->out << "\n";
  });
}

}  // namespace gwsim::cli
