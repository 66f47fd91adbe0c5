// The device record at the top of measurements.json: what was measured, with which software.
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "json_writer.h"
#include "stages.h"

namespace gwsim::calib {
namespace {

std::string version_string(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

// A driver version token: digits and dots with at least one dot ("580.159.04").
bool looks_like_version(const std::string& w) {
  if (w.empty() || !std::isdigit(static_cast<unsigned char>(w.front())) || w.find('.') == std::string::npos)
    return false;
  for (char c : w)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  return true;
}

std::string kernel_driver_version() {
  // The first line of /proc/driver/nvidia/version, where the file exists:
  //   "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Sun ..."                 (proprietary)
  //   "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..." (open)
  // The word after "Module" is the version only in the first form ("for" in the second: the bug of
  // the 2026-11-28 run), so take the first version-shaped token after "Module" instead.
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (!std::getline(in, line)) return "";
  std::istringstream ss(line);
  std::string w;
  bool after_module = false;
  while (ss >> w) {
    if (after_module && looks_like_version(w)) return w;
    if (w == "Module") after_module = true;
  }
  return "";
}

}  // namespace

void stage_info(const Options& opt) {
  Stage st(opt, "info", 30);
  const cudaDeviceProp& p = st.prop();
  int dev_count = 0, driver = 0, runtime = 0, sm_khz = 0, mem_khz = 0, smem_optin = 0;
  GWSIM_CUDA_CHECK(cudaGetDeviceCount(&dev_count));
  GWSIM_CUDA_CHECK(cudaDriverGetVersion(&driver));
  GWSIM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  GWSIM_CUDA_CHECK(cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, 0));
  GWSIM_CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0));
  GWSIM_CUDA_CHECK(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  int cb_major = 0, cb_minor = 0, cb_patch = 0;
  GWSIM_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &cb_major));
  GWSIM_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &cb_minor));
  GWSIM_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &cb_patch));
  const std::string kdrv = kernel_driver_version();
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));

  JsonObject d;
  d.str("name", p.name)
      .integer("sm_count", p.multiProcessorCount)
      .num("sm_clock_mhz", sm_khz / 1000.0)
      .num("mem_clock_mhz", mem_khz / 1000.0)
      .integer("l2_bytes", p.l2CacheSize)
      .integer("hbm_bytes", static_cast<long long>(p.totalGlobalMem))
      .integer("memory_bus_bits", p.memoryBusWidth)
      .integer("smem_per_block_optin_bytes", smem_optin)
      .str("compute_capability", std::to_string(p.major) + "." + std::to_string(p.minor))
      .str("driver", kdrv.empty() ? "cuda " + version_string(driver) : kdrv)
      .str("driver_cuda", version_string(driver))
      .str("cuda_runtime", version_string(runtime))
      .str("cublas", std::to_string(cb_major) + "." + std::to_string(cb_minor) + "." + std::to_string(cb_patch))
      .str("nccl", nccl_version_string())
      .integer("gpu_count", dev_count);
  st.device_json(d.close());
  st.put_value("started_epoch_s", static_cast<double>(now));
  std::ofstream(opt.part_dir + "/started_utc.txt") << when;
  char line[256];
  std::snprintf(line, sizeof line, "device: %s, %d SMs, L2 %.0f MB, %.1f GB, SM clock %d MHz, %d GPU(s)", p.name,
                p.multiProcessorCount, p.l2CacheSize / 1e6, p.totalGlobalMem / 1e9, sm_khz / 1000, dev_count);
  st.summary(line);
}

}  // namespace gwsim::calib
