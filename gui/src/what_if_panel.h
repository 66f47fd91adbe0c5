#pragma once
// The what-if controls: GPU type, count, parallelism degrees, precision and
// bandwidth caps. They never run anything: they turn the difference from the
// loaded scenario into `--set` style overrides ("cluster.gpu=H100-SXM") and
// announce them, debounced, for the main window to run.
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <string>
#include <vector>

#include "run_worker.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace gwsim::gui {

class WhatIfPanel : public QWidget {
  Q_OBJECT
 public:
  explicit WhatIfPanel(QWidget* parent = nullptr);

  // Shows the loaded scenario's values as the baseline, without announcing a
  // change.
  void setBase(const ScenarioKnobs& base);
  const ScenarioKnobs& base() const { return base_; }
  // The overrides that turn the baseline into what the controls show (empty:
  // the scenario as is).
  std::vector<std::string> overrides() const;

  // The controls, for tests that drive the panel like a user.
  QComboBox* gpuBox() const { return gpu_; }
  QComboBox* precisionBox() const { return precision_; }
  QSpinBox* gpusBox() const { return gpus_; }
  QSpinBox* tpBox() const { return tp_; }
  QSpinBox* ppBox() const { return pp_; }
  QSpinBox* dpBox() const { return dp_; }
  QSpinBox* epBox() const { return ep_; }
  QDoubleSpinBox* nvlinkBox() const { return nvlink_; }
  QDoubleSpinBox* nicBox() const { return nic_; }

 signals:
  void overridesChanged(const QStringList& overrides);

 private:
  void on_edit();
  void on_gpu_count_edit();
  void on_degree_edit();
  void show_values(const ScenarioKnobs& k);
  void announce();

  ScenarioKnobs base_;
  bool updating_ = false;  // set while the panel writes its own controls: not a user change
  QTimer debounce_;        // typing "4096" is one change, not four runs
  QComboBox* gpu_ = nullptr;
  QComboBox* precision_ = nullptr;
  QSpinBox* gpus_ = nullptr;
  QSpinBox* tp_ = nullptr;
  QSpinBox* pp_ = nullptr;
  QSpinBox* dp_ = nullptr;
  QSpinBox* ep_ = nullptr;
  QDoubleSpinBox* nvlink_ = nullptr;
  QDoubleSpinBox* nic_ = nullptr;
  QLabel* summary_ = nullptr;
  QPushButton* reset_ = nullptr;
};

}  // namespace gwsim::gui
