#include "run_worker.h"

#include <QtConcurrent/QtConcurrentRun>

#include <nlohmann/json.hpp>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/report/report.h"

namespace gwsim::gui {
namespace {

using nlohmann::json;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

ScenarioKnobs knobs_of(const Scenario& s) {
  ScenarioKnobs k;
  k.valid = true;
  k.gpu = s.gpu.name;
  k.gpus = s.cluster.gpus;
  k.tp = s.parallelism.tp;
  k.pp = s.parallelism.pp;
  k.dp = s.parallelism.dp;
  k.ep = s.parallelism.ep;
  k.cp = s.parallelism.cp;
  k.precision = to_string(s.training.precision);
  k.scaleup_bidir_gbs = s.cluster.scaleup_per_direction_bps * 2 / 1e9;
  k.nic_gbps = s.cluster.nic_bps * 8 / 1e9;
  return k;
}

// The scenario a report embeds is the resolved one; its "profile" names a file under
// hwmodels/profiles, so it re-runs as is.
Scenario parse_report_scenario(const json& doc, const std::string& path) { return parse_scenario(doc, path); }

// Calibration profiles are per GPU: a what-if on another GPU takes that GPU's default profile
// (measured, else derived, else published: preferred_profile_name).
// (apply_override turns a cluster file name into {"file": name} when cluster keys are set.)
void prepare_for_overrides(json& doc, const std::vector<std::string>& overrides, bool& gpu_changed) {
  for (const auto& ov : overrides) gpu_changed |= starts_with(ov, "cluster.gpu=");
  if (gpu_changed) doc.erase("profile");
}

}  // namespace

RunOutcome run_simulation(const RunRequest& request) {
  RunOutcome out;
  out.request = request;
  const std::string& path = request.path;
  try {
    json doc = parse_json_file(path);
    if (!doc.is_object()) throw InputError(path, "$", "expected a scenario object");
    const bool is_report = doc.value("schema", std::string()) == "gwsim.report/1";
    json report;
    if (is_report) {
      if (!doc.contains("scenario") || !doc["scenario"].is_object())
        throw InputError(path, "$.scenario", "expected the resolved scenario the report was made from");
      json scenario_doc = doc["scenario"];
      if (request.overrides.empty()) {
        report = doc;
        try {
          out.knobs = knobs_of(parse_report_scenario(scenario_doc, path));
        } catch (const InputError&) {
          out.knobs.valid = false;  // still show the report; only what-ifs are off
        }
      } else {
        bool gpu_changed = false;
        prepare_for_overrides(scenario_doc, request.overrides, gpu_changed);
        for (const auto& ov : request.overrides) apply_override(scenario_doc, ov, path);
        Scenario s = parse_report_scenario(scenario_doc, path);
        report = run_training(s).report;
        out.knobs = knobs_of(s);
      }
    } else {
      // Same steps as load_scenario (so the same messages as `gwsim run
      // --set`), plus the cluster and profile preparation that what-ifs need.
      bool gpu_changed = false;
      prepare_for_overrides(doc, request.overrides, gpu_changed);
      for (const auto& ov : request.overrides) apply_override(doc, ov, path);
      Scenario s = parse_scenario(doc, path);
      report = run_training(s).report;
      out.knobs = knobs_of(s);
    }
    out.report_json = report.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    try {
      out.report = report_model_from_json_text(report.dump());
    } catch (const std::exception& e) {
      throw InputError(path, "", e.what());
    }
    out.ok = true;
  } catch (const InputError& e) {
    out.error = std::string("gwsim: ") + e.what();
  } catch (const std::exception& e) {
    out.error = std::string("gwsim: internal error: ") + e.what();
  }
  return out;
}

RunWorker::RunWorker(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<RunOutcome>::finished, this, &RunWorker::on_run_done);
}

RunWorker::~RunWorker() {
  // The pool thread holds nothing of ours but the request copy; waiting keeps
  // shutdown tidy.
  watcher_.waitForFinished();
}

void RunWorker::submit(const RunRequest& request) {
  if (watcher_.isRunning()) {
    queued_ = request;  // replaces an older queued request: it would be stale anyway
    return;
  }
  start(request);
}

void RunWorker::start(const RunRequest& request) {
  if (!busy_) {
    busy_ = true;
    emit busyChanged(true);
  }
  watcher_.setFuture(QtConcurrent::run(run_simulation, request));
}

void RunWorker::on_run_done() {
  if (queued_) {
    // Something newer was asked for while this ran: drop this result, run the
    // newest.
    RunRequest next = std::move(*queued_);
    queued_.reset();
    start(next);
    return;
  }
  RunOutcome outcome = watcher_.result();
  busy_ = false;
  emit finished(outcome);
  emit busyChanged(false);
}

}  // namespace gwsim::gui
