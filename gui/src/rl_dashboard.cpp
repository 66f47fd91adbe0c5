#include "rl_dashboard.h"

#include "dashboard_parts.h"
#include "render.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QVBoxLayout>
#include <QValueAxis>

#include <stdexcept>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/output_file.h"
#include "gwsim/sim/planning/rl/rl_report.h"

namespace gwsim::gui {
namespace {

// One colour per phase, the same in every run and PNG.
QColor phase_colour(const std::string& key) {
  static const std::map<std::string, QColor> known = {{"rollout", QColor("#2e7d32")}, {"tail_idle", QColor("#c62828")},
                                                      {"logprob", QColor("#1565c0")}, {"reward", QColor("#f9a825")},
                                                      {"update", QColor("#6a1b9a")},  {"resync", QColor("#ef6c00")}};
  auto it = known.find(key);
  return it != known.end() ? it->second : QColor("#9e9e9e");
}

}  // namespace

RlDashboard::RlDashboard(QWidget* parent) : QWidget(parent) {
  frame_ =
      make_dashboard_frame(this, {"step", "tokens_per_s", "tail_idle", "days", "gpu_hours", "cost", "facility_mw"});
  auto* root = frame_.root;
  breakdown_chart_ = make_dashboard_chart(tr("RL step: critical path (s)"));
  utilisation_chart_ = make_dashboard_chart(tr("Pool utilisation (%)"));
  auto* charts = new QHBoxLayout;
  auto* breakdown_view = new QChartView(breakdown_chart_);
  auto* utilisation_view = new QChartView(utilisation_chart_);
  breakdown_view->setRenderHint(QPainter::Antialiasing);
  charts->addWidget(breakdown_view, 3);
  charts->addWidget(utilisation_view, 1);
  root->addLayout(charts, 1);
}

QString RlDashboard::cardText(const QString& key) const { return frame_.card_text(key); }

void RlDashboard::setReport(const nlohmann::json& r) {
  if (!r.is_object() || r.value("schema", std::string()) != "gwsim.rl-report/1")
    throw std::runtime_error("not a gwsim.rl-report/1 file");
  const auto& step = r.at("step");
  const auto& pl = r.at("placement");
  frame_.title->setText(QString::fromStdString(r.at("scenario").value("name", std::string("RL run"))));
  frame_.subtitle->setText(QString("%1 x%2 samples per prompt, %3 on %4 GPUs; critical path: %5")
                               .arg(QString::fromStdString(r.at("algorithm").at("kind").get<std::string>()))
                               .arg(r.at("algorithm").at("samples_per_prompt").get<int>())
                               .arg(QString::fromStdString(pl.at("kind").get<std::string>()))
                               .arg(pl.at("total_gpus").get<qint64>())
                               .arg(QString::fromStdString(step.at("critical_path").get<std::string>())));
  const auto& run = r.at("run");
  frame_.cards["step"]->setText(QString::number(step.at("step_s").get<double>(), 'f', 1) + " s");
  frame_.cards["tokens_per_s"]->setText(QString::number(step.at("tokens_generated_per_s").get<double>(), 'f', 0));
  frame_.cards["tail_idle"]->setText(
      QString::number(100 * step.at("tail_idle_share_of_rollout").get<double>(), 'f', 1) + " % of rollout");
  frame_.cards["days"]->setText(QString::number(run.at("days").get<double>(), 'f', 2));
  frame_.cards["gpu_hours"]->setText(QString::number(run.at("gpu_hours").get<double>(), 'g', 4));
  frame_.cards["cost"]->setText("$" + QString::number(run.at("cost_usd").get<double>(), 'g', 4));
  frame_.cards["facility_mw"]->setText(
      run.contains("facility_mw") ? QString::number(run.at("facility_mw").get<double>(), 'f', 2) + " MW" : "–");
  rebuild_breakdown(step);
  rebuild_utilisation(r.at("pools"));
}

void RlDashboard::rebuild_breakdown(const nlohmann::json& step) {
  breakdown_chart_->removeAllSeries();
  for (QAbstractAxis* axis : breakdown_chart_->axes()) {
    breakdown_chart_->removeAxis(axis);
    delete axis;
  }
  auto* series = new QHorizontalStackedBarSeries;
  // In the order a step runs them (the report's object keys are sorted).
  for (const std::string key : {"rollout", "tail_idle", "logprob", "reward", "update", "resync"}) {
    auto* set = new QBarSet(QString::fromStdString(key).replace('_', ' '));
    set->setColor(phase_colour(key));
    set->setBorderColor(Qt::white);
    *set << step.at("breakdown_s").at(key).get<double>();
    series->append(set);
  }
  breakdown_chart_->addSeries(series);
  auto* categories = new QBarCategoryAxis;
  categories->append(tr("step"));
  breakdown_chart_->addAxis(categories, Qt::AlignLeft);
  series->attachAxis(categories);
  auto* seconds = new QValueAxis;
  seconds->setRange(0, step.at("step_s").get<double>() * 1.05);
  seconds->setTitleText(tr("seconds"));
  breakdown_chart_->addAxis(seconds, Qt::AlignBottom);
  series->attachAxis(seconds);
  breakdown_series_ = series;
}

void RlDashboard::rebuild_utilisation(const nlohmann::json& pools) {
  utilisation_chart_->removeAllSeries();
  for (QAbstractAxis* axis : utilisation_chart_->axes()) {
    utilisation_chart_->removeAxis(axis);
    delete axis;
  }
  auto* series = new QBarSeries;
  auto* set = new QBarSet(tr("busy"));
  set->setColor(QColor("#1565c0"));
  auto* categories = new QBarCategoryAxis;
  for (const auto& p : pools) {
    *set << 100 * p.at("utilisation").get<double>();
    categories->append(QString("%1 (%2)")
                           .arg(QString::fromStdString(p.at("name").get<std::string>()))
                           .arg(p.at("gpus").get<qint64>()));
  }
  series->append(set);
  utilisation_chart_->addSeries(series);
  utilisation_chart_->addAxis(categories, Qt::AlignBottom);
  series->attachAxis(categories);
  auto* percent = new QValueAxis;
  percent->setRange(0, 100);
  utilisation_chart_->addAxis(percent, Qt::AlignLeft);
  series->attachAxis(percent);
  utilisation_chart_->legend()->hide();
  utilisation_series_ = series;
}

bool render_rl_dashboard(const QString& file, const QString& png, QString* error, QSize size) {
  nlohmann::json report;
  try {
    const std::string path = QFileInfo(file).absoluteFilePath().toStdString();
    const nlohmann::json doc = parse_json_file(path);
    report = doc.value("schema", std::string()) == "gwsim.rl/1" ? run_rl(load_rl_scenario(path)) : doc;
    RlDashboard dashboard;
    dashboard.setReport(report);
    return render_widget_to_png(dashboard, size, png, error);
  } catch (const InputError& e) {
    if (error) *error = QString("gwsim: %1").arg(QString::fromStdString(e.what()));
    return false;
  } catch (const std::exception& e) {
    if (error) *error = QString("gwsim: %1: %2").arg(file, QString::fromStdString(e.what()));
    return false;
  }
}

}  // namespace gwsim::gui
