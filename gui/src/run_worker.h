#pragma once
// Running a scenario (or re-reading a report) off the GUI thread. The
// simulation itself is gwsim::load_scenario/run_training, exactly what `gwsim
// run` calls, so the numbers and the error messages are the CLI's.
#include <QFutureWatcher>
#include <QObject>

#include <optional>
#include <string>
#include <vector>

#include "report_model.h"

namespace gwsim::gui {

// The scenario values the what-if panel edits, as the loaded scenario resolved
// them.
struct ScenarioKnobs {
  bool valid = false;  // false: the source could not be re-simulated (what-ifs disabled)
  std::string gpu;
  long long gpus = 0;
  int tp = 1, pp = 1, dp = 1, ep = 1, cp = 1;
  std::string precision;
  double scaleup_bidir_gbs = 0;  // NVLink-class bandwidth per GPU, both directions (GB/s)
  double nic_gbps = 0;           // one NIC, one direction, line rate (Gb/s)
};

struct RunRequest {
  std::string path;                    // a gwsim.scenario/1 or gwsim.report/1 file
  std::vector<std::string> overrides;  // "path.to.key=value", as `gwsim run --set`
};

struct RunOutcome {
  RunRequest request;
  bool ok = false;
  std::string error;  // "gwsim: ..." exactly as the CLI prints it
  ReportModel report;
  std::string report_json;  // the full report, for "Save report"
  ScenarioKnobs knobs;
};

// Synchronous and thread-safe; never throws (errors land in RunOutcome::error).
// A report file without overrides is shown as written; with overrides its
// embedded scenario is re-run.
RunOutcome run_simulation(const RunRequest& request);

// Runs requests one at a time on the global thread pool. A run cannot be
// interrupted mid-way, so "cancelling" means: a request submitted while another
// is in flight replaces any queued one, and the in-flight result is dropped;
// only the newest request's outcome is ever delivered.
class RunWorker : public QObject {
  Q_OBJECT
 public:
  explicit RunWorker(QObject* parent = nullptr);
  ~RunWorker() override;

  void submit(const RunRequest& request);
  bool busy() const { return busy_; }

 signals:
  void busyChanged(bool busy);
  void finished(const gwsim::gui::RunOutcome& outcome);

 private:
  void start(const RunRequest& request);
  void on_run_done();

  QFutureWatcher<RunOutcome> watcher_;
  std::optional<RunRequest> queued_;
  bool busy_ = false;
};

}  // namespace gwsim::gui
