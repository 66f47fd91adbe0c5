// Reading gwsim.measurements/1 files and nccl-tests text output.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gwsim/calibrate/fit.h"
#include "gwsim/calibrate/measurements.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "test_util.h"

namespace gwsim::calibrate {
namespace {

NcclTestsOptions nvlink_h200() {
  NcclTestsOptions o;
  o.link.link = LinkClass::scaleup;
  o.link.line_rate_bps = 450e9;  // H200 NVLink 4: 900 GB/s bidirectional, 450 per direction
  return o;
}

TEST(Measurements, LoadsTheSweepFormat) {
  const MeasurementSet set = load_measurements_file(test::data_file("measurements_small.json"));
  EXPECT_EQ(set.device.name, "NVIDIA H200");
  EXPECT_EQ(set.device.driver, "580.159.04");
  EXPECT_EQ(set.device.sm_count, 132);
  EXPECT_EQ(set.started_utc, "2026-11-28T19:00:00Z");
  ASSERT_EQ(set.records.size(), 4u);
  EXPECT_EQ(set.records[1].op, "gemm");
  EXPECT_DOUBLE_EQ(set.records[1].shape.at("K"), 8192);
  EXPECT_FALSE(set.records[2].checked);
  EXPECT_FALSE(set.link.has_value());
}

TEST(Measurements, AreStrict) {
  const std::string good = R"({"schema": "gwsim.measurements/1", "device": {"name": "NVIDIA H200"},
    "records": [{"op": "gemm", "precision": "bf16", "shape": {"M": 1}, "median_s": 1e-3, "flops": 1, "bytes": 1}]})";
  {
    const auto j = parse_json_text(good, "m.json");
    EXPECT_EQ(parse_measurements(JsonObject(j, "m.json", "$")).records.size(), 1u);
  }
  auto expect_error = [&](const std::string& from, const std::string& to, const std::string& path) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    const auto j = parse_json_text(text, "m.json");
    try {
      parse_measurements(JsonObject(j, "m.json", "$"));
      FAIL() << path;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  expect_error("\"median_s\"", "\"median\"", "$.records[0].median");
  expect_error("\"op\": \"gemm\"", "\"op\": \"gemmm\"", "$.records[0].op");
  expect_error("1e-3", "-1e-3", "$.records[0].median_s");
  expect_error("\"M\": 1", "\"M\": [1]", "$.records[0].shape.M");
  expect_error("\"M\": 1", "\"M\": null", "$.records[0].shape.M");
  expect_error("\"bytes\": 1}", "\"bytes\": 1, \"stepp\": \"q_a\"}", "$.records[0].stepp");
  expect_error("\"bytes\": 1}", "\"bytes\": 1, \"step\": \"q_a\"}", "$.records[0].layer");
  expect_error("\"records\"", "\"stages\": [{\"stage\": \"gemm\", \"status\": \"ok\", \"wall\": 1}], \"records\"",
               "$.stages[0].wall");
  expect_error("\"records\"", "\"generatorr\": \"x\", \"records\"", "$.generatorr");
  expect_error("\"name\": \"NVIDIA H200\"", "\"name\": \"NVIDIA H200\", \"colour\": 1", "$.device.colour");
}

TEST(NcclTests, ParsesTheOutOfPlaceColumns) {
  const std::string path = test::data_file("all_reduce_perf_8xh200.txt");
  const MeasurementSet set = load_nccl_tests_file(path, nvlink_h200());
  EXPECT_EQ(set.device.name, "NVIDIA H200");
  EXPECT_EQ(set.device.nccl, "22707");
  ASSERT_TRUE(set.link.has_value());
  EXPECT_EQ(set.link->ranks, 8);  // counted from the "#  Rank" lines
  ASSERT_EQ(set.records.size(), 12u);
  const Measurement& last = set.records.back();
  EXPECT_EQ(last.op, "nccl_all_reduce");
  EXPECT_EQ(last.precision, "bfloat16");
  EXPECT_DOUBLE_EQ(last.bytes, 4294967296.0);
  EXPECT_DOUBLE_EQ(last.shape.at("ranks"), 8);
  EXPECT_DOUBLE_EQ(last.median_s, 20903e-6);  // out-of-place, not the in-place 20987 us

  // Bus bandwidth recomputed with the busbw convention matches the file's busbw column.
  const double busbw_gbs = last.bytes * wire_factor("all_reduce", 8) / last.median_s / 1e9;
  EXPECT_NEAR(busbw_gbs, 359.57, 0.01);
}

TEST(NcclTests, FitRecoversAlphaAndBusEfficiency) {
  // The fixture's times were generated from alpha 25 us and bus efficiency 0.80 of 450 GB/s, then
  // printed with nccl-tests' 2-4 significant decimals: the rounding is below 0.05 % of each time.
  const MeasurementSet set = load_nccl_tests_file(test::data_file("all_reduce_perf_8xh200.txt"), nvlink_h200());
  const FitResult r = fit_profile({set}, test::h200());
  const auto& c = r.profile.collectives.at("scaleup").at("all_reduce");
  EXPECT_NEAR(c.bus_efficiency, 0.80, 0.001);
  EXPECT_NEAR(c.alpha_s, 25e-6, 0.05e-6);
  EXPECT_EQ(c.source, "fit of 12 points (nccl_all_reduce 12) from all_reduce_perf_8xh200.txt");
  EXPECT_TRUE(r.profile.ops.empty());  // no compute records: no op entries, and the notes say so
  EXPECT_EQ(r.notes.size(), 5u);
}

TEST(NcclTests, OlderLayoutAndOpFromFileName) {
  // nccl-tests before 2.10 printed no redop/root columns for alltoall and no "test starting" line.
  const std::string text =
      "# nThread 1 nGpus 4 minBytes 1048576 maxBytes 4194304 step: 2(factor) warmup iters: 5 iters: 20\n"
      "#\n"
      "#                                             out-of-place                       in-place\n"
      "#       size         count      type     time   algbw   busbw  error     time   algbw   busbw  error\n"
      "     1048576        262144     float    20.00   52.43   39.32  0e+00    20.10   52.17   39.13  0e+00\n"
      "node1:123:123 [0] NCCL INFO comm 0x55 rank 0 nranks 4 - Init COMPLETE\n"
      "     2097152        524288     float    30.00   69.91   52.43  0e+00    30.20   69.44   52.08  0e+00\n";
  NcclTestsOptions o = nvlink_h200();
  o.link.ranks = 4;
  const MeasurementSet set = parse_nccl_tests_text(text, "/logs/alltoall_perf_4gpu.log", o);
  ASSERT_EQ(set.records.size(), 2u);
  EXPECT_EQ(set.records[0].op, "nccl_all_to_all");
  EXPECT_DOUBLE_EQ(set.records[1].median_s, 30e-6);

  EXPECT_THROW(parse_nccl_tests_text(text, "mystery.txt", o), InputError);  // op unknown
  o.link.ranks = 0;
  EXPECT_THROW(parse_nccl_tests_text(text, "alltoall.txt", o), InputError);  // no rank lines, no --ranks
  o.link.ranks = 4;
  o.link.line_rate_bps = 0;
  EXPECT_THROW(parse_nccl_tests_text(text, "alltoall.txt", o), InputError);  // line rate required
}

TEST(NcclTests, WireFactorsFollowBusBandwidthConvention) {
  EXPECT_DOUBLE_EQ(wire_factor("all_reduce", 8), 1.75);
  EXPECT_DOUBLE_EQ(wire_factor("all_gather", 8), 0.875);
  EXPECT_DOUBLE_EQ(wire_factor("reduce_scatter", 4), 0.75);
  EXPECT_DOUBLE_EQ(wire_factor("all_to_all", 2), 0.5);
  EXPECT_DOUBLE_EQ(wire_factor("p2p", 2), 1.0);
  EXPECT_THROW(wire_factor("broadcast", 8), InputError);
  EXPECT_EQ(collective_of("nccl_sendrecv"), "p2p");
  EXPECT_EQ(collective_of("gemm"), "");
}

}  // namespace
}  // namespace gwsim::calibrate
