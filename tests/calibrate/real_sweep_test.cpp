// The first real sweep (H200, 2026-11-28, calibrate/measurements/h200-2026-11-28/measurements.json,
// copied as tests/calibrate/data/h200-2026-11-28-measurements.json): it loads, it fits, and the
// layer check runs on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gwsim/calibrate/fit.h"
#include "gwsim/calibrate/layer_check.h"
#include "gwsim/calibrate/measurements.h"
#include "gwsim/hwmodels/catalogue.h"
#include "test_util.h"

namespace gwsim::calibrate {
namespace {

const MeasurementSet& sweep() {
  static const MeasurementSet set = load_measurements_file(test::data_file("h200-2026-11-28-measurements.json"));
  return set;
}

TEST(RealSweep, LoadsEveryFieldTheWriterEmits) {
  const MeasurementSet& s = sweep();
  EXPECT_EQ(s.device.name, "NVIDIA H200");
  EXPECT_EQ(s.device.compute_capability, "9.0");
  EXPECT_EQ(s.device.memory_bus_bits, 6016);
  EXPECT_EQ(s.device.driver_cuda, "13.0");
  EXPECT_EQ(s.device.driver, "for");  // the device_info.cu parsing bug of this run (fixed since)
  EXPECT_EQ(s.generator, "gwsim-calibrate-device");
  EXPECT_FALSE(s.quick);
  ASSERT_EQ(s.stages.size(), 10u);
  EXPECT_EQ(s.stages[3].stage, "gemm");
  EXPECT_EQ(s.stages[3].status, "ok");
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].stage, "nccl");
  ASSERT_EQ(s.records.size(), 187u);
  int layer_steps = 0, sequences = 0, unchecked = 0;
  for (const auto& m : s.records) {
    layer_steps += m.variant == "layer_step";
    sequences += m.op == "layer_sequence";
    if (!m.checked) {
      ++unchecked;
      // The only unchecked records are the whole-layer sequences: no check covers them (each of
      // their kernels is checked on its own), which is not a failed check.
      EXPECT_EQ(m.op, "layer_sequence");
      EXPECT_FALSE(m.check_ran);
      EXPECT_FALSE(m.check_failed());
    }
  }
  EXPECT_EQ(layer_steps, 22);
  EXPECT_EQ(sequences, 2);
  EXPECT_EQ(unchecked, 2);
  const auto prefill_it = std::find_if(s.records.begin(), s.records.end(), [](const Measurement& m) {
    return m.op == "mla_prefill" && m.variant == "flash_mma";
  });
  ASSERT_NE(prefill_it, s.records.end());
  const Measurement& prefill = *prefill_it;
  EXPECT_EQ(prefill.shape_text.at("model"), "dsv3");
  EXPECT_DOUBLE_EQ(prefill.shape.at("causal"), 1.0);
}

TEST(RealSweep, Fits) {
  const GpuSpec& gpu = find_gpu("H200-SXM", "", "test");
  const FitResult r = fit_profile({sweep()}, gpu);
  ASSERT_TRUE(r.profile.ops.count("gemm.bf16"));
  ASSERT_TRUE(r.profile.ops.count("grouped_gemm.bf16"));
  ASSERT_TRUE(r.profile.ops.count("memory_bound"));
  // The sweep's own attention and MLA decode kernels are reported, not fitted.
  EXPECT_EQ(r.profile.ops.count("attention.bf16"), 0u);
  EXPECT_EQ(r.profile.ops.count("mla_decode.bf16"), 0u);
  const OpEfficiency& gemm = r.profile.ops.at("gemm.bf16");
  EXPECT_EQ(gemm.source.rfind("fit of 117 points", 0), 0u) << gemm.source;  // 111 cublas + 6 dense-equivalent
  EXPECT_GT(gemm.efficiency, 0.65);
  EXPECT_LT(gemm.efficiency, 0.80);
  // Small and skinny GEMMs keep their lower efficiency through the curve.
  ASSERT_GE(gemm.curve.size(), 10u);
  EXPECT_LT(gemm.efficiency_at(5e8), 0.2);
  EXPECT_GT(gemm.efficiency_at(1e12), 0.65);
  EXPECT_LT(gemm.fit_rms_rel_error, 0.15);
  // The same records priced by shape (tiles, waves, split-K): about as close overall, and the
  // fitted main-loop efficiency is a plausible share of an SM.
  ASSERT_TRUE(gemm.tile_model);
  EXPECT_LT(gemm.tile_model->fit_rms_rel_error, 0.15);
  EXPECT_GT(gemm.tile_model->tile_efficiency, 0.65);
  EXPECT_LT(gemm.tile_model->tile_efficiency, 0.90);
  EXPECT_FALSE(r.profile.ops.at("grouped_gemm.bf16").tile_model);
  // Grouped GEMM: the faster of cublas_grouped / cublas_loop per shape (6 of 12 records), and an
  // overhead pinned at the per-launch cap rather than the 2 ms an unconstrained α-β fit gives.
  const OpEfficiency& grouped = r.profile.ops.at("grouped_gemm.bf16");
  EXPECT_NE(grouped.source.find("fit of 6 points (grouped_gemm/cublas_grouped 2, grouped_gemm/cublas_loop 4)"),
            std::string::npos)
      << grouped.source;
  EXPECT_LE(grouped.overhead_s, FitOptions{}.max_overhead_s);
  // The curve is in FLOPs per byte (about tokens per expert in bf16), one bin per token count with
  // gate_up and down sharing it: 1024 tokens 31.6 / 31.4 FLOP/B, 16384 tokens 428 / 388.
  EXPECT_EQ(grouped.curve_axis, CurveAxis::flops_per_byte);
  ASSERT_EQ(grouped.curve.size(), 3u);
  EXPECT_NEAR(grouped.efficiency_at(31.5), 0.122, 0.01);  // 1024 tokens, cublas_grouped (0.126 / 0.118)
  EXPECT_NEAR(grouped.efficiency_at(408), 0.632, 0.01);   // 16384 tokens, cublas_loop (gate_up 0.688, down 0.576)
  // What the axis is for: the same FLOPs on a GPU holding 8 experts (expert parallelism 32) reach
  // far more than on one holding all 256 and reading every expert's weights for 32 tokens each.
  const double flops = 4.8e11, bytes_256_experts = 1.52e10, bytes_8_experts = bytes_256_experts / 32;
  EXPECT_NEAR(grouped.efficiency_for(flops, flops, bytes_256_experts), 0.122, 0.01);
  EXPECT_GT(grouped.efficiency_for(flops, flops, bytes_8_experts), 0.6);
  const OpEfficiency& mem = r.profile.ops.at("memory_bound");
  EXPECT_NE(mem.source.find("copy/cudaMemcpy 4"), std::string::npos) << mem.source;  // faster than copy/kernel
  EXPECT_NEAR(mem.efficiency_at(8.6e9), 0.9, 0.02);
}

TEST(RealSweep, LayerCheckRuns) {
  const GpuSpec& gpu = find_gpu("H200-SXM", "", "test");
  const Profile profile = merge_profiles(fit_profile({sweep()}, gpu).profile, find_profile("h200-sxm", ""));
  const auto checks = check_layers(sweep(), profile, gpu);
  ASSERT_EQ(checks.size(), 2u);
  for (const auto& lc : checks) {
    int matched = 0, unmatched_steps = 0;
    double gemm_measured = 0, gemm_predicted = 0;
    for (const auto& k : lc.kernels) {
      matched += k.matched();
      unmatched_steps += !k.step.empty() && k.gwsim_op.empty();
      if (k.matched() && k.op_class == OpClass::gemm) {
        gemm_measured += k.measured_s;
        gemm_predicted += k.predicted_s;
      }
      if (k.matched() && k.op_class == OpClass::attention) {
        // The measured attention is the sweep's own kernel (11-16 % of peak); the profile's entry is
        // FlashAttention-3's: the prediction is far below the measurement, as it should be.
        EXPECT_LT(k.error(), -0.7) << lc.layer;
      }
    }
    EXPECT_EQ(unmatched_steps, 0) << lc.layer;  // every measured kernel has its gwsim op
    EXPECT_EQ(matched, lc.layer == "deepseek_v3_moe" ? 16 : 6) << lc.layer;
    // GEMMs of the layer in total within 15 % (the sweep was timed hot and power-limited, the layer
    // steps in short bursts: see docs/calibration.md).
    EXPECT_LT(std::abs(gemm_predicted / gemm_measured - 1), 0.15) << lc.layer;
    // Without attention, the matched kernels' sum within 15 %.
    EXPECT_LT(std::abs(lc.predicted_sum_no_attention_s / lc.measured_sum_no_attention_s - 1), 0.15) << lc.layer;
    // The sequence timed end to end agrees with its kernels timed alone to within 10 %.
    EXPECT_LT(std::abs(lc.measured_all_steps_s / lc.sequence_s - 1), 0.10) << lc.layer;
  }
}

}  // namespace
}  // namespace gwsim::calibrate
