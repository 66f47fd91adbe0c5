#include "main_window.h"

#include <QAction>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QVBoxLayout>

#include <type_traits>

#include "dashboard.h"
#include "gwsim/common/json_input.h"
#include "gwsim/sim/planning/serving.h"
#include "pinned_runs.h"
#include "plan_view.h"
#include "render.h"
#include "serving_dashboard.h"
#include "serving_steady_view.h"
#include "what_if_panel.h"

namespace gwsim::gui {
namespace {

// "cluster.gpu=H100-SXM" -> "gpu=H100-SXM": the section is obvious in a pin
// label.
QString short_override(const std::string& ov) {
  QString s = QString::fromStdString(ov);
  for (const char* prefix : {"cluster.", "parallelism.", "training."})
    if (s.startsWith(prefix)) return s.mid(static_cast<int>(qstrlen(prefix)));
  return s;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("gwsim-gui");
  setAcceptDrops(true);
  resize(1500, 980);

  worker_ = new RunWorker(this);
  dashboard_ = new Dashboard;
  what_if_ = new WhatIfPanel;
  pinned_ = new PinnedRuns;

  error_ = new QLabel;
  error_->setObjectName("errorBanner");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);  // users paste it into issues
  error_->setStyleSheet(
      "background: #ffebee; color: #b71c1c; border: 1px solid #ef9a9a; "
      "border-radius: 4px; padding: 6px; font-family: monospace;");
  error_->setVisible(false);

  auto* dashboard_scroll = new QScrollArea;
  dashboard_scroll->setWidget(dashboard_);
  dashboard_scroll->setWidgetResizable(true);
  dashboard_->setMinimumSize(1000, 700);

  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  right_layout->addWidget(error_);
  auto* vsplit = new QSplitter(Qt::Vertical);
  vsplit->addWidget(dashboard_scroll);
  vsplit->addWidget(pinned_);
  vsplit->setStretchFactor(0, 4);
  vsplit->setStretchFactor(1, 1);
  right_layout->addWidget(vsplit);

  auto* hsplit = new QSplitter(Qt::Horizontal);
  hsplit->addWidget(what_if_);
  hsplit->addWidget(right);
  hsplit->setStretchFactor(1, 1);
  setCentralWidget(hsplit);

  auto* file_menu = menuBar()->addMenu(tr("&File"));
  auto* open_action = file_menu->addAction(tr("&Open scenario or report…"), this, &MainWindow::choose_file);
  open_action->setShortcut(QKeySequence::Open);
  save_action_ = file_menu->addAction(tr("&Save report…"), this, &MainWindow::save_report);
  save_action_->setShortcut(QKeySequence::Save);
  save_action_->setEnabled(false);
  file_menu->addSeparator();
  file_menu->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);
  auto* run_menu = menuBar()->addMenu(tr("&Run"));
  pin_action_ = run_menu->addAction(tr("&Pin this run"), this, [this] { pinCurrent(); });
  pin_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  pin_action_->setEnabled(false);

  auto* toolbar = addToolBar(tr("Main"));
  toolbar->setMovable(false);
  toolbar->addAction(open_action);
  toolbar->addAction(pin_action_);

  status_ = new QLabel(tr("Open a scenario or a report to start"));
  progress_ = new QProgressBar;
  progress_->setRange(0, 0);  // busy indicator: the analytical backend reports no fraction done
  progress_->setMaximumWidth(160);
  progress_->setVisible(false);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);

  connect(worker_, &RunWorker::finished, this, &MainWindow::on_outcome);
  connect(worker_, &RunWorker::busyChanged, this, [this](bool busy) {
    progress_->setVisible(busy);
    if (busy) status_->setText(tr("Running…"));
  });
  connect(what_if_, &WhatIfPanel::overridesChanged, this, &MainWindow::on_overrides);
  connect(pinned_, &PinnedRuns::changed, this, [this] { dashboard_->setComparison(pinned_->runs()); });
}

void MainWindow::openFile(const QString& path) {
  if (open_report_view(path)) return;
  opening_ = true;
  what_if_->setEnabled(false);  // a what-if now would apply to the file being replaced
  worker_->submit(RunRequest{QFileInfo(path).absoluteFilePath().toStdString(), {}});
}

void MainWindow::on_overrides(const QStringList& overrides) {
  // While a new file opens, a change to the old one's controls would be applied
  // to the wrong file.
  if (source_.isEmpty() || opening_) return;
  RunRequest request{source_.toStdString(), {}};
  for (const QString& o : overrides) request.overrides.push_back(o.toStdString());
  worker_->submit(request);
}

void MainWindow::on_outcome(const RunOutcome& outcome) {
  ++outcomes_shown_;
  const bool was_opening = opening_;
  opening_ = false;
  if (!outcome.ok) {
    show_error(QString::fromStdString(outcome.error));
    // A failed open leaves the previous file and its what-ifs in place.
    if (was_opening) what_if_->setEnabled(what_if_->base().valid && !source_.isEmpty());
    return;
  }
  error_->setVisible(false);
  error_->clear();
  if (was_opening) {
    source_ = QString::fromStdString(outcome.request.path);
    what_if_->setBase(outcome.knobs);
  }
  current_ = outcome;
  dashboard_->setReport(outcome.report);
  pin_action_->setEnabled(true);
  save_action_->setEnabled(true);
  setWindowTitle(QString("gwsim-gui — %1").arg(QString::fromStdString(outcome.report.name)));
  QString what = outcome.request.overrides.empty() ? tr("as in the file") : tr("with");
  for (const auto& ov : outcome.request.overrides) what += " " + short_override(ov);
  status_->setText(QString("%1 (%2)").arg(QFileInfo(source_).fileName(), what));
}

// A report view in its own window, created on first use (owned by this window).
template <typename View>
void MainWindow::show_report_view(View*& view, const nlohmann::json& report, const QString& path) {
  if (!view) {
    view = new View(this);
    view->setWindowFlag(Qt::Window);
    view->resize(1350, 900);
    if constexpr (std::is_same_v<View, PlanView>)
      connect(view, &PlanView::layoutChosen, this, &MainWindow::open_planned_layout);
  }
  view->setReport(report);
  view->setWindowTitle(QString("gwsim-gui — %1").arg(QFileInfo(path).fileName()));
  view->show();
  view->raise();
}

bool MainWindow::open_report_view(const QString& path) {
  const std::string schema = schema_of(path);
  if (!is_plan_report(schema) && !is_serving_sim_report(schema) && !is_serving_report(schema) &&
      !is_serving_scenario(schema))
    return false;
  try {
    const std::string file = QFileInfo(path).absoluteFilePath().toStdString();
    if (is_plan_report(schema))
      show_report_view(plan_view_, parse_json_file(file), path);
    else if (is_serving_sim_report(schema))
      show_report_view(serving_view_, parse_json_file(file), path);
    else  // a steady-state report, or a serving scenario priced now (well under a second)
      show_report_view(serving_steady_view_,
                       is_serving_scenario(schema) ? run_serving(load_serving_scenario(file)) : parse_json_file(file),
                       path);
    status_->setText(tr("%1 opened in its own window").arg(QFileInfo(path).fileName()));
  } catch (const std::exception& e) {
    show_error(QString("gwsim: %1: %2").arg(path, QString::fromStdString(e.what())));
  }
  return true;
}

// A layout chosen in the plan view: its scenario is written to a temporary folder and opened like
// any scenario, so its dashboard, what-ifs and pins work as for a file.
void MainWindow::open_planned_layout(int rank, const QString& scenario_json) {
  if (!planned_dir_) planned_dir_ = std::make_unique<QTemporaryDir>();
  const QString path = planned_dir_->filePath(QString("plan-rank-%1.json").arg(rank));
  QFile file(path);
  if (!planned_dir_->isValid() || !file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    show_error(tr("gwsim: %1: cannot write the chosen layout's scenario").arg(path));
    return;
  }
  file.write(scenario_json.toUtf8());
  file.close();
  openFile(path);
}

void MainWindow::show_error(const QString& message) {
  // The dashboard keeps the last good run so the user can see what the change
  // broke.
  error_->setText(message);
  error_->setVisible(true);
  status_->setText(tr("Last change failed: the dashboard shows the previous run"));
}

// isHidden, not isVisible: the window may never have been shown (tests,
// headless use).
QString MainWindow::errorText() const { return error_->isHidden() ? QString() : error_->text(); }

bool MainWindow::pinCurrent() {
  if (!current_) return false;
  ++pins_made_;
  QString label = QString("#%1 %2").arg(pins_made_).arg(QString::fromStdString(current_->report.name));
  QStringList changes;
  for (const auto& ov : current_->request.overrides) changes << short_override(ov);
  if (!changes.isEmpty()) label += " [" + changes.join(", ") + "]";
  pinned_->add(label, current_->report);
  return true;
}

void MainWindow::choose_file() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a scenario or a report"), QFileInfo(source_).path(),
                                                    tr("gwsim JSON (*.json);;All files (*)"));
  if (!path.isEmpty()) openFile(path);
}

void MainWindow::save_report() {
  if (!current_) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Save report"), "report.json", tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    show_error(tr("gwsim: %1: cannot write the report").arg(path));
    return;
  }
  file.write(QByteArray::fromStdString(current_->report_json));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls() && !event->mimeData()->urls().isEmpty() &&
      event->mimeData()->urls().first().isLocalFile())
    event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (!urls.isEmpty() && urls.first().isLocalFile()) {
    openFile(urls.first().toLocalFile());
    event->acceptProposedAction();
  }
}

}  // namespace gwsim::gui
