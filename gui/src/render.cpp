#include "render.h"

#include <QBuffer>
#include <QFileInfo>
#include <QPixmap>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/planning/serving.h"

#include "dashboard.h"
#include "plan_view.h"
#include "rl_dashboard.h"
#include "run_worker.h"
#include "serving_dashboard.h"
#include "serving_steady_view.h"

namespace gwsim::gui {

// "" when FILE cannot be read: the training path then reports the error as the CLI would.
std::string schema_of(const QString& file) {
  try {
    return parse_json_file(QFileInfo(file).absoluteFilePath().toStdString()).value("schema", std::string());
  } catch (const std::exception&) {
    return "";
  }
}

namespace {

// A report shown as written (serving simulation, plan): its view, drawn to the PNG.
// A serving scenario (gwsim.serving/1) is priced first, as `gwsim serve` would.
template <typename View>
bool render_report_view(const QString& file, const QString& png, QString* error, QSize size) {
  try {
    View view;
    const std::string path = QFileInfo(file).absoluteFilePath().toStdString();
    view.setReport(is_serving_scenario(schema_of(file)) ? run_serving(load_serving_scenario(path))
                                                        : parse_json_file(path));
    return render_widget_to_png(view, size, png, error);
  } catch (const std::exception& e) {
    if (error) *error = QString("gwsim: %1: %2").arg(file, QString::fromStdString(e.what()));
    return false;
  }
}

}  // namespace

bool render_dashboard(const QString& file, const QString& png, QString* error, QSize size) {
  const std::string schema = schema_of(file);
  if (schema == "gwsim.rl/1" || schema == "gwsim.rl-report/1") return render_rl_dashboard(file, png, error, size);
  if (is_serving_sim_report(schema)) return render_report_view<ServingDashboard>(file, png, error, size);
  if (is_plan_report(schema)) return render_report_view<PlanView>(file, png, error, size);
  if (is_serving_report(schema) || is_serving_scenario(schema))
    return render_report_view<ServingSteadyView>(file, png, error, size);
  // Synchronous on purpose: there is no event loop to keep responsive, and a
  // PNG of a half-done run would be wrong.
  const RunOutcome outcome = run_simulation(RunRequest{QFileInfo(file).absoluteFilePath().toStdString(), {}});
  if (!outcome.ok) {
    if (error) *error = QString::fromStdString(outcome.error);
    return false;
  }
  Dashboard dashboard;
  dashboard.setReport(outcome.report);
  return render_widget_to_png(dashboard, size, png, error);
}

bool render_widget_to_png(QWidget& widget, QSize size, const QString& png, QString* error) {
  widget.resize(size);
  // Never shown, so polish and lay out by hand before grabbing, or the charts
  // come out 0x0.
  widget.setAttribute(Qt::WA_DontShowOnScreen);
  widget.show();
  widget.grab();  // first paint settles the chart geometry
  const QPixmap pixmap = widget.grab();
  // Encoded in memory, then written all or nothing: a failure leaves no half
  // PNG behind.
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (!pixmap.save(&buffer, "PNG")) {
    if (error) *error = QString("gwsim: --out %1: cannot encode the PNG").arg(png);
    return false;
  }
  try {
    write_file_atomically(png.toStdString(), std::string(bytes.constData(), static_cast<std::size_t>(bytes.size())),
                          "--out");
  } catch (const InputError& e) {
    if (error) *error = QString("gwsim: %1").arg(QString::fromStdString(e.what()));
    return false;
  }
  return true;
}

}  // namespace gwsim::gui
