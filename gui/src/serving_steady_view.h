#pragma once
// The view of a steady-state serving report (gwsim.serving-report/1, `gwsim serve`; a serving
// scenario, gwsim.serving/1, is run first): cards for the decode batch, TPOT, tokens/s per GPU,
// $ per million output tokens and the target fleet; the decode step and the prefill step broken
// down by kind (ms); a decode GPU's memory (weights, KV cache, what is left of the usable share,
// and what the server leaves unused). It only displays.
#include <QString>
#include <QWidget>

#include <nlohmann/json.hpp>

#include "dashboard_parts.h"

class QBarSet;
class QChart;

namespace gwsim::gui {

class ServingSteadyView : public QWidget {
  Q_OBJECT
 public:
  explicit ServingSteadyView(QWidget* parent = nullptr);

  // Throws std::runtime_error for a file that is not a steady-state serving report.
  void setReport(const nlohmann::json& report);

  // For tests: the milliseconds of a step's breakdown ("decode", "prefill"; null when the report
  // has no such step), and a card's text.
  QBarSet* breakdownSet(const QString& step) const { return step == "decode" ? decode_set_ : prefill_set_; }
  QString cardText(const QString& key) const { return frame_.card_text(key); }

 private:
  QBarSet* rebuild_breakdown(QChart* chart, const nlohmann::json& step);
  void rebuild_memory(const nlohmann::json& memory_gb);

  DashboardFrame frame_;
  QChart* decode_chart_ = nullptr;
  QChart* prefill_chart_ = nullptr;
  QChart* memory_chart_ = nullptr;
  QBarSet* decode_set_ = nullptr;
  QBarSet* prefill_set_ = nullptr;
};

// Whether `schema` is the steady-state serving report's, or a serving scenario's (run first).
bool is_serving_report(const std::string& schema);
bool is_serving_scenario(const std::string& schema);

}  // namespace gwsim::gui
