#pragma once
// Raw measurements the fit consumes: the calibration sweep's JSON (schema "gwsim.measurements/1",
// docs/formats.md) and the text tables printed by NVIDIA's nccl-tests (all_reduce_perf ...), both
// read into the same records.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gwsim/hwmodels/cluster.h"

namespace gwsim {
class JsonObject;
}

namespace gwsim::calibrate {

// The device the sweep ran on, as the CUDA runtime reported it. Empty strings: not reported.
struct DeviceInfo {
  std::string name;  // e.g. "NVIDIA H200"; mapped to the catalogue through the GPU's aliases
  int sm_count = 0;
  double sm_clock_mhz = 0;
  double mem_clock_mhz = 0;
  std::int64_t l2_bytes = 0;
  std::int64_t hbm_bytes = 0;
  std::string driver;
  std::string cuda_runtime;
  std::string nccl;
  std::string cublas;
  int gpu_count = 1;
};

// One timed op (one row of the sweep, or one row of an nccl-tests table).
struct Measurement {
  std::string op;         // copy, gemm, grouped_gemm, mla_decode, mla_prefill, moe_*, nccl_*, layer_sequence
  std::string precision;  // bf16, fp8, ... or "none"
  std::map<std::string, double> shape;  // the op's sizes (M, N, K, bytes, ranks, ...)
  double median_s = 0;    // the time the fit uses
  double min_s = 0;
  int repeats = 0;
  double flops = 0;       // work of compute-bound ops
  double bytes = 0;       // minimum bytes moved (memory-bound ops) or the collective's buffer size
  bool checked = true;    // false: the kernel's result was wrong; the fit skips the record
  double max_rel_error = 0;
};

// Where collective records ran: the measurement file does not say, so the user (or the default
// for a single-node sweep: scale-up at the catalogue's per-direction NVLink rate) states it.
struct LinkInfo {
  LinkClass link = LinkClass::scaleup;
  double line_rate_bps = 0;  // one direction, bytes/s, the rate nccl-tests' busbw is compared with
  int ranks = 0;             // GPUs taking part (0: from the records' shape.ranks or gpu_count)
};

struct MeasurementSet {
  std::string file;          // path it was read from (reports use the basename)
  DeviceInfo device;
  std::string started_utc;
  std::vector<Measurement> records;
  std::optional<LinkInfo> link;  // set for nccl-tests files (the user stated it)
};

// gwsim.measurements/1 -------------------------------------------------------------------------
MeasurementSet parse_measurements(const JsonObject& root);
MeasurementSet load_measurements_file(const std::string& path);

// nccl-tests text output ------------------------------------------------------------------------
struct NcclTestsOptions {
  LinkInfo link;  // link class and line rate are required; ranks 0 = count the "#  Rank" lines
};
// Reads the out-of-place columns of every table row. The collective comes from the header line
// "# Collective test starting: all_reduce_perf" or else from the origin's file name.
MeasurementSet parse_nccl_tests_text(const std::string& text, const std::string& origin,
                                     const NcclTestsOptions& options);
MeasurementSet load_nccl_tests_file(const std::string& path, const NcclTestsOptions& options);

// Bytes on the busiest link per byte of buffer, the nccl-tests bus-bandwidth convention:
// all_reduce 2(n-1)/n, all_gather / reduce_scatter / all_to_all (n-1)/n, p2p 1.
// `collective` is the profile name (all_reduce ... p2p).
double wire_factor(const std::string& collective, int ranks);

// The profile's collective name for a measurement op ("nccl_sendrecv" -> "p2p"); "" if not one.
std::string collective_of(const std::string& measurement_op);

}  // namespace gwsim::calibrate
