#include "serving_steady_view.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QStackedBarSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <stdexcept>

namespace gwsim::gui {
namespace {

constexpr const char* kSchema = "gwsim.serving-report/1";

void clear(QChart* chart) {
  chart->removeAllSeries();
  for (auto* axis : chart->axes()) chart->removeAxis(axis);
}

// A value axis from 0 to a little above `top`, titled.
QValueAxis* value_axis(double top, const QString& title) {
  auto* axis = new QValueAxis;
  axis->setRange(0, top > 0 ? top * 1.05 : 1);
  axis->applyNiceNumbers();
  axis->setLabelFormat("%g");
  axis->setTitleText(title);
  return axis;
}

}  // namespace

bool is_serving_report(const std::string& schema) { return schema == kSchema; }
bool is_serving_scenario(const std::string& schema) { return schema == "gwsim.serving/1"; }

ServingSteadyView::ServingSteadyView(QWidget* parent) : QWidget(parent) {
  frame_ = make_dashboard_frame(this, {"batch_per_gpu", "tpot", "output_tokens_per_s_per_gpu",
                                       "usd_per_million_output_tokens", "target_gpus", "facility_mw"});
  decode_chart_ = make_dashboard_chart(tr("Decode step by kind (ms)"));
  prefill_chart_ = make_dashboard_chart(tr("Prefill step by kind (ms)"));
  memory_chart_ = make_dashboard_chart(tr("Memory of a decode GPU (GB)"));
  auto* charts = new QHBoxLayout;
  charts->addWidget(make_chart_view(decode_chart_), 1);
  charts->addWidget(make_chart_view(prefill_chart_), 1);
  charts->addWidget(make_chart_view(memory_chart_), 1);
  frame_.root->addLayout(charts, 1);
}

void ServingSteadyView::setReport(const nlohmann::json& report) {
  if (!report.is_object() || report.value("schema", std::string()) != kSchema)
    throw std::runtime_error(std::string("expected a serving report (schema ") + kSchema + ")");
  const auto& d = report.at("decode");
  frame_.title->setText(QString::fromStdString(report.at("scenario").value("name", std::string("serving"))));
  frame_.subtitle->setText(QString("decode on %1 GPUs: step %2 ms, of it communication not hidden %3 ms; bottleneck "
                                   "%4; profile %5 [%6]")
                               .arg(number_or_zero(d, "instance_gpus"))
                               .arg(1e3 * number_or_zero(d, "step_s"), 0, 'f', 1)
                               .arg(1e3 * number_or_zero(d, "exposed_comm_s"), 0, 'f', 1)
                               .arg(QString::fromStdString(d.value("bottleneck", std::string())))
                               .arg(QString::fromStdString(report.at("provenance").at("profile").value("name", "")))
                               .arg(QString::fromStdString(report.at("provenance").at("profile").value("kind", ""))));
  frame_.cards["batch_per_gpu"]->setText(QString("%1 (%2)")
                                             .arg(number_or_zero(d, "batch_per_gpu"))
                                             .arg(QString::fromStdString(d.value("batch_chosen_by", std::string()))));
  frame_.cards["tpot"]->setText(QString("%1 ms").arg(number_or_zero(d, "tpot_ms"), 0, 'f', 1));
  frame_.cards["output_tokens_per_s_per_gpu"]->setText(
      QString::number(number_or_zero(d, "output_tokens_per_s_per_gpu"), 'f', 0));
  frame_.cards["usd_per_million_output_tokens"]->setText(
      QString("$%1").arg(number_or_zero(report.at("cost"), "usd_per_million_output_tokens"), 0, 'f', 3));
  const bool target = report.contains("target");
  frame_.cards["target_gpus"]->setText(target ? QString::number(number_or_zero(report["target"], "gpus"), 'f', 0)
                                              : "-");
  frame_.cards["facility_mw"]->setText(target ? QString::number(number_or_zero(report["target"], "facility_mw"), 'f', 2)
                                              : "-");
  decode_set_ = rebuild_breakdown(decode_chart_, d);
  prefill_set_ = report.contains("prefill") ? rebuild_breakdown(prefill_chart_, report["prefill"]) : nullptr;
  if (!prefill_set_) clear(prefill_chart_);
  rebuild_memory(d.at("memory_gb"));
}

// One bar per kind of the step's breakdown (compute by kind, then communication), in ms.
QBarSet* ServingSteadyView::rebuild_breakdown(QChart* chart, const nlohmann::json& step) {
  clear(chart);
  auto* set = new QBarSet(tr("ms per step"));
  QStringList kinds;
  double top = 0;
  for (const auto& [kind, seconds] : step.at("breakdown_s").items()) {
    kinds << QString::fromStdString(kind);
    *set << 1e3 * seconds.get<double>();
    top = std::max(top, 1e3 * seconds.get<double>());
  }
  auto* series = new QBarSeries;
  series->append(set);
  chart->addSeries(series);
  auto* categories = new QBarCategoryAxis;
  categories->append(kinds);
  chart->addAxis(categories, Qt::AlignBottom);
  series->attachAxis(categories);
  auto* ms = value_axis(top, tr("ms"));
  chart->addAxis(ms, Qt::AlignLeft);
  series->attachAxis(ms);
  chart->legend()->setVisible(false);
  return set;
}

// One stacked column: weights, KV cache, the usable share left, and the share the server keeps
// free (HBM x (1 - memory_utilization)); its top is the HBM capacity.
void ServingSteadyView::rebuild_memory(const nlohmann::json& memory_gb) {
  clear(memory_chart_);
  const double weights = number_or_zero(memory_gb, "weights"), kv = number_or_zero(memory_gb, "kv_cache");
  const double usable = number_or_zero(memory_gb, "usable"), capacity = number_or_zero(memory_gb, "capacity");
  auto* series = new QStackedBarSeries;
  for (const auto& [name, value] : {std::pair{tr("weights"), weights}, std::pair{tr("KV cache"), kv},
                                    std::pair{tr("usable, unused"), std::max(0.0, usable - weights - kv)},
                                    std::pair{tr("kept free"), std::max(0.0, capacity - usable)}}) {
    auto* set = new QBarSet(name);
    *set << value;
    series->append(set);
  }
  memory_chart_->addSeries(series);
  auto* categories = new QBarCategoryAxis;
  categories->append(tr("per GPU"));
  memory_chart_->addAxis(categories, Qt::AlignBottom);
  series->attachAxis(categories);
  auto* gb = value_axis(std::max(capacity, weights + kv), "GB");
  memory_chart_->addAxis(gb, Qt::AlignLeft);
  series->attachAxis(gb);
}

}  // namespace gwsim::gui
