// The calibration stages; main.cpp runs each in its own child process.
#pragma once

#include "run_context.h"

namespace gwsim::calib {

void stage_info(const Options& opt);
void stage_checks(const Options& opt);
void stage_copy(const Options& opt);
void stage_gemm(const Options& opt);
void stage_mla_decode(const Options& opt);
void stage_mla_prefill(const Options& opt);
void stage_moe(const Options& opt);
void stage_grouped_gemm(const Options& opt);
void stage_grouped_gemm_fp8(const Options& opt);
void stage_layers(const Options& opt);
void stage_nccl(const Options& opt);

}  // namespace gwsim::calib

namespace gwsim::calib {
std::string nccl_version_string();  // "2.27.7", or "none" when built without NCCL
}  // namespace gwsim::calib
