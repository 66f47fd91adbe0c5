// Profile reading, writing and lookups (hwmodels/src/profile.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gwsim/common/input_error.h"
#include "gwsim/hwmodels/catalogue.h"
#include "test_util.h"

namespace gwsim {
namespace {

Profile parse_text(const std::string& text) {
  const nlohmann::json j = parse_json_text(text, "inline.json");
  return parse_profile(JsonObject(j, "inline.json", "$"));
}

// Expects parsing to fail with a message naming `path` and containing `what`.
void expect_error(const std::string& text, const std::string& path, const std::string& what) {
  try {
    parse_text(text);
    FAIL() << "expected an InputError naming " << path;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}

const char* kMinimal = R"({"schema": "gwsim.profile/1", "name": "p", "gpu": "H200", "kind": "published",
  "source": "test", "ops": {"gemm.bf16": {"efficiency": EFF, "overhead_us": 5, "source": "s"EXTRA}}})";

std::string minimal(const std::string& eff, const std::string& extra = "") {
  std::string s = kMinimal;
  s.replace(s.find("EFF"), 3, eff);
  s.replace(s.find("EXTRA"), 5, extra);
  return s;
}

TEST(Profile, ParsesTheFixture) {
  const Profile p = load_profile_file(test::data_file("profile_h200_example.json"));
  EXPECT_EQ(p.name, "h200-test");
  EXPECT_EQ(p.gpu_name, "H200");
  EXPECT_EQ(p.kind, ProfileKind::published);
  ASSERT_EQ(p.ops.size(), 5u);
  EXPECT_DOUBLE_EQ(p.ops.at("gemm.bf16").overhead_s, 5e-6);  // microseconds in the file, seconds here
  EXPECT_EQ(p.ops.at("gemm.fp8").curve.size(), 2u);
  EXPECT_DOUBLE_EQ(p.ops.at("gemm.fp8").fit_rms_rel_error, 0.04);
  EXPECT_DOUBLE_EQ(p.collectives.at("scaleup").at("all_to_all").alpha_s, 12.5e-6);
  EXPECT_DOUBLE_EQ(p.collectives.at("scaleout").at("all_reduce").bus_efficiency, 0.9);
}

TEST(Profile, RoundTripsExactly) {
  const Profile p = load_profile_file(test::data_file("profile_h200_example.json"));
  const nlohmann::json j = profile_to_json(p);
  const Profile q = parse_profile(JsonObject(j, "roundtrip", "$"));
  EXPECT_EQ(profile_to_json(q), j);
  EXPECT_EQ(q.ops.at("gemm.fp8").overhead_s, p.ops.at("gemm.fp8").overhead_s);
  EXPECT_EQ(j.dump(), profile_to_json(p).dump());  // deterministic text
}

TEST(Profile, OverheadsRoundTripBitForBit) {
  // The file holds microseconds and the reader divides by 1e6. Any value that can come from a file
  // (or from the fit, which stores overheads the same way) must read back bit for bit; the writer
  // has to choose its microseconds carefully, since us * 1e-6 * 1e6 != us for some doubles.
  Profile p;
  p.name = "p";
  p.gpu_name = "H200";
  p.source = "test";
  double us = 1.234567890123e-1;
  for (int i = 0; i < 5000; ++i) {
    us = std::fmod(us * 1.618033988749895 + 0.31, 1000.0);
    const double s = us / 1e6;
    p.ops["gemm"] = {0.5, s, {}, 0, "s"};
    const nlohmann::json j = profile_to_json(p);
    const Profile q = parse_profile(JsonObject(j, "roundtrip", "$"));
    ASSERT_EQ(q.ops.at("gemm").overhead_s, s) << i;
    // Any other double (set in code) comes back within one unit in the last place.
    p.ops["gemm"].overhead_s = s * 1.0000001;
    const Profile r = parse_profile(JsonObject(profile_to_json(p), "roundtrip", "$"));
    ASSERT_NEAR(r.ops.at("gemm").overhead_s, s * 1.0000001, 2 * std::nextafter(s, 1.0) - 2 * s) << i;
  }
}

TEST(Profile, RejectsUnknownKeysWithTheirPath) {
  expect_error(minimal("0.7", R"(, "eficiency": 0.7)"), "$.ops.gemm.bf16.eficiency", "unknown key");
}

TEST(Profile, RejectsEfficiencyAboveOne) {
  expect_error(minimal("1.5"), "$.ops.gemm.bf16.efficiency", "(0, 1]");
  expect_error(minimal("0"), "$.ops.gemm.bf16.efficiency", "(0, 1]");
}

TEST(Profile, RejectsBadValues) {
  expect_error(minimal("0.7", R"(, "curve": [{"work": 1e12, "efficiency": 0.5}, {"work": 1e9, "efficiency": 0.2}])"),
               "$.ops.gemm.bf16.curve[1].work", "increasing");
  expect_error(minimal("0.7", R"(, "curve": [{"work": -1, "efficiency": 0.5}])"), "$.ops.gemm.bf16.curve[0].work",
               "positive");
  std::string s = minimal("0.7");
  expect_error(std::string(s).replace(s.find("gwsim.profile/1"), 15, "gwsim.profile/2"), "$.schema", "gwsim.profile/1");
  expect_error(std::string(s).replace(s.find("\"overhead_us\": 5"), 16, "\"overhead_us\": -1"),
               "$.ops.gemm.bf16.overhead_us", ">= 0");
  expect_error(std::string(s).replace(s.find("gemm.bf16"), 9, "gemm.bf17"), "$.ops.gemm.bf17", "precision");
  expect_error(std::string(s).replace(s.find("gemm.bf16"), 9, "gemmm.bf16"), "$.ops.gemmm.bf16", "op class");
  expect_error(std::string(s).replace(s.find("published"), 9, "derived"), "$.derivation", "missing");
}

TEST(Profile, TileModelRoundTripsAndIsCheckedLikeEverythingElse) {
  const std::string tiles =
      R"(, "tile_model": {"tile_efficiency": 0.78, "tile_overhead_us": 0.9, "launch_overhead_us": 4.5,
      "max_split_k": 8, "source": "fit", "fit_rms_rel_error": 0.12})";
  const Profile p = parse_text(minimal("0.7", tiles));
  ASSERT_TRUE(p.ops.at("gemm.bf16").tile_model);
  const GemmTileModel& m = *p.ops.at("gemm.bf16").tile_model;
  EXPECT_DOUBLE_EQ(m.tile_efficiency, 0.78);
  EXPECT_EQ(m.tile_overhead_s, 0.9 / 1e6);
  EXPECT_EQ(m.launch_overhead_s, 4.5 / 1e6);
  EXPECT_EQ(m.max_split_k, 8);
  EXPECT_DOUBLE_EQ(m.fit_rms_rel_error, 0.12);
  const nlohmann::json j = profile_to_json(p);
  EXPECT_EQ(profile_to_json(parse_profile(JsonObject(j, "roundtrip", "$"))), j);

  expect_error(minimal("0.7", R"(, "tile_model": {"tile_efficiency": 1.2, "tile_overhead_us": 1,
      "launch_overhead_us": 1, "max_split_k": 8, "source": "s"})"),
               "$.ops.gemm.bf16.tile_model.tile_efficiency", "(0, 1]");
  expect_error(minimal("0.7", R"(, "tile_model": {"tile_efficiency": 0.8, "tile_overhead_us": 1,
      "launch_overhead_us": 1, "max_split_k": 2.5, "source": "s"})"),
               "$.ops.gemm.bf16.tile_model.max_split_k", "");
  expect_error(minimal("0.7", R"(, "tile_model": {"tile_efficiency": 0.8, "tile_ovrhead_us": 1,
      "launch_overhead_us": 1, "max_split_k": 8, "source": "s"})"),
               "$.ops.gemm.bf16.tile_model", "tile_overhead_us");
  // Only dense GEMMs have tiles a shape can be cut into.
  std::string grouped = minimal("0.7", tiles);
  grouped.replace(grouped.find("gemm.bf16"), 9, "grouped_gemm.bf16");
  expect_error(grouped, "$.ops.grouped_gemm.bf16.tile_model", "dense gemm");
}

TEST(Profile, BlockScaledRateRoundTripsAndBelongsToDenseGemms) {
  const std::string block = R"(, "block_scaled": {"rate": 0.9, "source": "measured: cuBLASLt"})";
  const Profile p = parse_text(minimal("0.7", block));
  ASSERT_TRUE(p.ops.at("gemm.bf16").block_scaled);
  EXPECT_DOUBLE_EQ(p.ops.at("gemm.bf16").block_scaled->rate, 0.9);
  EXPECT_EQ(p.ops.at("gemm.bf16").block_scaled->source, "measured: cuBLASLt");
  const nlohmann::json j = profile_to_json(p);
  EXPECT_EQ(profile_to_json(parse_profile(JsonObject(j, "roundtrip", "$"))), j);
  EXPECT_FALSE(parse_text(minimal("0.7")).ops.at("gemm.bf16").block_scaled);  // unset: priced per tensor

  expect_error(minimal("0.7", R"(, "block_scaled": {"rate": 0, "source": "s"})"), "$.ops.gemm.bf16.block_scaled.rate",
               "(0, 1]");
  expect_error(minimal("0.7", R"(, "block_scaled": {"rate": 1.1, "source": "s"})"), "$.ops.gemm.bf16.block_scaled.rate",
               "(0, 1]");
  expect_error(minimal("0.7", R"(, "block_scaled": {"rate": 0.9})"), "$.ops.gemm.bf16.block_scaled", "source");
  std::string grouped = minimal("0.7", block);
  grouped.replace(grouped.find("gemm.bf16"), 9, "grouped_gemm.bf16");
  expect_error(grouped, "$.ops.grouped_gemm.bf16.block_scaled", "dense gemm");
}

TEST(Profile, AttentionByShapeInterpolatesSequenceThenHeadDimAndPicksTheMask) {
  const std::string text = R"({"schema": "gwsim.profile/1", "name": "p", "gpu": "H100", "kind": "published",
    "source": "t", "ops": {"attention.bf16": {"efficiency": 0.7, "overhead_us": 2, "source": "s",
    "by_shape": {"source": "fa3", "series": [
      {"head_dim": 256, "causal": false, "points": [{"seq_len": 1024, "efficiency": 0.6}, {"seq_len": 4096, "efficiency": 0.8}]},
      {"head_dim": 128, "causal": false, "points": [{"seq_len": 1024, "efficiency": 0.5}, {"seq_len": 4096, "efficiency": 0.7}]},
      {"head_dim": 128, "causal": true, "points": [{"seq_len": 1024, "efficiency": 0.3}, {"seq_len": 4096, "efficiency": 0.5}]}]}}}})";
  const Profile p = parse_text(text);
  const AttentionTable& t = *p.ops.at("attention.bf16").by_shape;
  EXPECT_DOUBLE_EQ(t.efficiency({2048, 128, false}), 0.6);    // half way in log(seq)
  EXPECT_DOUBLE_EQ(t.efficiency({2048, 192, false}), 0.65);   // then half way in head dim
  EXPECT_DOUBLE_EQ(t.efficiency({100000, 512, false}), 0.8);  // clamped on both axes
  EXPECT_DOUBLE_EQ(t.efficiency({2048, 192, true}), 0.4);     // the causal series alone (one head dim: clamped)
  const nlohmann::json j = profile_to_json(p);
  EXPECT_EQ(profile_to_json(parse_profile(JsonObject(j, "roundtrip", "$"))), j);

  std::string gemm = text;
  gemm.replace(gemm.find("attention.bf16"), 14, "gemm.bf16");
  expect_error(gemm, "$.ops.gemm.bf16.by_shape", "attention");
  std::string unsorted = text;
  unsorted.replace(unsorted.find("\"seq_len\": 4096, \"efficiency\": 0.8"), 15, "\"seq_len\":  512");
  expect_error(unsorted, "$.ops.attention.bf16.by_shape.series[0].points[1].seq_len", "increasing");
  std::string twice = text;
  twice.replace(twice.find("\"head_dim\": 256"), 15, "\"head_dim\": 128");
  expect_error(twice, "$.ops.attention.bf16.by_shape.series[1].head_dim", "second series");
}

TEST(Profile, EfficiencyInterpolatesLogLinearlyAndClamps) {
  OpEfficiency op;
  op.efficiency = 0.65;
  EXPECT_DOUBLE_EQ(op.efficiency_at(1.0), 0.65);  // no curve: constant
  op.curve = {{1e9, 0.2}, {1e12, 0.6}, {1e13, 0.7}};
  EXPECT_DOUBLE_EQ(op.efficiency_at(1e6), 0.2);  // clamped below
  EXPECT_DOUBLE_EQ(op.efficiency_at(1e9), 0.2);
  EXPECT_NEAR(op.efficiency_at(std::sqrt(1e9 * 1e12)), 0.4, 1e-12);  // halfway in log(work)
  EXPECT_NEAR(op.efficiency_at(1e10), 0.2 + 0.4 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(op.efficiency_at(1e12), 0.6);
  EXPECT_NEAR(op.efficiency_at(std::sqrt(1e12 * 1e13)), 0.65, 1e-12);
  EXPECT_DOUBLE_EQ(op.efficiency_at(1e15), 0.7);  // clamped above
  EXPECT_DOUBLE_EQ(op.efficiency_at(0), 0.2);
}

TEST(Profile, CurveAxisPicksSizeOrIntensity) {
  const std::string curve = R"(, "curve": [{"work": 32, "efficiency": 0.12}, {"work": 512, "efficiency": 0.64}])";
  const Profile size_axis = parse_text(minimal("0.7", curve));
  const OpEfficiency& by_size = size_axis.ops.at("gemm.bf16");
  EXPECT_EQ(by_size.curve_axis, CurveAxis::size);
  EXPECT_DOUBLE_EQ(by_size.efficiency_for(1e12, 1e12, 1e9), 0.64);  // x = the work, 1e12: top end

  const Profile intensity_axis = parse_text(minimal("0.7", curve + R"(, "curve_axis": "flops_per_byte")"));
  const OpEfficiency& by_intensity = intensity_axis.ops.at("gemm.bf16");
  EXPECT_EQ(by_intensity.curve_axis, CurveAxis::flops_per_byte);
  EXPECT_DOUBLE_EQ(by_intensity.efficiency_for(1e12, 1e12, 1e12 / 32), 0.12);     // 32 FLOP/B
  EXPECT_NEAR(by_intensity.efficiency_for(1e12, 1e12, 1e12 / 128), 0.38, 1e-12);  // halfway in log
  EXPECT_DOUBLE_EQ(by_intensity.efficiency_for(1e12, 1e12, 0), 0.64);             // no bytes: as intense as it gets
  // Written back only when it is not the default, and read back the same.
  const nlohmann::json j = profile_to_json(intensity_axis);
  EXPECT_EQ(j["ops"]["gemm.bf16"]["curve_axis"], "flops_per_byte");
  EXPECT_FALSE(profile_to_json(size_axis)["ops"]["gemm.bf16"].contains("curve_axis"));
  EXPECT_EQ(parse_profile(JsonObject(j, "roundtrip", "$")).ops.at("gemm.bf16").curve_axis, CurveAxis::flops_per_byte);

  expect_error(minimal("0.7", curve + R"(, "curve_axis": "tokens")"), "$.ops.gemm.bf16.curve_axis",
               "size|flops_per_byte");
  expect_error(minimal("0.7", R"(, "curve_axis": "size")"), "$.ops.gemm.bf16.curve_axis", "beside a curve");
}

TEST(Profile, LookupsFallBackAndNameWhatIsMissing) {
  const Profile p = load_profile_file(test::data_file("profile_h200_example.json"));
  EXPECT_DOUBLE_EQ(p.op(OpClass::gemm, Precision::bf16).efficiency, 0.75);
  EXPECT_DOUBLE_EQ(p.op(OpClass::gemm, Precision::fp16).efficiency, 0.7);  // falls back to "gemm"
  EXPECT_DOUBLE_EQ(p.op(OpClass::memory_bound, Precision::bf16).efficiency, 0.9);
  EXPECT_DOUBLE_EQ(p.collective(LinkClass::scaleup, "all_reduce").bus_efficiency, 0.82);
  try {
    p.op(OpClass::attention, Precision::bf16);
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("h200-test"), std::string::npos) << msg;
    EXPECT_NE(msg.find("attention.bf16"), std::string::npos) << msg;
  }
  EXPECT_THROW(p.collective(LinkClass::scaleout, "all_to_all"), InputError);
  EXPECT_EQ(to_string(ProfileKind::derived), "derived");
}

TEST(Profile, PrecisionLessAndBackwardLookups) {
  const Profile p = load_profile_file(test::data_file("profile_h200_example.json"));
  // No precision: the "<class>" entry only ("mla_decode.bf16" does not stand in for "mla_decode").
  EXPECT_DOUBLE_EQ(p.op(OpClass::memory_bound).efficiency, 0.9);
  EXPECT_DOUBLE_EQ(p.op(OpClass::gemm).efficiency, 0.7);
  EXPECT_THROW(p.op(OpClass::mla_decode), InputError);
  EXPECT_DOUBLE_EQ(p.op(OpClass::mla_decode, Precision::bf16).efficiency, 0.8);
  // attention_backward falls back to attention, and names attention when that is missing too.
  Profile q = p;
  q.ops["attention.bf16"] = p.ops.at("gemm.bf16");
  q.ops["attention.bf16"].efficiency = 0.6;
  EXPECT_DOUBLE_EQ(q.op(OpClass::attention_backward, Precision::bf16).efficiency, 0.6);
  q.ops["attention_backward"] = p.ops.at("memory_bound");
  EXPECT_DOUBLE_EQ(q.op(OpClass::attention_backward, Precision::bf16).efficiency, 0.9);  // its own, any precision
  try {
    p.op(OpClass::attention_backward, Precision::fp8);
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no entry for op \"attention.fp8\" (nor the fallback \"attention\")"), std::string::npos) << msg;
  }
}

TEST(OpClass, NamesRoundTripAndKeysAreTheProfileKeys) {
  for (OpClass c : kOpClasses) EXPECT_EQ(parse_op_class(to_string(c)), c);
  EXPECT_EQ(to_string(OpClass::attention_backward), "attention_backward");
  EXPECT_EQ(parse_op_class("gemm.bf16"), std::nullopt);
  EXPECT_EQ(parse_op_class("GEMM"), std::nullopt);
  EXPECT_EQ(op_key(OpClass::grouped_gemm, Precision::fp8), "grouped_gemm.fp8");
  EXPECT_EQ(op_key(OpClass::memory_bound), "memory_bound");
  EXPECT_EQ(op_key(OpClass::gemm, Precision::fp4), "gemm.fp4");
  expect_error(R"({"schema": "gwsim.profile/1", "name": "p", "gpu": "H200", "kind": "published", "source": "t",
    "ops": {"gemmm.bf16": {"efficiency": 0.5, "overhead_us": 5, "source": "s"}}})",
               "$.ops.gemmm.bf16", "gemm|grouped_gemm|attention|attention_backward|mla_decode|memory_bound");
}

}  // namespace
}  // namespace gwsim
