#pragma once
// Running a scenario and the report it produces (schema "gwsim.report/1", documented in
// docs/report.md). The report is deterministic: same scenario, same bytes.
#include <nlohmann/json.hpp>

#include <string>

#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

struct TrainingRun {
  TrainingPlan plan;
  StepEstimate step;
  nlohmann::json report;
  std::string trace_json;  // des/simgrid with want_trace: Chrome trace-event JSON
};

// Plans the step, estimates it with the named step backend (step_backend.h: analytical, des,
// simgrid) and builds the report from what the backend returns.
TrainingRun run_training(const Scenario& scenario, const std::string& backend = "analytical", bool want_trace = false);

// Human-readable summary of a report (what `gwsim run` prints).
std::string format_summary(const nlohmann::json& report);

// The report as written (sorted keys, a trailing newline). Refused (InputError naming input_file
// and the figure's JSON path) if a number is not finite or the text exceeds kMaxReportBytes.
std::string report_text(const nlohmann::json& report, const std::string& input_file);
// Writes report_text() all-or-nothing (output_file.h).
void write_report(const nlohmann::json& report, const std::string& path, const std::string& input_file = "");

}  // namespace gwsim
