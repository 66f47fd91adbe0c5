#include "dashboard.h"

#include "dashboard_parts.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QLegendMarker>
#include <QStackedBarSeries>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <set>

namespace gwsim::gui {
namespace {

// Fixed colours per category so that the same cost looks the same in every run
// and every PNG.
QColor colour_for(const QString& key) {
  static const std::map<QString, QColor> known = {{"compute", QColor("#2e7d32")},
                                                  {"recompute", QColor("#81c784")},
                                                  {"bubble", QColor("#9e9e9e")},
                                                  {"optimizer", QColor("#1565c0")},
                                                  {"comm_sm_contention", QColor("#8e24aa")},
                                                  {"exposed_comm_tp", QColor("#ef6c00")},
                                                  {"exposed_comm_pp", QColor("#f9a825")},
                                                  {"exposed_comm_dp", QColor("#c62828")},
                                                  {"exposed_comm_ep", QColor("#ad1457")},
                                                  {"exposed_comm_cp", QColor("#6d4c41")},
                                                  // Memory categories have their own keys ("mem:") since "optimizer"
                                                  // names both a time and a size.
                                                  {"mem:weights", QColor("#0d47a1")},
                                                  {"mem:gradients", QColor("#42a5f5")},
                                                  {"mem:optimizer", QColor("#00897b")},
                                                  {"mem:activations", QColor("#2e7d32")},
                                                  {"mem:comm_buffers", QColor("#8e24aa")},
                                                  {"mem:capacity", QColor("#cfd8dc")}};
  auto it = known.find(key);
  if (it != known.end()) return it->second;
  return QColor::fromHsv(static_cast<int>(qHash(key) % 360), 140,
                         200);  // unknown: stable hue
}

QString pretty(const std::string& key) { return QString::fromStdString(key).replace('_', ' '); }

void hide_zero_legend_entries(QChart* chart, QAbstractBarSeries* series) {
  // Categories that cost nothing in every bar only clutter the legend.
  for (QBarSet* set : series->barSets()) {
    bool all_zero = true;
    for (int i = 0; i < set->count(); ++i) all_zero &= set->at(i) == 0.0;
    if (all_zero)
      for (QLegendMarker* m : chart->legend()->markers(series))
        if (m->label() == set->label()) m->setVisible(false);
  }
}

void drop_axes(QChart* chart) {
  for (QAbstractAxis* axis : chart->axes()) {
    chart->removeAxis(axis);
    delete axis;
  }
}

QChart* make_chart(const QString& title) {
  auto* chart = make_dashboard_chart(title);
  QFont legend_font = chart->legend()->font();
  legend_font.setPointSizeF(legend_font.pointSizeF() * 0.85);  // eight categories must fit one row
  chart->legend()->setFont(legend_font);
  return chart;
}

}  // namespace

QString human_number(double value) {
  const double a = std::fabs(value);
  if (a >= 1e12) return QString::number(value / 1e12, 'f', 2) + " T";
  if (a >= 1e9) return QString::number(value / 1e9, 'f', 2) + " B";
  if (a >= 1e6) return QString::number(value / 1e6, 'f', 2) + " M";
  if (a >= 1e4) return QString::number(value / 1e3, 'f', 1) + " k";
  if (a >= 100) return QString::number(value, 'f', 0);
  return QString::number(value, 'g', 3);
}

Dashboard::Dashboard(QWidget* parent) : QWidget(parent) {
  set_dashboard_background(this);

  auto* root = new QVBoxLayout(this);
  const auto header = add_dashboard_header(root, tr("No report loaded — open a scenario or a report (File "
                                                    "▸ Open, or drop a file)"));
  title_ = header.title;
  subtitle_ = header.subtitle;

  auto* cards = new QGridLayout;
  const std::vector<std::pair<QString, QString>> card_titles = {
      {"step_time", tr("Step time")}, {"tokens_per_s", tr("Tokens / s")}, {"mfu", tr("MFU")},
      {"days", tr("Days")},           {"gpu_hours", tr("GPU-hours")},     {"facility_mw", tr("Facility power")},
      {"cost", tr("Cost")},           {"memory", tr("Memory / GPU")},     {"goodput", tr("Goodput")}};
  int column = 0;
  for (const auto& [key, title] : card_titles) {
    auto* card = new QFrame;
    card->setObjectName("card");
    card->setStyleSheet(
        "#card { background: white; border: 1px solid #d0d4da; "
        "border-radius: 6px; }");
    auto* l = new QVBoxLayout(card);
    auto* t = new QLabel(title);
    t->setStyleSheet("color: #666; font-size: 11px;");
    auto* v = new QLabel("—");
    v->setStyleSheet("font-size: 17px; font-weight: bold;");
    l->addWidget(t);
    l->addWidget(v);
    cards->addWidget(card, 0, column++);
    card_values_[key] = v;
    cards_[key] = card;
  }
  cards_["goodput"]->setVisible(false);
  root->addLayout(cards);

  auto* charts = new QHBoxLayout;
  breakdown_chart_ = make_chart(tr("Step time breakdown (s)"));
  breakdown_view_ = new QChartView(breakdown_chart_);
  breakdown_view_->setRenderHint(QPainter::Antialiasing);
  breakdown_view_->setMinimumSize(520, 300);
  memory_chart_ = make_chart(tr("Memory per GPU (GiB) against HBM capacity"));
  auto* memory_view = new QChartView(memory_chart_);
  memory_view->setRenderHint(QPainter::Antialiasing);
  memory_view->setMinimumSize(360, 300);
  charts->addWidget(breakdown_view_, 3);
  charts->addWidget(memory_view, 2);
  root->addLayout(charts, 1);

  auto* bottom = new QHBoxLayout;
  comm_table_ = new QTableWidget(0, 7);
  comm_table_->setHorizontalHeaderLabels({tr("Collective"), tr("Op"), tr("Group"), tr("Link"), tr("Per step (s)"),
                                          tr("Exposed (s)"), tr("Bus BW (GB/s)")});
  comm_table_->verticalHeader()->setVisible(false);
  comm_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  comm_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  comm_table_->horizontalHeader()->setStretchLastSection(true);
  comm_table_->verticalHeader()->setDefaultSectionSize(22);
  comm_table_->setMinimumHeight(22 * 8 + 28);  // room for the usual 7-8 collectives without scrolling
  auto* comm_box = new QVBoxLayout;
  auto* comm_title = new QLabel(tr("Busiest communication (by time per step)"));
  comm_title->setStyleSheet("font-weight: bold;");
  comm_box->addWidget(comm_title);
  comm_box->addWidget(comm_table_);
  bottom->addLayout(comm_box, 3);
  warnings_ = new QLabel;
  warnings_->setWordWrap(true);
  warnings_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  warnings_->setStyleSheet(
      "background: #fff8e1; border: 1px solid #ffe082; "
      "border-radius: 6px; padding: 6px;");
  warnings_->setMinimumWidth(300);
  bottom->addWidget(warnings_, 2);
  root->addLayout(bottom);
}

QString Dashboard::cardText(const QString& key) const {
  auto it = card_values_.find(key);
  return it == card_values_.end() ? QString() : it->second->text();
}

void Dashboard::clear() {
  has_report_ = false;
  report_ = ReportModel{};
  pinned_.clear();
  breakdown_chart_->removeAllSeries();
  memory_chart_->removeAllSeries();
  drop_axes(breakdown_chart_);
  drop_axes(memory_chart_);
  breakdown_series_ = memory_series_ = nullptr;
  for (auto& [key, label] : card_values_) label->setText("—");
  comm_table_->setRowCount(0);
  warnings_->clear();
}

void Dashboard::setReport(const ReportModel& report) {
  report_ = report;
  has_report_ = true;
  title_->setText(QString::fromStdString(report.name));
  subtitle_->setText(tr("%1 × %2  ·  backend %3  ·  profile %4  ·  bottleneck: %5")
                         .arg(report.gpus)
                         .arg(QString::fromStdString(report.gpu), QString::fromStdString(report.backend),
                              QString::fromStdString(report.profile), QString::fromStdString(report.bottleneck)));
  fill_cards();
  rebuild_breakdown();
  rebuild_memory();
  fill_communication();
}

void Dashboard::setComparison(const std::vector<std::pair<QString, ReportModel>>& pinned) {
  pinned_ = pinned;
  if (has_report_) rebuild_breakdown();
}

void Dashboard::fill_cards() {
  const ReportModel& r = report_;
  card_values_["step_time"]->setText(QString::number(r.step_time_s, 'f', 2) + " s");
  card_values_["tokens_per_s"]->setText(human_number(r.tokens_per_s));
  card_values_["mfu"]->setText(QString::number(r.mfu * 100, 'f', 1) + " %");
  card_values_["days"]->setText(QString::number(r.days, 'f', 1));
  card_values_["gpu_hours"]->setText(human_number(r.gpu_hours));
  card_values_["facility_mw"]->setText(QString::number(r.facility_mw, 'f', 2) + " MW");
  card_values_["cost"]->setText("$" + human_number(r.cost_usd));
  card_values_["memory"]->setText(QString::number(r.memory_total_gib, 'f', 1) + " / " +
                                  QString::number(r.capacity_gib, 'f', 1) + " GiB");
  const bool over = r.memory_total_gib > r.capacity_gib;
  card_values_["memory"]->setStyleSheet(
      QString("font-size: 17px; font-weight: bold; color: %1;").arg(over ? "#c62828" : "black"));
  cards_["goodput"]->setVisible(r.goodput.has_value());
  if (r.goodput) card_values_["goodput"]->setText(QString::number(*r.goodput * 100, 'f', 1) + " %");
}

void Dashboard::rebuild_breakdown() {
  breakdown_chart_->removeAllSeries();
  drop_axes(breakdown_chart_);
  // Bars: the current run first, then the pinned ones; categories are the union
  // of their keys (in the current report's order) so a key missing from one run
  // shows as 0, not as a shift.
  std::vector<const ReportModel*> runs = {&report_};
  QStringList labels = {tr("current")};
  for (const auto& [label, model] : pinned_) {
    runs.push_back(&model);
    labels << label.section(' ', 0, 0);  // "#2": the pinned-runs table carries the full label
  }
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const ReportModel* r : runs)
    for (const auto& [key, value] : r->breakdown_s)
      if (seen.insert(key).second) keys.push_back(key);

  auto* series = new QHorizontalStackedBarSeries;
  double longest = 0;
  for (const auto& key : keys) {
    auto* set = new QBarSet(pretty(key));
    set->setColor(colour_for(QString::fromStdString(key)));
    set->setBorderColor(Qt::white);
    for (const ReportModel* r : runs) {
      double v = 0;
      for (const auto& [k, value] : r->breakdown_s)
        if (k == key) v = value;
      *set << v;
    }
    series->append(set);
  }
  for (const ReportModel* r : runs) longest = std::max(longest, r->step_time_s);
  series->setBarWidth(0.6);
  breakdown_chart_->addSeries(series);
  auto* categories = new QBarCategoryAxis;
  // Index 0 (drawn at the bottom) is always the current run, so set->at(0) is
  // "the report shown".
  categories->append(labels);
  breakdown_chart_->addAxis(categories, Qt::AlignLeft);
  series->attachAxis(categories);
  auto* seconds = new QValueAxis;
  seconds->setRange(0, longest > 0 ? longest * 1.02 : 1);
  seconds->applyNiceNumbers();  // round ticks (0, 2, 4 ...) read faster
                                // than 3.9, 7.8
  seconds->setLabelFormat("%g");
  seconds->setTitleText(tr("seconds per step"));
  breakdown_chart_->addAxis(seconds, Qt::AlignBottom);
  series->attachAxis(seconds);
  hide_zero_legend_entries(breakdown_chart_, series);
  breakdown_series_ = series;
}

void Dashboard::rebuild_memory() {
  memory_chart_->removeAllSeries();
  drop_axes(memory_chart_);
  // Two columns: what a GPU holds (stacked by category) and what it has; a used
  // column taller than the capacity column is the "does not fit" picture.
  auto* series = new QStackedBarSeries;
  for (const auto& [key, value] : report_.memory_gib) {
    auto* set = new QBarSet(pretty(key));
    set->setColor(colour_for("mem:" + QString::fromStdString(key)));
    set->setBorderColor(Qt::white);
    *set << value << 0.0;
    series->append(set);
  }
  auto* capacity = new QBarSet(tr("HBM capacity"));
  capacity->setColor(colour_for("mem:capacity"));
  capacity->setBorderColor(QColor("#90a4ae"));
  *capacity << 0.0 << report_.capacity_gib;
  series->append(capacity);
  series->setBarWidth(0.6);
  memory_chart_->addSeries(series);
  auto* categories = new QBarCategoryAxis;
  categories->append({tr("used per GPU"), tr("HBM capacity")});
  memory_chart_->addAxis(categories, Qt::AlignBottom);
  series->attachAxis(categories);
  auto* gib = new QValueAxis;
  gib->setRange(0, std::max(report_.memory_total_gib, report_.capacity_gib) * 1.02 + 1e-9);
  gib->applyNiceNumbers();
  gib->setLabelFormat("%g");
  gib->setTitleText("GiB");
  memory_chart_->addAxis(gib, Qt::AlignLeft);
  series->attachAxis(gib);
  memory_chart_->legend()->setAlignment(Qt::AlignRight);
  memory_series_ = series;
}

void Dashboard::fill_communication() {
  std::vector<CommEntry> comm = report_.communication;
  std::stable_sort(comm.begin(), comm.end(),
                   [](const CommEntry& a, const CommEntry& b) { return a.per_step_s > b.per_step_s; });
  comm_table_->setRowCount(static_cast<int>(comm.size()));
  for (int row = 0; row < static_cast<int>(comm.size()); ++row) {
    const CommEntry& c = comm[static_cast<std::size_t>(row)];
    auto set = [&](int col, const QString& text, bool number) {
      auto* item = new QTableWidgetItem(text);
      if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      comm_table_->setItem(row, col, item);
    };
    set(0, QString::fromStdString(c.name), false);
    set(1, QString::fromStdString(c.op), false);
    set(2, QString::number(c.group), true);
    set(3, QString::fromStdString(c.link), false);
    set(4, QString::number(c.per_step_s, 'f', 4), true);
    set(5, QString::number(c.exposed_s, 'f', 4), true);
    set(6, QString::number(c.busbw_gbs, 'f', 1), true);
  }
  QString text = "<b>" + tr("Bottleneck") + "</b>: " + QString::fromStdString(report_.bottleneck).toHtmlEscaped();
  if (report_.warnings.empty())
    text += "<br><br>" + tr("No warnings.");
  else {
    text += "<br><br><b>" + tr("Warnings") + "</b><ul style='margin-left:-20px'>";
    // A label lays out every item: 100k warnings hung the GUI (issue 12).
    constexpr std::size_t kShownWarnings = 50;
    const std::size_t shown = std::min(report_.warnings.size(), kShownWarnings);
    for (std::size_t i = 0; i < shown; ++i)
      text += "<li>" + QString::fromStdString(report_.warnings[i]).toHtmlEscaped() + "</li>";
    text += "</ul>";
    if (report_.warnings.size() > shown)
      text += tr("... and %1 more (see the report file).").arg(report_.warnings.size() - shown);
  }
  warnings_->setText(text);
}

}  // namespace gwsim::gui
