#pragma once
// The dashboard of a request-level serving report (gwsim.serving-sim-report/1, `gwsim serve
// --simulate`; docs/serving.md): summary cards, latency at the percentiles the report carries
// (P50, P90, P99, max) for TTFT, TPOT, inter-token and end-to-end latency, the queue and running
// requests over time, and KV-cache use over time. It only displays.
#include <QSize>
#include <QString>
#include <QWidget>

#include <nlohmann/json.hpp>

#include <map>

class QChart;
class QLabel;
class QLineSeries;

#include "dashboard_parts.h"

namespace gwsim::gui {

class ServingDashboard : public QWidget {
  Q_OBJECT
 public:
  explicit ServingDashboard(QWidget* parent = nullptr);

  // Throws std::runtime_error for a file that is not a serving simulation report.
  void setReport(const nlohmann::json& report);

  // For tests and the renderer: what the charts currently hold.
  QLineSeries* latencySeries(const QString& metric) const;  // "ttft", "tpot", "itl", "e2e"
  QLineSeries* queuedSeries() const { return queued_; }
  QLineSeries* kvSeries() const { return kv_; }
  QString cardText(const QString& key) const;  // "requests", "ttft_p99", "tpot_p99", "goodput", ...

 private:
  void rebuild_latency(const nlohmann::json& latency);
  void rebuild_series(const nlohmann::json& series);

  DashboardFrame frame_;  // background, title, subtitle and cards
  QChart* latency_chart_ = nullptr;
  QChart* queue_chart_ = nullptr;
  QChart* kv_chart_ = nullptr;
  std::map<QString, QLineSeries*> latency_;
  QLineSeries* queued_ = nullptr;
  QLineSeries* running_ = nullptr;
  QLineSeries* kv_ = nullptr;
};

// Whether `schema` is the serving simulation report's.
bool is_serving_sim_report(const std::string& schema);

}  // namespace gwsim::gui
