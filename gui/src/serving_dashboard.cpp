#include "serving_dashboard.h"

#include "dashboard_parts.h"

#include <QAbstractAxis>
#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <stdexcept>

namespace gwsim::gui {
namespace {

constexpr const char* kSchema = "gwsim.serving-sim-report/1";

// Replaces a chart's series and axes with `series` over new x and y axes; a logarithmic x axis when
// the lines span orders of magnitude (latencies: TPOT in ms, end-to-end in minutes).
void set_lines(QChart* chart, const std::vector<QLineSeries*>& series, const QString& x_title, const QString& y_title,
               double y_max, bool log_x = false) {
  chart->removeAllSeries();
  for (auto* axis : chart->axes()) chart->removeAxis(axis);
  QAbstractAxis* x = nullptr;
  if (log_x) {
    auto* log = new QLogValueAxis;
    log->setBase(10);
    log->setLabelFormat("%g");
    x = log;
  } else {
    x = new QValueAxis;
  }
  x->setTitleText(x_title);
  auto* y = new QValueAxis;
  y->setTitleText(y_title);
  y->setRange(0, y_max > 0 ? y_max * 1.05 : 1);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  double x_min = 0, x_max = 0;
  for (auto* s : series) {
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    for (const auto& p : s->points()) {
      x_max = std::max(x_max, p.x());
      if (p.x() > 0 && (x_min == 0 || p.x() < x_min)) x_min = p.x();
    }
  }
  if (log_x)
    x->setRange(x_min > 0 ? x_min / 2 : 0.1, x_max > 0 ? x_max * 2 : 1);
  else
    x->setRange(0, x_max > 0 ? x_max : 1);
}

}  // namespace

bool is_serving_sim_report(const std::string& schema) { return schema == kSchema; }

ServingDashboard::ServingDashboard(QWidget* parent) : QWidget(parent) {
  frame_ = make_dashboard_frame(this, {"requests", "ttft_p99", "tpot_p99", "goodput", "output_tokens_per_s",
                                       "average_nodes", "usd_per_million_output_tokens"});
  auto* root = frame_.root;
  latency_chart_ = make_dashboard_chart(tr("Latency at P50 / P90 / P99 / max (ms)"));
  queue_chart_ = make_dashboard_chart(tr("Requests queued and running"));
  kv_chart_ = make_dashboard_chart(tr("KV-cache use (% of capacity)"));
  auto* charts = new QHBoxLayout;
  charts->addWidget(make_chart_view(latency_chart_), 1);
  auto* right = new QVBoxLayout;
  right->addWidget(make_chart_view(queue_chart_), 1);
  right->addWidget(make_chart_view(kv_chart_), 1);
  charts->addLayout(right, 1);
  root->addLayout(charts, 1);
}

QLineSeries* ServingDashboard::latencySeries(const QString& metric) const {
  const auto it = latency_.find(metric);
  return it == latency_.end() ? nullptr : it->second;
}

QString ServingDashboard::cardText(const QString& key) const { return frame_.card_text(key); }

void ServingDashboard::setReport(const nlohmann::json& report) {
  if (!report.is_object() || report.value("schema", std::string()) != kSchema)
    throw std::runtime_error(std::string("expected a serving simulation report (schema ") + kSchema + ")");
  const auto& latency = report.at("latency_ms");
  const auto& fleet = report.at("fleet");
  frame_.title->setText(QString::fromStdString(report.at("scenario").value("name", std::string("serving"))));
  frame_.subtitle->setText(QString("%1, %2 decode instance(s)%3")
                               .arg(fleet.value("disaggregated", false) ? "prefill/decode disaggregated" : "one pool")
                               .arg(number_or_zero(fleet, "decode_instances"))
                               .arg(fleet.value("autoscaled", false) ? ", autoscaled" : ""));
  const auto& goodput = report.at("goodput");
  frame_.cards["requests"]->setText(QString::number(number_or_zero(report.at("requests"), "completed"), 'g', 6));
  frame_.cards["ttft_p99"]->setText(QString("%1 ms").arg(number_or_zero(latency.at("ttft"), "p99"), 0, 'f', 1));
  frame_.cards["tpot_p99"]->setText(QString("%1 ms").arg(number_or_zero(latency.at("tpot"), "p99"), 0, 'f', 1));
  frame_.cards["goodput"]->setText(QString("%1 %").arg(100 * number_or_zero(goodput, "share_meeting_slo"), 0, 'f', 1));
  frame_.cards["output_tokens_per_s"]->setText(
      QString::number(number_or_zero(report.at("throughput"), "output_tokens_per_s"), 'g', 4));
  frame_.cards["average_nodes"]->setText(QString::number(number_or_zero(fleet, "average_nodes"), 'f', 1));
  frame_.cards["usd_per_million_output_tokens"]->setText(
      QString("$%1").arg(number_or_zero(fleet, "usd_per_million_output_tokens"), 0, 'f', 3));
  rebuild_latency(latency);
  rebuild_series(report.at("series"));
}

// One line per latency metric: x the latency, y the percentile, at the points the report carries
// (an empirical CDF sampled at P50, P90, P99 and the maximum).
void ServingDashboard::rebuild_latency(const nlohmann::json& latency) {
  latency_.clear();
  std::vector<QLineSeries*> lines;
  for (const char* metric : {"ttft", "tpot", "itl", "e2e"}) {
    if (!latency.contains(metric)) continue;
    auto* s = new QLineSeries;
    s->setName(QString(metric).toUpper());
    s->setPointsVisible(true);
    const auto& m = latency.at(metric);
    for (const auto& [key, pct] :
         {std::pair{"p50", 50.0}, std::pair{"p90", 90.0}, std::pair{"p99", 99.0}, std::pair{"max", 100.0}})
      if (number_or_zero(m, key) > 0) s->append(number_or_zero(m, key), pct);  // (a log axis has no 0)
    latency_[metric] = s;
    lines.push_back(s);
  }
  set_lines(latency_chart_, lines, tr("latency (ms, log scale)"), tr("percentile"), 100, /*log_x=*/true);
}

void ServingDashboard::rebuild_series(const nlohmann::json& series) {
  const auto& t = series.at("t_s");
  auto line = [&](const char* key, const QString& name, double scale, double& peak) {
    auto* s = new QLineSeries;
    s->setName(name);
    const auto& v = series.at(key);
    for (std::size_t i = 0; i < t.size() && i < v.size(); ++i) {
      s->append(t[i].get<double>(), scale * v[i].get<double>());
      peak = std::max(peak, scale * v[i].get<double>());
    }
    return s;
  };
  double peak_requests = 0, peak_kv = 0;
  queued_ = line("queued", tr("queued"), 1, peak_requests);
  running_ = line("running", tr("running"), 1, peak_requests);
  kv_ = line("kv_utilization", tr("KV cache"), 100, peak_kv);
  set_lines(queue_chart_, {queued_, running_}, tr("time (s)"), tr("requests"), peak_requests);
  set_lines(kv_chart_, {kv_}, tr("time (s)"), tr("%"), std::max(peak_kv, 1.0));
}

}  // namespace gwsim::gui
