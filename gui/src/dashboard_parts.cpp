#include "dashboard_parts.h"

#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <QWidget>

namespace gwsim::gui {

void set_dashboard_background(QWidget* widget) {
  widget->setAutoFillBackground(true);
  QPalette pal = widget->palette();
  pal.setColor(QPalette::Window, QColor("#f5f6f8"));
  widget->setPalette(pal);
}

DashboardHeader add_dashboard_header(QVBoxLayout* root, const QString& title) {
  DashboardHeader h;
  h.title = new QLabel(title);
  h.title->setStyleSheet("font-size: 18px; font-weight: bold;");
  h.subtitle = new QLabel;
  h.subtitle->setStyleSheet("color: #555;");
  h.subtitle->setWordWrap(true);
  root->addWidget(h.title);
  root->addWidget(h.subtitle);
  return h;
}

std::map<QString, QLabel*> add_summary_cards(QVBoxLayout* root, std::initializer_list<const char*> keys) {
  std::map<QString, QLabel*> values;
  auto* cards = new QHBoxLayout;
  for (const char* key : keys) {
    auto* value = new QLabel("–");
    value->setStyleSheet("font-size: 17px; font-weight: bold;");
    auto* caption = new QLabel(QString(key).replace('_', ' '));
    caption->setStyleSheet("color: #555;");
    auto* box = new QVBoxLayout;
    box->addWidget(caption);
    box->addWidget(value);
    cards->addLayout(box);
    values[key] = value;
  }
  root->addLayout(cards);
  return values;
}

DashboardFrame make_dashboard_frame(QWidget* widget, std::initializer_list<const char*> card_keys) {
  DashboardFrame f;
  set_dashboard_background(widget);
  f.root = new QVBoxLayout(widget);
  const DashboardHeader header = add_dashboard_header(f.root);
  f.title = header.title;
  f.subtitle = header.subtitle;
  f.cards = add_summary_cards(f.root, card_keys);
  return f;
}

QString DashboardFrame::card_text(const QString& key) const {
  const auto it = cards.find(key);
  return it == cards.end() ? QString() : it->second->text();
}

QChart* make_dashboard_chart(const QString& title) {
  auto* chart = new QChart;
  chart->setTitle(title);
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setMargins(QMargins(4, 4, 4, 4));
  return chart;
}

QChartView* make_chart_view(QChart* chart) {
  auto* view = new QChartView(chart);
  view->setRenderHint(QPainter::Antialiasing);
  return view;
}

double number_or_zero(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace gwsim::gui
