// gwsim validate [--cases FILE] [--json FILE]: predicted vs published for every expressible case.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/validation.h"

namespace gwsim::cli {

void add_validate_command(CLI::App& app) {
  struct Options {
    std::string cases;
    std::string json_out;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("validate", "Run the published validation cases: predicted vs published");
  cmd->add_option("--cases", opt->cases, "published_cases.json (default: <shared>/validation/published_cases.json)");
  cmd->add_option("--json", opt->json_out, "Also write the rows as JSON here");
  cmd->callback([opt] {
    const std::string path = opt->cases.empty() ? shared_dir() + "/validation/published_cases.json" : opt->cases;
    std::vector<std::string> skipped;
    auto rows = run_validation(path, &skipped);
    std::cout << fmt::format("{:<44} {:<48} {:>12} {:>12} {:>8}\n", "case", "metric", "published", "predicted", "error");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      std::cout << fmt::format("{:<44} {:<48} {:>12.5g} {:>12.5g} {:>+7.1f}%\n", r.case_id, r.metric, r.published,
                               r.predicted, r.error_pct());
      out.push_back({{"case", r.case_id}, {"metric", r.metric}, {"published", r.published}, {"predicted", r.predicted},
                     {"error_pct", std::round(r.error_pct() * 100) / 100}, {"scenario", r.scenario}, {"note", r.note}});
    }
    for (const auto& s : skipped) std::cout << "not run: " << s << "\n";
    if (!opt->json_out.empty()) {
      std::ofstream f(opt->json_out);
      if (!f) throw InputError(opt->json_out, "", "cannot write: expected a writable path");
      f << nlohmann::json{{"schema", "gwsim.validation/1"}, {"rows", out}, {"not_run", skipped}}.dump(1) << "\n";
    }
  });
}

}  // namespace gwsim::cli
