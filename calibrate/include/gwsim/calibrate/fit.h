#pragma once
// Turning measurements into a calibration profile (least squares, Eigen kept in fit.cpp), merging
// a measured profile with a published one, and deriving a profile for a sibling GPU.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "gwsim/calibrate/measurements.h"
#include "gwsim/hwmodels/gpu.h"
#include "gwsim/hwmodels/profile.h"

namespace gwsim::calibrate {

// One point of an α-β fit: the time the op would take at 100 % of peak, and the time measured.
struct FitPoint {
  double work = 0;     // the efficiency curve's x: FLOPs, bytes, wire bytes or FLOPs per byte
  double ideal_s = 0;  // work / peak
  double measured_s = 0;
};

// measured ≈ overhead_s + ideal_s / efficiency
struct AlphaBetaFit {
  double overhead_s = 0;     // >= 0
  double efficiency = 1;     // in (0, 1]
  double rms_rel_error = 0;  // sqrt(mean(((predicted - measured) / measured)^2))
  std::size_t points = 0;
};

// Least squares on relative error (each row divided by its measured time, so a 10 µs op counts as
// much as a 10 ms one); then clamps overhead >= 0 and efficiency <= 1, refitting the other parameter.
// Needs at least one point; with one point the overhead is 0. An overhead above max_overhead_s is
// pinned there and the efficiency refitted.
AlphaBetaFit fit_alpha_beta(const std::vector<FitPoint>& points,
                            double max_overhead_s = std::numeric_limits<double>::infinity());

// Efficiency per point net of the fitted overhead (ideal_s / (measured_s - overhead_s)), binned by
// log10(work) in bins `bin_decades` wide, median work and median efficiency per bin, sorted by work.
// With this curve a profile predicts time = overhead_s + work / (peak * efficiency_at(work)).
// Points whose measured time does not exceed the overhead carry no efficiency and are left out.
std::vector<EfficiencyPoint> efficiency_curve(const std::vector<FitPoint>& points, double overhead_s,
                                              double bin_decades);

// RMS relative error of overhead + ideal / efficiency_at(work) against the measured times.
double rms_rel_error(const std::vector<FitPoint>& points, const OpEfficiency& op);

// One measured dense GEMM of known shape, for the tile model (hwmodels/gemm_tiles.h).
struct TiledGemmPoint {
  GemmShape shape;
  double bytes = 0;  // minimum HBM traffic
  double measured_s = 0;
};
// The GPU the GEMMs ran on, as gemm_tiled_time_s needs it.
struct TiledGemmTarget {
  double peak_flops = 0;  // dense, at the GEMMs' precision
  double sms = 0;
  double hbm_bps = 0;
  OpEfficiency memory;  // the profile's memory_bound entry (share of HBM bandwidth by bytes)
};
// Tile efficiency, per-tile overhead and launch overhead (at most max_overhead_s) minimising the
// RMS relative error of gemm_tiled_time_s over the points; fit_rms_rel_error is that error.
GemmTileModel fit_gemm_tile_model(const std::vector<TiledGemmPoint>& points, const TiledGemmTarget& target,
                                  double max_overhead_s);

struct FitOptions {
  double curve_bin_decades = 0.25;  // sweeps step by 2x (0.3 decades): about one size per bin
  // Link of collective records in gwsim.measurements/1 files (nccl-tests sets carry their own).
  // line_rate_bps 0: the GPU's scale-up rate per direction from the catalogue.
  LinkInfo sweep_link;
  // The sweep's own attention kernels (mla_prefill, attention_prefill: simple mma.sync flash kernels)
  // and MLA decode kernel time what gwsim's reference kernels reach, not what a framework's
  // FlashAttention-3 / FlashMLA reaches. They are fitted only when this is set; otherwise their
  // efficiency is reported in the notes and the profile's source, and the entry comes from --base.
  bool fit_reference_kernels = false;
  // The overhead (α) is a fixed cost per launch: a launch and its tail take microseconds to tens of
  // microseconds on current GPUs. A larger fitted α is the efficiency's growth with size (grouped
  // GEMMs over many experts: 2.1 ms on the H200 sweep, above its shortest measured op), which the
  // efficiency curve carries; such a fit is pinned at this cap. Not applied to collectives.
  double max_overhead_s = 50e-6;
};

struct OpFitReport {
  std::string key;  // profile key: "gemm.bf16", "memory_bound", "scaleup all_reduce"
  std::size_t points = 0;
  double efficiency = 0;  // fitted asymptotic efficiency (bus efficiency for collectives)
  double overhead_s = 0;  // fitted α
  double alpha_beta_rms_rel_error = 0;
  double curve_rms_rel_error = 0;  // 0 for collectives (no curve)
  double tile_rms_rel_error = 0;   // dense GEMMs with shapes: the tile model's (0: none fitted)
};

struct FitResult {
  Profile profile;                 // kind measured
  std::vector<OpFitReport> ops;    // compute classes, then collectives, sorted by key
  std::vector<std::string> notes;  // what was skipped or absent, one line each
};

// The catalogue GPU the measurements ran on: `override_name` if not empty, else the device name of
// the first set that has one. InputError if none maps to the catalogue.
const GpuSpec& resolve_gpu(const std::vector<MeasurementSet>& sets, const std::string& override_name);

// Fits every op class and collective that has usable records. Which records are usable:
//   - not layer_sequence (a whole layer) and not variant layer_step (held out for check_layers);
//   - a check that ran and failed excludes the record; a record no check covered is fitted only if
//     it times a vendor library call (cuBLAS, cudaMemcpy, NCCL: checked by their vendor, not by us);
//   - of records timing one op and shape with different variants, only the fastest;
//   - attention and mla_decode records of the sweep's own kernels only with fit_reference_kernels. Classes without
//   records are absent
// from the profile (and named in notes). InputError for records the GPU cannot have run (a precision
// it lacks).
FitResult fit_profile(const std::vector<MeasurementSet>& sets, const GpuSpec& gpu, const FitOptions& options = {});

// Entries absent from `measured` come from `base`; the profile's source says which came from where.
Profile merge_profiles(const Profile& measured, const Profile& base);

// A profile for `to_gpu` from one measured or published on `from_gpu` of the same architecture.
// InputError if the architectures differ or the profile is not for from_gpu.
Profile derive_profile(const Profile& from, const GpuSpec& from_gpu, const GpuSpec& to_gpu);

// True for an entry the profile's GPU measured: fitted by `gwsim calibrate --fit` (its source begins
// "fit of") or tabulated from its own sweep (begins "measured: ", calibrate/profile_from_torch_sweep.py);
// false for one copied from a published profile by merge_profiles or written by hand.
bool fitted_entry(const std::string& source);

// derive_profile, then every entry that `from` did not measure (see fitted_entry: a published
// figure for from_gpu, copied in by --base when `from` was fitted) is replaced by the target's own
// entry in `base` (its published profile) where that has one; entries only `base` has are added.
// Measured entries carry over as derive_profile carries them. The derivation text lists which
// entries came from where.
Profile derive_profile_with_base(const Profile& from, const GpuSpec& from_gpu, const GpuSpec& to_gpu,
                                 const Profile& base);

}  // namespace gwsim::calibrate
