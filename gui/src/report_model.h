#pragma once
// The numbers the dashboard shows, read once out of a gwsim.report/1 document.
// The widgets work on this plain struct so that only report_model.cpp knows the
// JSON layout (and includes nlohmann).
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gwsim::gui {

struct CommEntry {
  std::string name;  // e.g. "ep_dispatch"
  std::string kind;  // tp | pp | dp | ep | cp
  std::string op;    // all_to_all, reduce_scatter ...
  std::string link;  // scaleup | scaleout
  std::string algorithm;
  long long group = 0;
  double per_step_s = 0;
  double exposed_s = 0;
  double busbw_gbs = 0;
};

struct ReportModel {
  std::string name;     // scenario name
  std::string gpu;      // cluster.gpu
  long long gpus = 0;   // cluster.gpus
  std::string backend;  // provenance.backend
  std::string profile;  // provenance.profile.name

  double step_time_s = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  double model_tflops_per_gpu = 0;
  double gpu_hours_per_trillion_tokens = 0;
  double days = 0;
  double gpu_hours = 0;
  double cost_usd = 0;
  std::optional<double> goodput;  // only some reports carry it (failure modelling)
  std::string bottleneck;
  // In the report's key order (sorted), so a chart built from it is stable run
  // to run.
  std::vector<std::pair<std::string, double>> breakdown_s;

  // per_gpu_gib without "total", which is their sum and shown separately.
  std::vector<std::pair<std::string, double>> memory_gib;
  double memory_total_gib = 0;
  double capacity_gib = 0;

  double facility_mw = 0;
  double it_mw = 0;

  std::vector<CommEntry> communication;
  std::vector<std::string> warnings;
};

// Throws std::runtime_error naming the missing field when the document is not a
// usable report.
ReportModel report_model_from_json_text(const std::string& text);

}  // namespace gwsim::gui
