#pragma once
// The dashboard of one report: summary cards, the step-time breakdown as
// stacked bars (with any pinned runs beside it), memory per GPU against HBM
// capacity, the busiest communication and the report's warnings. It only
// displays; running and choosing what to show is the main window's job.
#include <QString>
#include <QWidget>

#include <map>
#include <utility>
#include <vector>

#include "report_model.h"

class QAbstractBarSeries;
class QChart;
class QChartView;
class QLabel;
class QTableWidget;

namespace gwsim::gui {

class Dashboard : public QWidget {
  Q_OBJECT
 public:
  explicit Dashboard(QWidget* parent = nullptr);

  void setReport(const ReportModel& report);
  // Pinned runs drawn as extra bars of the breakdown chart, after the current
  // run.
  void setComparison(const std::vector<std::pair<QString, ReportModel>>& pinned);
  void clear();

  // For tests and the renderer: what the charts currently hold.
  bool hasReport() const { return has_report_; }
  QAbstractBarSeries* breakdownSeries() const { return breakdown_series_; }
  QAbstractBarSeries* memorySeries() const { return memory_series_; }
  QTableWidget* communicationTable() const { return comm_table_; }
  QString cardText(const QString& key) const;  // "step_time", "mfu", "days", ...

 private:
  void rebuild_breakdown();
  void rebuild_memory();
  void fill_cards();
  void fill_communication();

  ReportModel report_;
  std::vector<std::pair<QString, ReportModel>> pinned_;
  bool has_report_ = false;

  QLabel* title_ = nullptr;
  QLabel* subtitle_ = nullptr;
  std::map<QString, QLabel*> card_values_;
  std::map<QString, QWidget*> cards_;
  QChart* breakdown_chart_ = nullptr;
  QChartView* breakdown_view_ = nullptr;
  QChart* memory_chart_ = nullptr;
  QAbstractBarSeries* breakdown_series_ = nullptr;
  QAbstractBarSeries* memory_series_ = nullptr;
  QTableWidget* comm_table_ = nullptr;
  QLabel* warnings_ = nullptr;
};

// Short human form of a number: 1.93e6 -> "1.93 M".
QString human_number(double value);

}  // namespace gwsim::gui
