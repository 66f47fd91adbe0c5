// gwsim compare SCENARIO --gpus A,B,NAME@RULE:CAP [--budget
// same_count|same_power|same_tpp] [--json]
#include <iostream>

#include "commands.h"
#include "gwsim/sim/planning/compare.h"

namespace gwsim::cli {

void add_compare_command(CLI::App& app) {
  struct Options {
    std::string scenario;
    std::vector<std::string> gpus;
    std::vector<std::string> overrides;
    std::string budget = "same_count";
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("compare",
                                 "Run one scenario's workload on several "
                                 "chips or export-control variants");
  cmd->add_option("scenario", opt->scenario, "Scenario JSON file")->required();
  cmd->add_option("--gpus", opt->gpus,
                  "Chips: catalogue names, or NAME@RULE:CAP for a capped "
                  "variant (comma-separated)")
      ->required()
      ->delimiter(',');
  cmd->add_option("--budget", opt->budget,
                  "GPU count: same_count, same_power (facility MW) or same_tpp "
                  "(total TPP)");
  cmd->add_option("--set", opt->overrides, "Override a scenario value: path.to.key=value (repeatable)");
  cmd->add_flag("--json", opt->json, "Print the comparison as JSON");
  cmd->callback([opt] {
    const auto budget = parse_compare_budget(opt->budget);  // before the (slower) scenario load
    auto scenario = load_scenario(opt->scenario, opt->overrides);
    const auto cmp = compare_chips(scenario, opt->gpus, budget);
    if (opt->json)
      std::cout << comparison_to_json(cmp).dump(1) << "\n";
    else
      std::cout << format_comparison(cmp);
  });
}

}  // namespace gwsim::cli
