#pragma once
// The view of a capacity plan (gwsim.plan-report/1, `gwsim plan --json`; docs/planner.md): summary
// cards, a scatter of the top layouts by wall-clock days and rental cost with the Pareto front and
// the winner marked, and the ranked table. Choosing a layout (clicking its point or its row) asks
// for its dashboard: the report carries each top layout's runnable scenario.
#include <QSize>
#include <QString>
#include <QWidget>

#include <nlohmann/json.hpp>

#include <map>

class QChart;
class QLabel;
class QScatterSeries;
class QTableWidget;

#include "dashboard_parts.h"

namespace gwsim::gui {

class PlanView : public QWidget {
  Q_OBJECT
 public:
  explicit PlanView(QWidget* parent = nullptr);

  // Throws std::runtime_error for a file that is not a plan report.
  void setReport(const nlohmann::json& report);

  // The scenario document of the layout ranked `rank` (1 = best); null when the report has none.
  nlohmann::json scenarioFor(int rank) const;
  // Chooses the layout ranked `rank` as a click would: emits layoutChosen when it has a scenario.
  bool choose(int rank);

  // For tests and the renderer.
  QScatterSeries* topSeries() const { return top_; }
  QScatterSeries* paretoSeries() const { return pareto_; }
  QScatterSeries* bestSeries() const { return best_; }
  QTableWidget* table() const { return table_; }
  QString cardText(const QString& key) const;

 signals:
  // The layout ranked `rank` was chosen; `scenario` is its runnable scenario (gwsim.scenario/1).
  void layoutChosen(int rank, const QString& scenario_json);

 private:
  void on_point_clicked(const QPointF& point);

  DashboardFrame frame_;  // background, title, subtitle and cards
  QChart* chart_ = nullptr;
  QScatterSeries* top_ = nullptr;
  QScatterSeries* pareto_ = nullptr;
  QScatterSeries* best_ = nullptr;
  QTableWidget* table_ = nullptr;
  nlohmann::json top_results_ = nlohmann::json::array();
};

// Whether `schema` is the plan report's.
bool is_plan_report(const std::string& schema);

}  // namespace gwsim::gui
