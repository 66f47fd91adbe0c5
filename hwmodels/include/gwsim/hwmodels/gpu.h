#pragma once
// One accelerator of the catalogue (hwmodels/data/gpus/*.json, schema "gwsim.gpu/1").
// Units are in the names: *_tflops are dense peak TFLOP/s (TOP/s for int8), *_gbs are GB/s
// (10^9 bytes per second), *_gb are GB (10^9 bytes).
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gwsim {

enum class Precision { fp64, fp32, tf32, bf16, fp16, fp8, int8, fp4 };
std::string to_string(Precision p);
std::optional<Precision> parse_precision(const std::string& s);
int bits_of(Precision p);

// A catalogue figure keeps where it came from; estimates are flagged.
struct Figure {
  double value = 0;
  std::string source;
  bool estimate = false;
};

struct GpuSpec {
  std::string name;                  // catalogue key, e.g. "H800-SXM"
  std::vector<std::string> aliases;  // other spellings accepted on input
  std::string vendor;
  std::string architecture;
  std::map<Precision, Figure> peak_dense_tflops;  // absent: precision not supported
  Figure hbm_capacity_gb;
  Figure hbm_bandwidth_gbs;
  Figure scaleup_bidir_gbs;    // scale-up (NVLink/HCCS/IF) bandwidth per GPU, both directions summed
  Figure scaleup_domain_gpus;  // GPUs in one scale-up domain (8, 72, 384 ...)
  Figure die_area_mm2;         // applicable die area (sum of compute dies) for export-control density
  Figure tdp_w;
  Figure sm_count;  // streaming multiprocessors / compute units (for comm-kernel SM stealing)
  bool datacenter = true;
  std::string notes;

  bool supports(Precision p) const { return peak_dense_tflops.count(p) > 0; }
  double peak_flops(Precision p) const;  // FLOP/s; throws if unsupported
  double scaleup_per_direction_bps() const { return scaleup_bidir_gbs.value * 1e9 / 2; }
  double hbm_bandwidth_bps() const { return hbm_bandwidth_gbs.value * 1e9; }
  double hbm_capacity_bytes() const { return hbm_capacity_gb.value * 1e9; }
};

}  // namespace gwsim
