// gwsim validate [--cases FILE] [--json FILE] [--backend analytical|des]: predicted vs published for every
// expressible case.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/validation.h"

namespace gwsim::cli {

void add_validate_command(CLI::App& app) {
  struct Options {
    std::string cases;
    std::string json_out;
    std::string backend = "analytical";
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("validate", "Run the published validation cases: predicted vs published");
  cmd->add_option("--cases", opt->cases, "published_cases.json (default: <shared>/validation/published_cases.json)");
  cmd->add_option("--json", opt->json_out, "Also write the rows as JSON here");
  cmd->add_option("--backend", opt->backend,
                  "Step estimation for the training cases: analytical, or des (printed beside analytical)")
      ->check(CLI::IsMember({"analytical", "des"}));
  cmd->callback([opt] {
    const std::string path = opt->cases.empty() ? shared_dir() + "/validation/published_cases.json" : opt->cases;
    std::vector<std::string> skipped;
    auto rows = run_validation(path, &skipped, opt->backend);
    // With des, the analytical rows beside it: the bar is that the simulation is at least as
    // close to the published figures as the closed form.
    const bool both = opt->backend != "analytical";
    std::vector<ValidationRow> analytical;
    if (both) analytical = run_validation(path, nullptr, "analytical");
    if (both && analytical.size() != rows.size()) throw std::logic_error("validate: backends produced different rows");
    std::cout << fmt::format("{:<44} {:<48} {:>12} {:>12} {:>8}", "case", "metric", "published",
                             both ? "des" : "predicted", "error");
    std::cout << (both ? fmt::format(" {:>12} {:>8}\n", "analytical", "error") : "\n");
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      std::cout << fmt::format("{:<44} {:<48} {:>12.5g} {:>12.5g} {:>+7.1f}%", r.case_id, r.metric, r.published,
                               r.predicted, r.error_pct());
      nlohmann::json row = {{"case", r.case_id}, {"metric", r.metric}, {"published", r.published},
                            {"predicted", r.predicted}, {"error_pct", std::round(r.error_pct() * 100) / 100},
                            {"scenario", r.scenario}, {"note", r.note}};
      if (both) {
        const auto& a = analytical[i];
        std::cout << fmt::format(" {:>12.5g} {:>+7.1f}%", a.predicted, a.error_pct());
        row["analytical"] = {{"predicted", a.predicted}, {"error_pct", std::round(a.error_pct() * 100) / 100}};
      }
      std::cout << "\n";
      out.push_back(std::move(row));
    }
    for (const auto& s : skipped) std::cout << "not run: " << s << "\n";
    if (!opt->json_out.empty()) {
      write_file_atomically(opt->json_out,
                            nlohmann::json{{"schema", "gwsim.validation/1"}, {"backend", opt->backend}, {"rows", out}, {"not_run", skipped}}
                                    .dump(1) + "\n",
                            "--json");
    }
  });
}

}  // namespace gwsim::cli
