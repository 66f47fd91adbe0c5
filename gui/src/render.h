#pragma once
// `gwsim-gui --render FILE --out dashboard.png`: the dashboard of a scenario or
// report drawn to a PNG without a window (QWidget::grab renders a widget that
// was never shown).
#include <QSize>
#include <QString>
#include <QWidget>

#include <string>

namespace gwsim::gui {

// Runs FILE (a scenario, or a report shown as written) and saves the dashboard.
// On failure returns false with the CLI's message in *error.
// Draws a widget that is never shown at `size` and writes it to `png` as one atomic write (no half
// PNG on failure); false with `error` set otherwise. Both dashboards render through it.
bool render_widget_to_png(QWidget& widget, QSize size, const QString& png, QString* error);

// FILE's "schema" ("" when it cannot be read). Training files run; RL, serving simulation and plan
// reports have views of their own.
std::string schema_of(const QString& file);

bool render_dashboard(const QString& file, const QString& png, QString* error, QSize size = QSize(1600, 1000));

}  // namespace gwsim::gui
