#pragma once
// The application window: opens a scenario or report (dialog, argument, drag
// and drop), sends what-if changes to the worker, shows the newest result on
// the dashboard, keeps pinned runs and shows errors in a banner, never in a
// crash or a modal that blocks the what-ifs.
#include <QMainWindow>
#include <QString>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

#include "run_worker.h"

class QAction;
class QLabel;
class QProgressBar;

namespace gwsim::gui {

class Dashboard;
class PinnedRuns;
class PlanView;
class ServingDashboard;
class ServingSteadyView;
class WhatIfPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // Loads a file (asynchronously); the current source stays until the new one
  // has loaded. A plan report (gwsim plan --json) opens in the plan window, a serving simulation
  // report (gwsim serve --simulate --out) in the serving window, a steady-state serving report
  // (gwsim serve --out) or a serving scenario (run first) in the steady-state serving window.
  void openFile(const QString& path);
  // Pins the run on screen; false when there is none.
  bool pinCurrent();

  // For tests: the parts and the state a user would see.
  Dashboard* dashboard() const { return dashboard_; }
  WhatIfPanel* whatIf() const { return what_if_; }
  PinnedRuns* pinned() const { return pinned_; }
  bool busy() const { return worker_->busy(); }
  int outcomesShown() const { return outcomes_shown_; }
  QString errorText() const;
  QString source() const { return source_; }
  const std::optional<RunOutcome>& current() const { return current_; }
  PlanView* planView() const { return plan_view_; }                              // null until a plan report opens
  ServingDashboard* servingView() const { return serving_view_; }                // null until a serving report opens
  ServingSteadyView* servingSteadyView() const { return serving_steady_view_; }  // null until one opens

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void on_outcome(const RunOutcome& outcome);
  void on_overrides(const QStringList& overrides);
  void show_error(const QString& message);
  void choose_file();
  void save_report();
  bool open_report_view(const QString& path);  // plan and serving reports: true when it was one
  template <typename View>
  void show_report_view(View*& view, const nlohmann::json& report, const QString& path);
  void open_planned_layout(int rank, const QString& scenario_json);

  RunWorker* worker_ = nullptr;
  Dashboard* dashboard_ = nullptr;
  WhatIfPanel* what_if_ = nullptr;
  PinnedRuns* pinned_ = nullptr;
  QLabel* error_ = nullptr;
  QLabel* status_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QAction* pin_action_ = nullptr;
  QAction* save_action_ = nullptr;

  QString source_;        // the file the what-ifs apply to
  bool opening_ = false;  // an open is in flight: its outcome sets a new baseline
  std::optional<RunOutcome> current_;
  int outcomes_shown_ = 0;
  int pins_made_ = 0;
  PlanView* plan_view_ = nullptr;  // top-level windows, owned by this one
  ServingDashboard* serving_view_ = nullptr;
  ServingSteadyView* serving_steady_view_ = nullptr;
  std::unique_ptr<QTemporaryDir> planned_dir_;  // scenarios of chosen plan layouts
};

}  // namespace gwsim::gui
