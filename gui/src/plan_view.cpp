#include "plan_view.h"

#include "dashboard_parts.h"

#include <QChart>
#include <QChartView>
#include <QHeaderView>
#include <QLabel>
#include <QScatterSeries>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gwsim::gui {
namespace {

constexpr const char* kSchema = "gwsim.plan-report/1";

QString text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? QString::fromStdString(it->get<std::string>()) : QString();
}

// Days on x, rental cost in $M on y: the two numbers a capacity decision trades.
QPointF point_of(const nlohmann::json& result) {
  return {number_or_zero(result, "wall_clock_days"), number_or_zero(result, "cost_rental_usd") / 1e6};
}

QScatterSeries* scatter(const QString& name, const QColor& colour, double size, QScatterSeries::MarkerShape shape) {
  auto* s = new QScatterSeries;
  s->setName(name);
  s->setColor(colour);
  s->setBorderColor(colour.darker(130));
  s->setMarkerSize(size);
  s->setMarkerShape(shape);
  return s;
}

}  // namespace

bool is_plan_report(const std::string& schema) { return schema == kSchema; }

PlanView::PlanView(QWidget* parent) : QWidget(parent) {
  frame_ = make_dashboard_frame(this, {"evaluated", "feasible", "best_days", "best_cost", "best_mfu", "best_gpus"});
  auto* root = frame_.root;

  chart_ = make_dashboard_chart("Top layouts: wall-clock days against rental cost (click a point to open it)");
  auto* view = new QChartView(chart_);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(380);
  root->addWidget(view, 3);

  table_ = new QTableWidget(0, 8);
  table_->setHorizontalHeaderLabels({"#", "chip x GPUs", "layout", "step s", "MFU %", "days", "cost $M", "bottleneck"});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  root->addWidget(table_, 2);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { choose(row + 1); });
}

void PlanView::setReport(const nlohmann::json& report) {
  if (report.value("schema", std::string()) != kSchema)
    throw std::runtime_error(std::string("expected a plan report (schema ") + kSchema + ")");
  top_results_ = report.value("top", nlohmann::json::array());
  const auto objectives = report.value("objectives", nlohmann::json::array());
  QStringList names;
  for (const auto& o : objectives) names << QString::fromStdString(o.get<std::string>());
  frame_.title->setText(QString("gwsim plan — objective %1").arg(names.join(", ")));
  frame_.subtitle->setText(QString::fromStdString(report.value("reason", std::string())));

  const auto& counts = report.value("counts", nlohmann::json::object());
  frame_.cards["evaluated"]->setText(QString::number(number_or_zero(counts, "evaluated"), 'g', 10));
  frame_.cards["feasible"]->setText(QString::number(number_or_zero(counts, "feasible"), 'g', 10));
  if (!top_results_.empty()) {
    const auto& best = top_results_[0];
    frame_.cards["best_days"]->setText(QString::number(number_or_zero(best, "wall_clock_days"), 'f', 1));
    frame_.cards["best_cost"]->setText(QString("$%1M").arg(number_or_zero(best, "cost_rental_usd") / 1e6, 0, 'f', 2));
    frame_.cards["best_mfu"]->setText(QString::number(100 * number_or_zero(best, "mfu"), 'f', 1) + " %");
    frame_.cards["best_gpus"]->setText(
        QString("%1 x %2").arg(text(best, "chip")).arg(static_cast<qint64>(number_or_zero(best, "gpus"))));
  }

  chart_->removeAllSeries();
  for (auto* axis : chart_->axes()) chart_->removeAxis(axis);
  top_ = scatter("top layouts", QColor("#1e88e5"), 11, QScatterSeries::MarkerShapeCircle);
  best_ = scatter("#1", QColor("#2e7d32"), 17, QScatterSeries::MarkerShapeStar);
  pareto_ = scatter("Pareto front", QColor("#fb8c00"), 14, QScatterSeries::MarkerShapeRectangle);
  for (std::size_t i = 0; i < top_results_.size(); ++i) (i == 0 ? best_ : top_)->append(point_of(top_results_[i]));
  for (const auto& r : report.value("pareto", nlohmann::json::array())) pareto_->append(point_of(r));
  // The axes span the points with a margin (top layouts often differ by a few percent: from zero
  // they would sit on one spot).
  double x_min = INFINITY, x_max = 0, y_min = INFINITY, y_max = 0;
  for (auto* s : {pareto_, top_, best_})
    for (const auto& p : s->points()) {
      x_min = std::min(x_min, p.x()), x_max = std::max(x_max, p.x());
      y_min = std::min(y_min, p.y()), y_max = std::max(y_max, p.y());
    }
  const auto padded = [](QValueAxis* axis, double lo, double hi) {
    if (!(hi > 0)) return axis->setRange(0, 1);
    const double pad = std::max(0.05 * (hi - lo), 0.02 * hi);
    axis->setRange(std::max(0.0, lo - pad), hi + pad);
  };
  auto* x = new QValueAxis;
  x->setTitleText("wall-clock days");
  padded(x, x_min, x_max);
  auto* y = new QValueAxis;
  y->setTitleText("rental cost ($M)");
  padded(y, y_min, y_max);
  chart_->addAxis(x, Qt::AlignBottom);
  chart_->addAxis(y, Qt::AlignLeft);
  for (auto* s : {pareto_, top_, best_}) {
    chart_->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    connect(s, &QScatterSeries::clicked, this, &PlanView::on_point_clicked);
  }

  table_->setRowCount(static_cast<int>(top_results_.size()));
  for (int i = 0; i < static_cast<int>(top_results_.size()); ++i) {
    const auto& r = top_results_[static_cast<std::size_t>(i)];
    const QStringList cells = {
        QString::number(i + 1),
        QString("%1 x%2").arg(text(r, "chip")).arg(static_cast<qint64>(number_or_zero(r, "gpus"))),
        text(r, "key"),
        QString::number(number_or_zero(r, "step_time_s"), 'f', 3),
        QString::number(100 * number_or_zero(r, "mfu"), 'f', 1),
        QString::number(number_or_zero(r, "wall_clock_days"), 'f', 1),
        QString::number(number_or_zero(r, "cost_rental_usd") / 1e6, 'f', 2),
        text(r, "bottleneck")};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
  }
}

nlohmann::json PlanView::scenarioFor(int rank) const {
  if (rank < 1 || rank > static_cast<int>(top_results_.size())) return nullptr;
  return top_results_[static_cast<std::size_t>(rank - 1)].value("scenario", nlohmann::json());
}

bool PlanView::choose(int rank) {
  const nlohmann::json scenario = scenarioFor(rank);
  if (!scenario.is_object()) return false;
  emit layoutChosen(rank, QString::fromStdString(scenario.dump(2)));
  return true;
}

void PlanView::on_point_clicked(const QPointF& point) {
  // The series hands back the clicked point itself: the top layout at that point. A Pareto point
  // outside the top k has no scenario in the report and opens nothing.
  for (int i = 0; i < static_cast<int>(top_results_.size()); ++i)
    if (point_of(top_results_[static_cast<std::size_t>(i)]) == point) {
      choose(i + 1);
      return;
    }
}

QString PlanView::cardText(const QString& key) const { return frame_.card_text(key); }

}  // namespace gwsim::gui
