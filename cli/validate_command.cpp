// gwsim validate [--cases FILE] [--json FILE] [--backend analytical|des] [--record FILE] [--update-record]:
// predicted vs published for every expressible case, each row marked in-sample or out-of-sample.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/validation/validation.h"
#include "gwsim/sim/validation/validation_record.h"

namespace gwsim::cli {

namespace {

double round2(double x) { return std::round(x * 100) / 100; }

// "in" / "out" as the record decides; "?" for a row nobody has decided yet.
std::string sample_of(const RecordedRow* r) {
  if (!r || !r->in_sample) return "?";
  return *r->in_sample ? "in" : "out";
}

struct GroupStats {
  std::vector<double> abs_errors;
  nlohmann::json to_json() const {
    auto sorted = abs_errors;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n == 0 ? 0 : n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return {{"n", n}, {"median_abs_error_pct", round2(median)}, {"max_abs_error_pct", round2(n ? sorted.back() : 0)}};
  }
};

// Median and max |error| of the in-sample, out-of-sample and undecided rows.
nlohmann::json group_stats(const std::vector<ValidationRow>& rows, const ValidationRecord& record) {
  std::map<std::string, GroupStats> groups;
  for (const auto& r : rows) {
    const auto s = sample_of(record.find(r.case_id, r.metric));
    groups[s == "in"    ? "in_sample"
           : s == "out" ? "out_of_sample"
                        : "undecided"]
        .abs_errors.push_back(std::fabs(r.error_pct()));
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, g] : groups) out[name] = g.to_json();
  return out;
}

}  // namespace

void add_validate_command(CLI::App& app) {
  struct Options {
    std::string cases;
    std::string json_out;
    std::string backend = "analytical";
    std::string record;
    bool update_record = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("validate", "Run the published validation cases: predicted vs published");
  cmd->add_option("--cases", opt->cases, "published_cases.json (default: <shared>/validation/published_cases.json)");
  cmd->add_option("--json", opt->json_out, "Also write the rows as JSON here");
  cmd->add_option("--backend", opt->backend,
                  "Step estimation for the training cases: analytical, or des (printed beside analytical)")
      ->check(CLI::IsMember({"analytical", "des"}));
  cmd->add_option("--record", opt->record, "validation record (default: <data>/sim/data/validation_record.json)");
  cmd->add_flag("--update-record", opt->update_record,
                "Rewrite the record's numbers from this run (needs --backend des: both backends are recorded); "
                "in_sample, reason and cause are kept");
  cmd->callback([opt] {
    const std::string path = opt->cases.empty() ? shared_dir() + "/validation/published_cases.json" : opt->cases;
    const std::string record_path = opt->record.empty() ? default_validation_record_path() : opt->record;
    if (opt->update_record && opt->backend != "des")
      throw InputError("--update-record", "", "the record holds both backends' errors: expected --backend des");
    const auto record = load_validation_record(record_path);
    std::vector<std::string> skipped;
    auto rows = run_validation(path, &skipped, opt->backend);
    // With des, the analytical rows beside it: the bar is that the simulation is at least as
    // close to the published figures as the closed form.
    const bool both = opt->backend != "analytical";
    std::vector<ValidationRow> analytical;
    if (both) analytical = run_validation(path, nullptr, "analytical");
    if (both && analytical.size() != rows.size()) throw std::logic_error("validate: backends produced different rows");
    if (opt->update_record) {
      std::vector<std::string> notes;
      const auto updated = updated_validation_record(record, analytical, rows, &notes);
      write_file_atomically(record_path, updated.dump(1) + "\n", "--record");
      std::cout << fmt::format("{}: {} rows written\n", record_path, updated["rows"].size());
      for (const auto& n : notes) std::cout << "  " << n << "\n";
      return;
    }
    std::cout << fmt::format("{:<44} {:<48} {:>12} {:>12} {:>8}", "case", "metric", "published",
                             both ? "des" : "predicted", "error");
    std::cout << (both ? fmt::format(" {:>12} {:>8}", "analytical", "error") : "") << "  sample\n";
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const RecordedRow* rec = record.find(r.case_id, r.metric);
      std::cout << fmt::format("{:<44} {:<48} {:>12} {:>12.5g} {:>+7.1f}%", r.case_id, r.metric, r.published.text(),
                               r.predicted, r.error_pct());
      nlohmann::json row = {{"case", r.case_id},
                            {"metric", r.metric},
                            {"published", r.published.value()},
                            {"published_text", r.published.text()},
                            {"predicted", r.predicted},
                            {"error_pct", round2(r.error_pct())},
                            {"scenario", r.scenario},
                            {"note", r.note},
                            {"kind", r.kind}};
      row["in_sample"] = rec && rec->in_sample ? nlohmann::json(*rec->in_sample) : nlohmann::json(nullptr);
      row["in_sample_reason"] = rec ? rec->reason : "not in the validation record";
      if (rec && !rec->cause.empty()) row["cause"] = rec->cause;
      if (both) {
        const auto& a = analytical[i];
        std::cout << fmt::format(" {:>12.5g} {:>+7.1f}%", a.predicted, a.error_pct());
        row["analytical"] = {{"predicted", a.predicted}, {"error_pct", round2(a.error_pct())}};
      }
      std::cout << "  " << sample_of(rec) << "\n";
      out.push_back(std::move(row));
    }
    for (const auto& s : skipped) std::cout << "not run: " << s << "\n";
    nlohmann::json groups = group_stats(rows, record);
    auto print_groups = [](const nlohmann::json& g, const std::string& label) {
      for (const auto& [name, s] : g.items())
        std::cout << fmt::format("{:<14} {:<14} n={:<3} median |error| {:5.1f}%  max |error| {:6.1f}%\n", label, name,
                                 s["n"].get<std::size_t>(), s["median_abs_error_pct"].get<double>(),
                                 s["max_abs_error_pct"].get<double>());
    };
    print_groups(groups, opt->backend);
    nlohmann::json doc = {{"schema", "gwsim.validation/1"},
                          {"backend", opt->backend},
                          {"rows", out},
                          {"not_run", skipped},
                          {"groups", groups},
                          {"record", record_path}};
    if (both) {
      doc["analytical_groups"] = group_stats(analytical, record);
      print_groups(doc["analytical_groups"], "analytical");
    }
    if (!opt->json_out.empty()) write_file_atomically(opt->json_out, doc.dump(1) + "\n", "--json");
  });
}

}  // namespace gwsim::cli
