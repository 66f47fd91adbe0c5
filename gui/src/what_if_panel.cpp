#include "what_if_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <exception>

#include "gwsim/hwmodels/catalogue.h"

namespace gwsim::gui {
namespace {

QSpinBox* degree_box(int max) {
  auto* box = new QSpinBox;
  box->setRange(1, max);
  box->setKeyboardTracking(false);  // one change per edit, not per keystroke
  return box;
}

QDoubleSpinBox* bandwidth_box(const QString& suffix) {
  auto* box = new QDoubleSpinBox;
  box->setRange(1, 1e6);
  box->setDecimals(1);  // keeps a fractional baseline from reading as a change
  box->setSingleStep(50);
  box->setSuffix(suffix);
  box->setKeyboardTracking(false);
  return box;
}

bool differs(double a, double b) { return std::fabs(a - b) > 1e-6 * std::max(1.0, std::fabs(b)); }

std::string number_text(double v) {
  // Whole numbers as integers so the override reads like the CLI's (--set
  // cluster.nic_gbps=200).
  if (std::fabs(v - std::round(v)) < 1e-9) return std::to_string(static_cast<long long>(std::llround(v)));
  return QString::number(v, 'g', 10).toStdString();
}

}  // namespace

WhatIfPanel::WhatIfPanel(QWidget* parent) : QWidget(parent) {
  auto* root = new QVBoxLayout(this);
  auto* group = new QGroupBox(tr("What if…"));
  auto* form = new QFormLayout(group);

  gpu_ = new QComboBox;
  // The catalogue is the single list of chips the simulator knows; if it cannot
  // be read, the scenario's own GPU is still offered (setBase adds it) and the
  // error shows on the first run.
  try {
    for (const auto& gpu : gwsim::gpu_catalogue()) gpu_->addItem(QString::fromStdString(gpu.name));
  } catch (const std::exception&) {
  }
  gpu_->setToolTip(
      tr("Another GPU uses its own calibration profile (measured, "
         "else derived, else published); "
         "the cluster keeps its "
         "network unless the bandwidth caps below are changed."));
  form->addRow(tr("GPU"), gpu_);

  gpus_ = new QSpinBox;
  gpus_->setRange(1, 100000000);
  gpus_->setKeyboardTracking(false);
  gpus_->setToolTip(tr("Changing the count rescales dp so that tp·cp·pp·dp still equals it."));
  form->addRow(tr("GPUs"), gpus_);
  tp_ = degree_box(1024);
  pp_ = degree_box(1024);
  dp_ = degree_box(10000000);
  ep_ = degree_box(4096);
  form->addRow(tr("Tensor parallel (tp)"), tp_);
  form->addRow(tr("Pipeline parallel (pp)"), pp_);
  form->addRow(tr("Data parallel (dp)"), dp_);
  form->addRow(tr("Expert parallel (ep)"), ep_);

  precision_ = new QComboBox;
  precision_->addItems({"bf16", "fp16", "fp8"});
  form->addRow(tr("Precision"), precision_);

  nvlink_ = bandwidth_box(" GB/s");
  nvlink_->setToolTip(
      tr("Scale-up (NVLink-class) bandwidth per GPU, both "
         "directions (cluster.scaleup_bidir_gbs)"));
  form->addRow(tr("NVLink cap"), nvlink_);
  nic_ = bandwidth_box(" Gb/s");
  nic_->setToolTip(tr("NIC line rate, one direction (cluster.nic_gbps)"));
  form->addRow(tr("NIC cap"), nic_);

  reset_ = new QPushButton(tr("Reset to scenario"));
  form->addRow(reset_);
  root->addWidget(group);

  summary_ = new QLabel;
  summary_->setWordWrap(true);
  summary_->setStyleSheet("color: #555; font-family: monospace;");
  root->addWidget(summary_);
  root->addStretch(1);

  debounce_.setSingleShot(true);
  debounce_.setInterval(200);
  connect(&debounce_, &QTimer::timeout, this, &WhatIfPanel::announce);

  connect(gpu_, &QComboBox::currentTextChanged, this, &WhatIfPanel::on_edit);
  connect(precision_, &QComboBox::currentTextChanged, this, &WhatIfPanel::on_edit);
  connect(gpus_, &QSpinBox::valueChanged, this, &WhatIfPanel::on_gpu_count_edit);
  for (QSpinBox* box : {tp_, pp_, dp_}) connect(box, &QSpinBox::valueChanged, this, &WhatIfPanel::on_degree_edit);
  connect(ep_, &QSpinBox::valueChanged, this, &WhatIfPanel::on_edit);
  connect(nvlink_, &QDoubleSpinBox::valueChanged, this, &WhatIfPanel::on_edit);
  connect(nic_, &QDoubleSpinBox::valueChanged, this, &WhatIfPanel::on_edit);
  connect(reset_, &QPushButton::clicked, this, [this] {
    show_values(base_);
    on_edit();
  });
  setEnabled(false);  // nothing to change until a scenario is loaded
}

void WhatIfPanel::setBase(const ScenarioKnobs& base) {
  base_ = base;
  debounce_.stop();
  setEnabled(base.valid);
  if (base.valid) show_values(base);
  summary_->setText(base.valid ? QString() : tr("This file cannot be re-run: what-ifs are off."));
}

void WhatIfPanel::show_values(const ScenarioKnobs& k) {
  updating_ = true;
  const QString gpu = QString::fromStdString(k.gpu);
  if (gpu_->findText(gpu) < 0) gpu_->addItem(gpu);
  gpu_->setCurrentText(gpu);
  const QString precision = QString::fromStdString(k.precision);
  if (precision_->findText(precision) < 0) precision_->addItem(precision);
  precision_->setCurrentText(precision);
  gpus_->setValue(static_cast<int>(k.gpus));
  tp_->setValue(k.tp);
  pp_->setValue(k.pp);
  dp_->setValue(k.dp);
  ep_->setValue(k.ep);
  nvlink_->setValue(k.scaleup_bidir_gbs);
  nic_->setValue(k.nic_gbps);
  updating_ = false;
  summary_->clear();
}

void WhatIfPanel::on_gpu_count_edit() {
  if (updating_) return;
  // The layout must multiply out to the GPU count; absorbing the change in dp
  // is what one means by "same recipe on more GPUs". If it does not divide,
  // leave dp and let the simulator say why.
  const long long per_replica = static_cast<long long>(tp_->value()) * pp_->value() * base_.cp;
  if (per_replica > 0 && gpus_->value() % per_replica == 0) {
    updating_ = true;
    dp_->setValue(static_cast<int>(gpus_->value() / per_replica));
    updating_ = false;
  }
  on_edit();
}

void WhatIfPanel::on_degree_edit() {
  if (updating_) return;
  // The other way round: a new degree changes how many GPUs the layout needs.
  updating_ = true;
  gpus_->setValue(static_cast<int>(static_cast<long long>(tp_->value()) * pp_->value() * dp_->value() * base_.cp));
  updating_ = false;
  on_edit();
}

void WhatIfPanel::on_edit() {
  if (updating_ || !base_.valid) return;
  const auto ov = overrides();
  QStringList lines;
  for (const auto& o : ov) lines << QString::fromStdString("--set " + o);
  summary_->setText(lines.join('\n'));
  debounce_.start();
}

void WhatIfPanel::announce() {
  QStringList list;
  for (const auto& o : overrides()) list << QString::fromStdString(o);
  emit overridesChanged(list);
}

std::vector<std::string> WhatIfPanel::overrides() const {
  std::vector<std::string> out;
  if (!base_.valid) return out;
  const std::string gpu = gpu_->currentText().toStdString();
  if (gpu != base_.gpu) out.push_back("cluster.gpu=" + gpu);
  if (gpus_->value() != base_.gpus) out.push_back("cluster.gpus=" + std::to_string(gpus_->value()));
  if (tp_->value() != base_.tp) out.push_back("parallelism.tp=" + std::to_string(tp_->value()));
  if (pp_->value() != base_.pp) out.push_back("parallelism.pp=" + std::to_string(pp_->value()));
  if (dp_->value() != base_.dp) out.push_back("parallelism.dp=" + std::to_string(dp_->value()));
  if (ep_->value() != base_.ep) out.push_back("parallelism.ep=" + std::to_string(ep_->value()));
  const std::string precision = precision_->currentText().toStdString();
  if (precision != base_.precision) out.push_back("training.precision=" + precision);
  if (differs(nvlink_->value(), base_.scaleup_bidir_gbs))
    out.push_back("cluster.scaleup_bidir_gbs=" + number_text(nvlink_->value()));
  if (differs(nic_->value(), base_.nic_gbps)) out.push_back("cluster.nic_gbps=" + number_text(nic_->value()));
  return out;
}

}  // namespace gwsim::gui
