#pragma once
// What every dashboard (training, RL, serving simulation) is built from, so they look alike: the
// background, the title and subtitle, a row of summary cards, and a chart set up for headless
// rendering.
#include <QString>

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <map>

class QChart;
class QChartView;
class QLabel;
class QVBoxLayout;
class QWidget;

namespace gwsim::gui {

// An opaque light background (grab() of an unshown widget must not come out transparent).
void set_dashboard_background(QWidget* widget);

struct DashboardHeader {
  QLabel* title = nullptr;
  QLabel* subtitle = nullptr;
};
// The bold title and the grey, wrapping subtitle, added to `root`.
DashboardHeader add_dashboard_header(QVBoxLayout* root, const QString& title = QString());

// A row of cards, one per key, captioned by the key with '_' as spaces; returns the value labels.
std::map<QString, QLabel*> add_summary_cards(QVBoxLayout* root, std::initializer_list<const char*> keys);

// The frame a report view starts with: its background and layout, the title and subtitle, and a
// row of summary cards (set_dashboard_background, add_dashboard_header, add_summary_cards).
struct DashboardFrame {
  QVBoxLayout* root = nullptr;
  QLabel* title = nullptr;
  QLabel* subtitle = nullptr;
  std::map<QString, QLabel*> cards;
  QString card_text(const QString& key) const;  // "" for a key with no card
};
DashboardFrame make_dashboard_frame(QWidget* widget, std::initializer_list<const char*> card_keys);

// A chart with no animation (a headless grab must see the final state), legend below, small margins.
QChart* make_dashboard_chart(const QString& title);
// An antialiased view of `chart`.
QChartView* make_chart_view(QChart* chart);

// A report's number at `key`, 0 when it is absent or not a number (views display what they get).
double number_or_zero(const nlohmann::json& j, const char* key);

}  // namespace gwsim::gui
