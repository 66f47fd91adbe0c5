#pragma once
// Helpers shared by the calibrate tests: GPU specs built in code (so the tests do not depend on the
// catalogue files) and JSON-text parsing.
#include <string>

#include "gwsim/common/json_input.h"
#include "gwsim/hwmodels/gpu.h"

namespace gwsim::test {

// Datasheet figures of the Hopper parts (NVIDIA H100/H200/H800 datasheets); dense peaks.
inline GpuSpec hopper(const std::string& name, double hbm_gbs, double nvlink_bidir_gbs) {
  GpuSpec g;
  g.name = name;
  g.vendor = "NVIDIA";
  g.architecture = "Hopper";
  g.peak_dense_tflops[Precision::bf16] = {989.4, "datasheet"};
  g.peak_dense_tflops[Precision::fp8] = {1978.9, "datasheet"};
  g.hbm_bandwidth_gbs = {hbm_gbs, "datasheet"};
  g.scaleup_bidir_gbs = {nvlink_bidir_gbs, "datasheet"};
  g.sm_count = {132, "datasheet"};
  return g;
}
inline GpuSpec h200() { return hopper("H200", 4800, 900); }
inline GpuSpec h100() { return hopper("H100-SXM", 3350, 900); }
inline GpuSpec h800() { return hopper("H800-SXM", 3350, 400); }

inline std::string data_file(const std::string& name) { return std::string(GWSIM_TEST_DATA_DIR) + "/" + name; }

}  // namespace gwsim::test
