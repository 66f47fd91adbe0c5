// The shape-aware GEMM time (hwmodels/gemm_tiles.h): waves, tiles, split-K, short K, bandwidth.
#include "gwsim/hwmodels/gemm_tiles.h"

#include <gtest/gtest.h>

namespace gwsim {
namespace {

constexpr double kPeak = 132e12;  // 1 TFLOP/s per SM on a 132-SM GPU: one tile-step is easy to count
constexpr double kSms = 132;
constexpr double kNoBandwidthLimit = 1e30;

GemmTileModel ideal(int max_split_k = 1) {
  GemmTileModel m;
  m.tile_efficiency = 1;
  m.max_split_k = max_split_k;
  return m;
}

// One 128 x 128 tile over K at one SM's full rate.
double tile_s(double k) { return 2 * 128 * 128 * k / (kPeak / kSms); }

TEST(GemmTiles, OneTileMoreThanTheSmsTakesASecondWave) {
  const double k = 4096;
  const double full_wave = gemm_tiled_time_s({128 * 132, 128, k}, ideal(), kPeak, kSms, 0, kNoBandwidthLimit);
  const double one_more = gemm_tiled_time_s({128 * 133, 128, k}, ideal(), kPeak, kSms, 0, kNoBandwidthLimit);
  EXPECT_DOUBLE_EQ(full_wave, tile_s(k));
  EXPECT_DOUBLE_EQ(one_more, 2 * tile_s(k));
}

TEST(GemmTiles, PartialTilesCostWholeTiles) {
  const double k = 2048;
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({64, 128, k}, ideal(), kPeak, kSms, 0, kNoBandwidthLimit),
                   gemm_tiled_time_s({128, 128, k}, ideal(), kPeak, kSms, 0, kNoBandwidthLimit));
  // A batch of heads multiplies the tiles: 132 products of one tile fill one wave.
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({128, 128, k, 132}, ideal(), kPeak, kSms, 0, kNoBandwidthLimit), tile_s(k));
}

TEST(GemmTiles, SkinnyGemmsSplitK) {
  // Two tiles would leave 130 SMs idle for the whole K loop; splitting K 8 ways runs 16 blocks of K / 8
  // and then adds the FP32 partials (8 bytes per element and split).
  const GemmShape skinny{128, 256, 8192};
  const double bandwidth = 1e12;
  const double split8 = tile_s(8192 / 8.0) + 8.0 * 8 * 128 * 256 / bandwidth;
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s(skinny, ideal(1), kPeak, kSms, 0, bandwidth), tile_s(8192));
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s(skinny, ideal(8), kPeak, kSms, 0, bandwidth), split8);
  // No split shorter than one 128-deep K block.
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({128, 256, 256}, ideal(8), kPeak, kSms, 0, bandwidth),
                   std::min(tile_s(256), tile_s(128) + 8.0 * 2 * 128 * 256 / bandwidth));
}

TEST(GemmTiles, ShortKPaysTheTileOverheadOnFewerFlops) {
  GemmTileModel m = ideal();
  m.tile_overhead_s = 10e-6;  // against 17 us of main loop per tile at K = 512 on these slow SMs
  m.launch_overhead_s = 3e-6;
  const auto per_flop = [&](double k) {
    const GemmShape s{128 * 132, 128, k};
    return gemm_tiled_time_s(s, m, kPeak, kSms, 0, kNoBandwidthLimit) / s.flops();
  };
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({128 * 132, 128, 512}, m, kPeak, kSms, 0, kNoBandwidthLimit),
                   tile_s(512) + 10e-6 + 3e-6);
  EXPECT_GT(per_flop(512), 1.5 * per_flop(8192));
}

TEST(GemmTiles, BandwidthBoundsWhatStreamsMoreThanItComputes) {
  const double bytes = 1e9, bandwidth = 1e12;  // 1 ms of traffic against microseconds of compute
  GemmTileModel m = ideal(8);
  m.launch_overhead_s = 2e-6;
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({128, 128, 1024}, m, kPeak, kSms, bytes, bandwidth), 1e-3 + 2e-6);
}

TEST(GemmTiles, EfficiencyScalesTheMainLoopOnly) {
  GemmTileModel half = ideal();
  half.tile_efficiency = 0.5;
  half.tile_overhead_s = 1e-6;
  EXPECT_DOUBLE_EQ(gemm_tiled_time_s({128, 128, 4096}, half, kPeak, kSms, 0, kNoBandwidthLimit),
                   2 * tile_s(4096) + 1e-6);
}

}  // namespace
}  // namespace gwsim
