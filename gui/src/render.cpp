#include "render.h"

#include <QFileInfo>
#include <QPixmap>

#include "dashboard.h"
#include "run_worker.h"

namespace gwsim::gui {

bool render_dashboard(const QString &file, const QString &png, QString *error,
                      QSize size) {
  // Synchronous on purpose: there is no event loop to keep responsive, and a
  // PNG of a half-done run would be wrong.
  const RunOutcome outcome = run_simulation(
      RunRequest{QFileInfo(file).absoluteFilePath().toStdString(), {}});
  if (!outcome.ok) {
    if (error)
      *error = QString::fromStdString(outcome.error);
    return false;
  }
  Dashboard dashboard;
  dashboard.setReport(outcome.report);
  dashboard.resize(size);
  // Never shown, so polish and lay out by hand before grabbing, or the charts
  // come out 0x0.
  dashboard.setAttribute(Qt::WA_DontShowOnScreen);
  dashboard.show();
  dashboard.grab(); // first paint settles the chart geometry
  const QPixmap pixmap = dashboard.grab();
  if (!pixmap.save(png, "PNG")) {
    if (error)
      *error = QString("gwsim: %1: cannot write the PNG").arg(png);
    return false;
  }
  return true;
}

} // namespace gwsim::gui
