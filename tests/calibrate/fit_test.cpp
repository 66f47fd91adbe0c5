// The α-β fit, efficiency curves, fit_profile on synthetic measurements, merge and derive.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gwsim/calibrate/fit.h"
#include "gwsim/common/input_error.h"
#include "gwsim/hwmodels/catalogue.h"
#include "test_util.h"

namespace gwsim::calibrate {
namespace {

// Deterministic "noise": a relative perturbation in [-amplitude, amplitude] that does not repeat
// in step with the sizes (sin of an irrational multiple of the index).
double noise(int i, double amplitude) { return amplitude * std::sin(1.7 * i + 0.3); }

// Synthetic sweep of one op: sizes 2^20 .. 2^44 work units, time = overhead + work / (peak * eff).
MeasurementSet synthetic(const std::string& op, const std::string& precision, double peak, double overhead_s,
                         double efficiency, double noise_amplitude, bool bytes_work) {
  MeasurementSet set;
  set.file = "/data/sweep_" + op + ".json";
  set.device.name = "NVIDIA H200";
  set.device.driver = "580.159.04";
  set.device.cuda_runtime = "13.0";
  for (int i = 0; i <= 24; ++i) {
    const double work = std::ldexp(1.0, 20 + i);
    Measurement m;
    m.op = op;
    m.precision = precision;
    (bytes_work ? m.bytes : m.flops) = work;
    m.median_s = (overhead_s + work / (peak * efficiency)) * (1 + noise(i, noise_amplitude));
    set.records.push_back(m);
  }
  return set;
}

TEST(Fit, RecoversExactParametersWithoutNoise) {
  std::vector<FitPoint> points;
  for (int i = 0; i < 20; ++i) {
    const double ideal = 1e-7 * std::pow(1.8, i);
    points.push_back({ideal * 1e15, ideal, 7e-6 + ideal / 0.72});
  }
  const AlphaBetaFit fit = fit_alpha_beta(points);
  EXPECT_NEAR(fit.overhead_s, 7e-6, 1e-15);
  EXPECT_NEAR(fit.efficiency, 0.72, 1e-12);
  EXPECT_LT(fit.rms_rel_error, 1e-12);
}

TEST(Fit, ClampsImpossibleParameters) {
  // Faster than peak: efficiency pinned at 1, overhead refitted.
  std::vector<FitPoint> fast = {{1, 1e-3, 0.5e-3}, {2, 2e-3, 1.0e-3}};
  EXPECT_DOUBLE_EQ(fit_alpha_beta(fast).efficiency, 1.0);
  EXPECT_GE(fit_alpha_beta(fast).overhead_s, 0.0);
  // Times that would need a negative overhead: overhead pinned at 0.
  std::vector<FitPoint> negative = {{1, 1e-3, 1.5e-3}, {2, 2e-3, 3.5e-3}};
  const AlphaBetaFit fit = fit_alpha_beta(negative);
  EXPECT_EQ(fit.overhead_s, 0.0);
  EXPECT_GT(fit.efficiency, 0.0);
  EXPECT_LE(fit.efficiency, 1.0);
  EXPECT_THROW(fit_alpha_beta({}), InputError);
}

TEST(Fit, RecoversOverheadAndEfficiencyUnderNoise) {
  // ±1 % relative noise. The least-squares optimum has RMS relative error no larger than that of the
  // true parameters, whose residuals are noise/(1+noise), so at most 0.01/0.99. Each parameter is
  // pinned by the sizes where it dominates (overhead: the smallest ops, where time ≈ overhead;
  // efficiency: the largest), so neither can move by more than about the noise amplitude; 1.5 %
  // leaves margin (measured here: 0.04 % and 0.01 %).
  const GpuSpec gpu = test::h200();
  const double peak = gpu.peak_flops(Precision::bf16);
  const MeasurementSet set = synthetic("gemm", "bf16", peak, 6e-6, 0.70, 0.01, false);
  const FitResult r = fit_profile({set}, gpu);
  const OpEfficiency& op = r.profile.ops.at("gemm.bf16");
  EXPECT_NEAR(op.efficiency, 0.70, 0.70 * 0.015);
  EXPECT_NEAR(op.overhead_s, 6e-6, 6e-6 * 0.015);
  ASSERT_EQ(r.ops.size(), 1u);
  EXPECT_LE(r.ops[0].alpha_beta_rms_rel_error, 0.01 / 0.99);
  EXPECT_EQ(op.source, "fit of 25 points (gemm 25) from sweep_gemm.json");
  EXPECT_EQ(r.profile.kind, ProfileKind::measured);
  EXPECT_EQ(r.profile.gpu_name, "H200");
  EXPECT_NE(r.profile.source.find("sweep_gemm.json (NVIDIA H200, driver 580.159.04, CUDA 13.0)"), std::string::npos)
      << r.profile.source;

  // The curve: sorted, in (0, 1], approaching the asymptotic efficiency for the largest ops, and
  // predicting the measurements at least as well as the constant (it is built from them).
  ASSERT_GE(op.curve.size(), 2u);
  for (std::size_t i = 1; i < op.curve.size(); ++i) EXPECT_GT(op.curve[i].work, op.curve[i - 1].work);
  for (const auto& p : op.curve) EXPECT_TRUE(p.efficiency > 0 && p.efficiency <= 1);
  EXPECT_NEAR(op.curve.back().efficiency, 0.70, 0.70 * 0.02);
  EXPECT_LE(op.fit_rms_rel_error, r.ops[0].alpha_beta_rms_rel_error + 1e-12);
  EXPECT_DOUBLE_EQ(op.fit_rms_rel_error, r.ops[0].curve_rms_rel_error);
}

TEST(Fit, TileModelRecoversItsConstantsFromShapedGemms) {
  // GEMMs of the shapes a layer sweep times (skinny to large, short and long K), timed by a known
  // tile model: the fit must find that model again.
  GemmTileModel truth;
  truth.tile_efficiency = 0.76;
  truth.tile_overhead_s = 0.8e-6;
  truth.launch_overhead_s = 5e-6;
  truth.max_split_k = 8;
  TiledGemmTarget target{989.4e12, 132, 4.8e12, {}};
  target.memory.efficiency = 0.85;
  std::vector<TiledGemmPoint> points;
  for (const double m : {128.0, 512.0, 2048.0, 8192.0})
    for (const auto& [n, k] : {std::pair{256.0, 7168.0}, {1536.0, 7168.0}, {32768.0, 512.0}, {7168.0, 18432.0}}) {
      const GemmShape shape{m, n, k};
      const double bytes = 2 * (m * k + k * n + m * n);
      points.push_back(
          {shape, bytes, gemm_tiled_time_s(shape, truth, target.peak_flops, target.sms, bytes, 4.8e12 * 0.85)});
    }
  const GemmTileModel fit = fit_gemm_tile_model(points, target, 50e-6);
  EXPECT_NEAR(fit.tile_efficiency, 0.76, 0.005);
  EXPECT_NEAR(fit.tile_overhead_s, 0.8e-6, 0.05e-6);
  EXPECT_NEAR(fit.launch_overhead_s, 5e-6, 0.2e-6);
  EXPECT_LT(fit.fit_rms_rel_error, 0.005);
}

TEST(Fit, MapsOpsToClassesAndSkipsWhatItCannotUse) {
  const GpuSpec gpu = test::h200();
  std::vector<MeasurementSet> sets = {
      synthetic("copy", "none", gpu.hbm_bandwidth_bps(), 3e-6, 0.9, 0, true),
      synthetic("mla_decode", "bf16", gpu.hbm_bandwidth_bps(), 8e-6, 0.8, 0, true),
      synthetic("mla_prefill", "fp8", gpu.peak_flops(Precision::fp8), 10e-6, 0.5, 0, false),
      synthetic("gemm", "none", 1e15, 1e-6, 0.5, 0, false)};
  sets[0].records[3].checked = false;
  FitOptions with_reference;
  with_reference.fit_reference_kernels = true;
  const FitResult r = fit_profile(sets, gpu, with_reference);
  EXPECT_NEAR(r.profile.ops.at("memory_bound").efficiency, 0.9, 1e-9);
  EXPECT_NEAR(r.profile.ops.at("mla_decode.bf16").efficiency, 0.8, 1e-9);
  EXPECT_NEAR(r.profile.ops.at("attention.fp8").efficiency, 0.5, 1e-9);
  EXPECT_NE(r.profile.ops.at("memory_bound").source.find("fit of 24 points"), std::string::npos);
  EXPECT_EQ(r.profile.ops.count("gemm"), 0u);
  // Notes: gemm and grouped_gemm absent, no collectives, skipped records with their reasons.
  std::string all;
  for (const auto& n : r.notes) all += n + "\n";
  EXPECT_NE(all.find("gemm: no usable records"), std::string::npos) << all;
  EXPECT_NE(all.find("grouped_gemm: no usable records"), std::string::npos) << all;
  EXPECT_NE(all.find("collectives: no usable records"), std::string::npos) << all;
  EXPECT_NE(all.find("result check failed"), std::string::npos) << all;
  EXPECT_NE(all.find("precision \"none\""), std::string::npos) << all;

  // A precision the GPU lacks means the wrong GPU was named.
  GpuSpec no_fp8 = gpu;
  no_fp8.peak_dense_tflops.erase(Precision::fp8);
  EXPECT_THROW(fit_profile(sets, no_fp8), InputError);

  // By default the sweep's own attention and MLA-decode kernels are reported, not fitted.
  const FitResult d = fit_profile(sets, gpu);
  EXPECT_EQ(d.profile.ops.count("mla_decode.bf16"), 0u);
  EXPECT_EQ(d.profile.ops.count("attention.fp8"), 0u);
  all.clear();
  for (const auto& n : d.notes) all += n + "\n";
  EXPECT_NE(all.find("attention.fp8: not fitted from the sweep's own reference kernel"), std::string::npos) << all;
  EXPECT_NE(d.profile.source.find("mla_decode.bf16: not fitted"), std::string::npos) << d.profile.source;
}

TEST(Fit, EfficiencyCurveBinsByDecade) {
  // Two points per quarter decade bin with efficiencies 0.4 and 0.6: the bin's median is 0.5.
  std::vector<FitPoint> points;
  for (double w : {1e9, 1.1e9, 1e10, 1.1e10}) {
    const double eff = (w == 1e9 || w == 1e10) ? 0.4 : 0.6;
    points.push_back({w, w / 1e15, w / 1e15 / eff});
  }
  const auto curve = efficiency_curve(points, 0, 0.25);
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_NEAR(curve[0].work, 1.05e9, 1);
  EXPECT_NEAR(curve[0].efficiency, 0.5, 1e-12);
  EXPECT_NEAR(curve[1].efficiency, 0.5, 1e-12);
}

TEST(Fit, FittedProfileRoundTrips) {
  const GpuSpec gpu = test::h200();
  const FitResult r =
      fit_profile({synthetic("gemm", "bf16", gpu.peak_flops(Precision::bf16), 6e-6, 0.7, 0.01, false)}, gpu);
  const nlohmann::json j = profile_to_json(r.profile);
  EXPECT_EQ(profile_to_json(parse_profile(JsonObject(j, "fit", "$"))), j);
}

TEST(Merge, TakesMissingEntriesFromTheBase) {
  const GpuSpec gpu = test::h200();
  const FitResult r =
      fit_profile({synthetic("gemm", "bf16", gpu.peak_flops(Precision::bf16), 6e-6, 0.7, 0, false)}, gpu);
  const Profile base = load_profile_file(test::data_file("profile_h200_example.json"));
  const Profile merged = merge_profiles(r.profile, base);
  EXPECT_NEAR(merged.ops.at("gemm.bf16").efficiency, 0.7, 1e-9);  // measured wins
  EXPECT_EQ(merged.ops.at("gemm.fp8").source, "from h200-test: fixture");
  EXPECT_EQ(merged.ops.size(), 5u);
  EXPECT_DOUBLE_EQ(merged.collectives.at("scaleup").at("all_reduce").bus_efficiency, 0.82);
  EXPECT_EQ(merged.kind, ProfileKind::measured);
  EXPECT_NE(merged.source.find("merged with h200-test"), std::string::npos) << merged.source;
  EXPECT_NE(merged.source.find("scaleup.all_reduce"), std::string::npos) << merged.source;
  EXPECT_EQ(merged.source.find("gemm.bf16"), std::string::npos) << merged.source;  // not from base
}

TEST(Derive, KeepsEfficienciesAndRecordsRatios) {
  const Profile from = load_profile_file(test::data_file("profile_h200_example.json"));
  const Profile d = derive_profile(from, test::h200(), test::h800());
  EXPECT_EQ(d.kind, ProfileKind::derived);
  EXPECT_EQ(d.gpu_name, "H800-SXM");
  EXPECT_EQ(d.name, "h800-sxm-derived-from-h200-test");
  for (const auto& [key, op] : from.ops) {
    EXPECT_EQ(d.ops.at(key).efficiency, op.efficiency) << key;
    EXPECT_EQ(d.ops.at(key).overhead_s, op.overhead_s) << key;
  }
  EXPECT_EQ(d.ops.at("gemm.fp8").curve.size(), 2u);
  EXPECT_EQ(d.collectives.at("scaleup").at("all_reduce").bus_efficiency, 0.82);
  EXPECT_NE(d.derivation.find("HBM bandwidth ratio 0.6979 (3350 / 4800 GB/s)"), std::string::npos) << d.derivation;
  EXPECT_NE(d.derivation.find("scale-up ratio 0.4444 (400 / 900"), std::string::npos) << d.derivation;
  EXPECT_NE(d.derivation.find("peak ratio bf16 1, fp8 1"), std::string::npos) << d.derivation;
  EXPECT_NE(d.ops.at("gemm.bf16").source.find("derived from h200-test"), std::string::npos);
  // The derived profile is a valid profile file.
  const nlohmann::json j = profile_to_json(d);
  EXPECT_EQ(profile_to_json(parse_profile(JsonObject(j, "derived", "$"))), j);
}

// A measured profile holds fitted entries, tables from its own sweep ("measured: ", as
// calibrate/attention_tables.py writes) and figures copied from a published profile: the first two
// are the GPU's own and carry over to a same-architecture target; the copies give way to the
// target's own published entries.
TEST(Derive, WithBaseCarriesMeasuredEntriesAndTakesCopiedOnesFromTheBase) {
  Profile from = load_profile_file(test::data_file("profile_h200_example.json"));
  from.ops.at("gemm.bf16").source = "fit of 12 points (gemm/cublas 12) from measurements.json";
  from.ops.at("mla_decode.bf16").source = "measured: a table from this GPU's own sweep";
  from.ops.at("memory_bound").source = "from h200-sxm-published: a datasheet figure";
  Profile base = from;
  base.name = "h800-base";
  base.gpu_name = "H800-SXM";
  for (auto& [key, op] : base.ops) {
    op.efficiency /= 2;
    op.source = "the H800's published figure";
  }
  const Profile d = derive_profile_with_base(from, test::h200(), test::h800(), base);
  EXPECT_EQ(d.ops.at("gemm.bf16").efficiency, from.ops.at("gemm.bf16").efficiency);
  EXPECT_EQ(d.ops.at("mla_decode.bf16").efficiency, from.ops.at("mla_decode.bf16").efficiency);
  EXPECT_EQ(d.ops.at("memory_bound").efficiency, base.ops.at("memory_bound").efficiency);
  EXPECT_EQ(d.ops.at("memory_bound").source, "from h800-base: the H800's published figure");
}

TEST(Derive, RefusesOtherArchitecturesAndDropsMissingPrecisions) {
  const Profile from = load_profile_file(test::data_file("profile_h200_example.json"));
  GpuSpec a100 = test::hopper("A100", 2039, 600);
  a100.architecture = "Ampere";
  EXPECT_THROW(derive_profile(from, test::h200(), a100), InputError);
  EXPECT_THROW(derive_profile(from, test::h100(), test::h800()), InputError);  // profile is for H200

  GpuSpec no_fp8 = test::h800();
  no_fp8.peak_dense_tflops.erase(Precision::fp8);
  const Profile d = derive_profile(from, test::h200(), no_fp8);
  EXPECT_EQ(d.ops.count("gemm.fp8"), 0u);
  EXPECT_NE(d.derivation.find("dropped (precision unsupported on H800-SXM): gemm.fp8"), std::string::npos);
}

TEST(Catalogue, MeasurementDeviceNameMapsToTheCatalogue) {
  // The shipped catalogue (hwmodels/data/gpus/) must map the device name the sweep records.
  MeasurementSet set;
  set.device.name = "NVIDIA H200";
  EXPECT_EQ(resolve_gpu({set}, "").name, find_gpu("H200").name);
  EXPECT_EQ(resolve_gpu({set}, "H200").name, find_gpu("H200").name);
  set.device.name = "NVIDIA Quantum Flux 9000";
  EXPECT_THROW(resolve_gpu({set}, ""), InputError);
}

}  // namespace
}  // namespace gwsim::calibrate
