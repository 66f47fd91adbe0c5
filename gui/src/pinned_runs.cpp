#include "pinned_runs.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <set>

#include "dashboard.h"

namespace gwsim::gui {

PinnedRuns::PinnedRuns(QWidget* parent) : QWidget(parent) {
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(0, 0, 0, 0);
  auto* head = new QHBoxLayout;
  auto* title = new QLabel(tr("Pinned runs"));
  title->setStyleSheet("font-weight: bold;");
  head->addWidget(title);
  head->addStretch(1);
  remove_ = new QPushButton(tr("Remove selected"));
  clear_ = new QPushButton(tr("Clear all"));
  head->addWidget(remove_);
  head->addWidget(clear_);
  root->addLayout(head);

  table_ = new QTableWidget(0, 10);
  table_->setHorizontalHeaderLabels({tr("Run"), tr("GPUs"), tr("Step (s)"), tr("Tokens/s"), tr("MFU"), tr("Days"),
                                     tr("GPU-hours"), tr("MW"), tr("Cost"), tr("Mem/GPU (GiB)")});
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  root->addWidget(table_);

  connect(remove_, &QPushButton::clicked, this, [this] {
    std::set<int, std::greater<>> rows;
    for (const auto* item : table_->selectedItems()) rows.insert(item->row());
    for (int row : rows) runs_.erase(runs_.begin() + row);
    if (!rows.empty()) refill();
  });
  connect(clear_, &QPushButton::clicked, this, [this] {
    runs_.clear();
    refill();
  });
}

void PinnedRuns::add(const QString& label, const ReportModel& report) {
  runs_.emplace_back(label, report);
  refill();
}

void PinnedRuns::refill() {
  table_->setRowCount(static_cast<int>(runs_.size()));
  for (int row = 0; row < static_cast<int>(runs_.size()); ++row) {
    const auto& [label, r] = runs_[static_cast<std::size_t>(row)];
    const QStringList cells = {
        label,
        QString("%1 × %2").arg(r.gpus).arg(QString::fromStdString(r.gpu)),
        QString::number(r.step_time_s, 'f', 3),
        human_number(r.tokens_per_s),
        QString::number(r.mfu * 100, 'f', 1) + " %",
        QString::number(r.days, 'f', 1),
        human_number(r.gpu_hours),
        QString::number(r.facility_mw, 'f', 2),
        "$" + human_number(r.cost_usd),
        QString::number(r.memory_total_gib, 'f', 1) + " / " + QString::number(r.capacity_gib, 'f', 1)};
    for (int col = 0; col < cells.size(); ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      if (col > 1) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      if (col == 0) item->setToolTip(cells[col]);
      table_->setItem(row, col, item);
    }
  }
  emit changed();
}

}  // namespace gwsim::gui
