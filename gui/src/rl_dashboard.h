#pragma once
// The dashboard of an RL report (gwsim.rl-report/1, docs/rl.md): summary cards, the step's
// critical-path breakdown as a stacked bar (rollout, tail idle, log-prob, reward, update, resync)
// and each pool's utilisation. It only displays.
#include <QSize>
#include <QString>
#include <QWidget>

#include <nlohmann/json.hpp>

#include <map>

class QAbstractBarSeries;
class QChart;
class QLabel;

#include "dashboard_parts.h"

namespace gwsim::gui {

class RlDashboard : public QWidget {
  Q_OBJECT
 public:
  explicit RlDashboard(QWidget* parent = nullptr);

  // Throws std::runtime_error for a file that is not an RL report.
  void setReport(const nlohmann::json& report);

  // For tests and the renderer: what the charts currently hold.
  QAbstractBarSeries* breakdownSeries() const { return breakdown_series_; }
  QAbstractBarSeries* utilisationSeries() const { return utilisation_series_; }
  QString cardText(const QString& key) const;  // "step", "tokens_per_s", "tail_idle", "days", ...

 private:
  void rebuild_breakdown(const nlohmann::json& step);
  void rebuild_utilisation(const nlohmann::json& pools);

  DashboardFrame frame_;  // background, title, subtitle and cards
  QChart* breakdown_chart_ = nullptr;
  QChart* utilisation_chart_ = nullptr;
  QAbstractBarSeries* breakdown_series_ = nullptr;
  QAbstractBarSeries* utilisation_series_ = nullptr;
};

// `gwsim-gui --render FILE` for an RL scenario (gwsim.rl/1, run as `gwsim rl` does) or report.
// Returns false with the CLI's one-line message in *error.
bool render_rl_dashboard(const QString& file, const QString& png, QString* error, QSize size);

}  // namespace gwsim::gui
