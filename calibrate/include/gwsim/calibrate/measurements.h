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
  int memory_bus_bits = 0;
  std::int64_t smem_per_block_optin_bytes = 0;
  std::string compute_capability;  // "9.0"
  std::string driver;              // kernel driver version, "580.159.04"
  std::string driver_cuda;         // CUDA version the driver supports, "13.0"
  std::string cuda_runtime;
  std::string nccl;
  std::string cublas;
  int gpu_count = 1;
};

// One timed op (one row of the sweep, or one row of an nccl-tests table).
struct Measurement {
  std::string op;         // copy, gemm, grouped_gemm, mla_decode, mla_prefill, attention_prefill, swiglu,
                          // moe_*, nccl_*, layer_sequence
  std::string precision;  // bf16, fp8, ... or "none"
  std::string variant;    // implementation timed ("cublas", "cublas_loop", "layer_step" ...); "" if not stated
  std::map<std::string, double> shape;  // the op's numeric sizes (M, N, K, bytes, ranks, ...); booleans as 1/0
  std::map<std::string, std::string> shape_text;  // the shape's text entries (name, model, layer, proj ...)
  double median_s = 0;                            // the time the fit uses
  double min_s = 0;
  int repeats = 0;
  double flops = 0;       // work of compute-bound ops
  double bytes = 0;       // minimum bytes moved (memory-bound ops) or the collective's buffer size
  bool checked = true;    // true: a correctness check of this kernel ran and passed
  bool check_ran = true;  // false: no check covers this op (the writer then leaves out max_rel_error)
  double max_rel_error = 0;
  std::string layer;                    // layer_step records: the layer sequence they belong to ("deepseek_v3_moe")
  std::string step;                     // ... and the step's name in it ("q_a", "experts_gate_up")
  double dense_same_flops_s = 0;        // grouped_gemm: a dense cuBLAS GEMM of the same FLOPs (0: not measured)
  double floor_s = 0;                   // grouped_gemm: the memory-bandwidth floor (every expert's weights read once)
  double algbw_gbs = 0, busbw_gbs = 0;  // collectives: bandwidths as the writer computed them (0: absent)
  std::string notes;

  // The check ran and failed: the result was wrong, the time says nothing.
  bool check_failed() const { return check_ran && !checked; }
  // A vendor library call (cuBLAS, cudaMemcpy, NCCL) rather than one of the sweep's own kernels.
  bool library_call() const;
};

// One stage of the sweep and how it ended ("ok", "failed", "timeout_after_120s", ...).
struct SweepStage {
  std::string stage;
  std::string status;
  double wall_s = 0;
};

// Something the sweep left out, and why ("nccl": fewer than two GPUs).
struct SweepSkip {
  std::string stage, what, reason;
};

// Where collective records ran: the measurement file does not say, so the user (or the default
// for a single-node sweep: scale-up at the catalogue's per-direction NVLink rate) states it.
struct LinkInfo {
  LinkClass link = LinkClass::scaleup;
  double line_rate_bps = 0;  // one direction, bytes/s, the rate nccl-tests' busbw is compared with
  int ranks = 0;             // GPUs taking part (0: from the records' shape.ranks or gpu_count)
};

struct MeasurementSet {
  std::string file;  // path it was read from (reports use the basename)
  DeviceInfo device;
  std::string started_utc;
  std::string generator;  // program that wrote the file ("gwsim-calibrate-device")
  bool quick = false;     // the sweep ran its reduced --quick size set
  std::vector<SweepStage> stages;
  std::vector<SweepSkip> skipped;
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
