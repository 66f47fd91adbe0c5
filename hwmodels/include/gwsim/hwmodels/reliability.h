#pragma once
// Failure rates per component and the checkpoint/restart arithmetic of goodput.
//
// Rates (hwmodels/data/reliability.json, schema "gwsim.reliability/1") are
// interruptions per GPU-hour from Llama 3 405B's 54-day record (419 unexpected
// interruptions on 16,384 H100s, Table 5): a job on N GPUs fails at N x sum of
// rates, job MTBF M = 1 / (N x rate). Checkpoint interval: Young (1974) tau =
// sqrt(2 delta M); Daly (2006) higher-order form. Expected wall clock: Daly's
// exact renewal model for exponential failures (valid when tau or the restart
// time R is comparable to M, where the first-order waste formula breaks down):
//   per segment of tau work + delta checkpoint, E = M e^(R/M)
//   (e^((tau+delta)/M) - 1).
#include <string>
#include <vector>

#include "gwsim/hwmodels/gpu.h"

namespace gwsim {

struct ComponentFailureRate {
  std::string name;          // gpu, hbm, nic, switch, host, software
  double interruptions = 0;  // in the observed record
  double per_gpu_hour = 0;   // interruptions / (observed GPUs x hours)
  std::string table5;        // which Table 5 rows it groups
};

struct ReliabilityDefaults {
  std::vector<ComponentFailureRate> components;
  double observed_gpus = 0, observed_hours = 0;
  double planned_per_gpu_hour = 0;  // planned interruptions (maintenance): cost a restart, lose no work
  Figure checkpoint_bytes_per_param;
  Figure checkpoint_write_gbs;  // GB/s to storage
  Figure restart_s;
  std::string source;
  double unexpected_per_gpu_hour() const;
};

const ReliabilityDefaults& reliability_defaults();  // <data>/hwmodels/data/reliability.json, once

double young_interval_s(double checkpoint_s, double mtbf_s);
// Daly 2006 eq. (37): sqrt(2 d M)[1 + sqrt(d/2M)/3 + (d/2M)/9] - d for d < 2M,
// else M.
double daly_interval_s(double checkpoint_s, double mtbf_s);
// Expected wall-clock seconds to finish `work_s` of failure-free computation,
// checkpointing every `interval_s` of work (each checkpoint taking
// `checkpoint_s`), restarting in `restart_s` after each failure. mtbf_s =
// infinity gives work_s x (1 + checkpoint_s / interval_s).
double expected_wall_s(double work_s, double interval_s, double checkpoint_s, double restart_s, double mtbf_s);
// The interval minimising expected_wall_s (golden-section search on log
// interval).
double optimal_interval_s(double checkpoint_s, double restart_s, double mtbf_s);

}  // namespace gwsim
