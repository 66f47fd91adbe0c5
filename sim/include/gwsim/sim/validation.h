#pragma once
// `gwsim validate`: runs every case of shared/validation/published_cases.json that gwsim can express
// and sets the prediction beside the published figure.
#include <string>
#include <vector>

namespace gwsim {

struct ValidationRow {
  std::string case_id;
  std::string metric;
  double published = 0;
  double predicted = 0;
  std::string scenario;   // scenario (and overrides) that produced the prediction
  std::string note;       // what the comparison assumes or why it misses
  double error_pct() const { return published != 0 ? 100.0 * (predicted - published) / published : 0; }
};

// cases_path: the published_cases.json file. Cases gwsim cannot express yet are listed in `skipped`.
// backend: how training cases estimate their step (analytical | des | simgrid); the other rows
// (collectives, specs, fabric sizing) do not depend on it.
std::vector<ValidationRow> run_validation(const std::string& cases_path, std::vector<std::string>* skipped = nullptr,
                                          const std::string& backend = "analytical");

}  // namespace gwsim
