#pragma once
// Runs the user pinned to compare: a small table, one row per run, the key
// numbers side by side. Pins live here and only here, so a failed run or a
// newly opened file never touches them.
#include <QString>
#include <QWidget>

#include <utility>
#include <vector>

#include "report_model.h"

class QTableWidget;
class QPushButton;

namespace gwsim::gui {

class PinnedRuns : public QWidget {
  Q_OBJECT
 public:
  explicit PinnedRuns(QWidget* parent = nullptr);

  void add(const QString& label, const ReportModel& report);
  int count() const { return static_cast<int>(runs_.size()); }
  const std::vector<std::pair<QString, ReportModel>>& runs() const { return runs_; }
  QTableWidget* table() const { return table_; }

 signals:
  void changed();

 private:
  void refill();

  std::vector<std::pair<QString, ReportModel>> runs_;
  QTableWidget* table_ = nullptr;
  QPushButton* remove_ = nullptr;
  QPushButton* clear_ = nullptr;
};

}  // namespace gwsim::gui
