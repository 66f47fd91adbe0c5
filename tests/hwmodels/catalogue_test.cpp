// The GPU catalogue: every file loads, every figure is sourced, names and aliases resolve, and the
// errors say what was expected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "test_util.h"

namespace fs = std::filesystem;
using gwsim::test::input_error_of;

namespace gwsim {
namespace {

TEST(Catalogue, EveryFileLoadsAndEveryFigureHasASource) {
  const auto& cat = gpu_catalogue();
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(data_dir() + "/hwmodels/data/gpus"))
    if (e.path().extension() == ".json") ++files;
  ASSERT_EQ(cat.size(), files);
  ASSERT_GE(cat.size(), 11u);
  for (const auto& g : cat) {
    SCOPED_TRACE(g.name);
    ASSERT_FALSE(g.peak_dense_tflops.empty());
    for (const auto& [p, f] : g.peak_dense_tflops) {
      EXPECT_FALSE(f.source.empty()) << to_string(p);
      EXPECT_GT(f.value, 0);
    }
    for (const Figure* f : {&g.hbm_capacity_gb, &g.hbm_bandwidth_gbs, &g.scaleup_bidir_gbs, &g.scaleup_domain_gpus,
                            &g.die_area_mm2, &g.tdp_w, &g.sm_count}) {
      EXPECT_FALSE(f->source.empty());
      EXPECT_GT(f->value, 0);
    }
  }
  // Sorted by name, so listings are stable.
  for (std::size_t i = 1; i < cat.size(); ++i) EXPECT_LT(cat[i - 1].name, cat[i].name);
}

TEST(Catalogue, EveryGpuHasADefaultPublishedProfile) {
  for (const auto& g : gpu_catalogue()) {
    SCOPED_TRACE(g.name);
    Profile p = default_profile_for(g);
    EXPECT_EQ(p.gpu_name, g.name);
    EXPECT_EQ(p.kind, ProfileKind::published);
    EXPECT_GT(p.op(OpClass::gemm, Precision::bf16).efficiency, 0.3);
    EXPECT_LE(p.op(OpClass::gemm, Precision::bf16).efficiency, 1.0);
    for (const auto& [key, op] : p.ops) EXPECT_FALSE(op.source.empty()) << key;
    for (const auto& [link, ops] : p.collectives)
      for (const auto& [name, c] : ops) EXPECT_FALSE(c.source.empty()) << link << "." << name;
    // An FP8 entry only where the chip has FP8.
    EXPECT_EQ(p.ops.count("gemm.fp8") > 0, g.supports(Precision::fp8));
  }
}

TEST(Catalogue, PublishedProfileNumbersFollowTheirSources) {
  // DeepGEMM: large-shape FP8 GEMMs reach 1331 of 1978.9 TFLOPS on H800.
  Profile h800 = default_profile_for(find_gpu("H800"));
  EXPECT_NEAR(h800.op(OpClass::gemm, Precision::fp8).efficiency, 1331.0 / 1978.9, 1e-3);
  // FlashMLA: 3000 GB/s of 3350 in the memory-bound regime.
  EXPECT_NEAR(h800.op(OpClass::mla_decode, Precision::bf16).efficiency, 3000.0 / 3350, 1e-3);
  // ISCA'25: NVLink ~160 of 200 GB/s per direction.
  EXPECT_NEAR(h800.collective(LinkClass::scaleup, "all_reduce").bus_efficiency, 0.8, 1e-9);
  Profile h200 = find_profile("h200-sxm", "");
  EXPECT_NEAR(h200.op(OpClass::gemm, Precision::bf16).efficiency, 783.5 / 989.4, 1e-3);
  EXPECT_THROW(find_profile("no-such-profile", ""), InputError);
}

TEST(Catalogue, FindGpuByAliases) {
  EXPECT_EQ(find_gpu("H800").name, "H800-SXM");
  EXPECT_EQ(find_gpu("NVIDIA H800 SXM").name, "H800-SXM");
  EXPECT_EQ(find_gpu("h800_sxm").name, "H800-SXM");
  EXPECT_EQ(find_gpu("H100").name, "H100-SXM");
  EXPECT_EQ(find_gpu("nvidia h100 sxm").name, "H100-SXM");
  EXPECT_EQ(find_gpu("A100").name, "A100-SXM-80GB");
  EXPECT_EQ(find_gpu("Ascend 910C").name, "Ascend-910C");
  EXPECT_EQ(find_gpu("Huawei Ascend 910B").name, "Ascend-910B");
  EXPECT_EQ(find_gpu("AMD Instinct MI300X").name, "MI300X");
  EXPECT_EQ(find_gpu("gb200 nvl72").name, "GB200");
  EXPECT_EQ(find_gpu("GB200").scaleup_domain_gpus.value, 72);
  EXPECT_EQ(find_gpu("Ascend-910C").scaleup_domain_gpus.value, 384);
  EXPECT_TRUE(find_gpu("Ascend-910C").scaleup_domain_gpus.estimate);
}

TEST(Catalogue, UnknownGpuNamesTheKnownOnes) {
  std::string msg = input_error_of([] { find_gpu("H900", "scenario.json", "$.cluster.gpu"); });
  EXPECT_NE(msg.find("scenario.json: $.cluster.gpu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown GPU \"H900\""), std::string::npos) << msg;
  for (const char* known : {"H100-SXM", "H800-SXM", "H20", "MI300X", "Ascend-910C"})
    EXPECT_NE(msg.find(known), std::string::npos) << msg;
}

TEST(Catalogue, BusNumbers) {
  // H800: NVLink 400 GB/s bidirectional = 200e9 B/s per direction.
  EXPECT_DOUBLE_EQ(find_gpu("H800").scaleup_per_direction_bps(), 200e9);
  EXPECT_DOUBLE_EQ(find_gpu("H100").scaleup_per_direction_bps(), 450e9);
  EXPECT_DOUBLE_EQ(find_gpu("H100").peak_flops(Precision::bf16), 989.4e12);
  EXPECT_DOUBLE_EQ(find_gpu("H200").hbm_bandwidth_bps(), 4800e9);
  EXPECT_THROW(find_gpu("A100").peak_flops(Precision::fp8), InputError);  // Ampere has no FP8
  EXPECT_EQ(bits_of(Precision::fp4), 4);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_FALSE(parse_precision("fp12").has_value());
}

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              fs::path("gwsim-hw-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

const char* kMinimalGpu = R"({
  "schema": "gwsim.gpu/1", "name": "%NAME%", "aliases": [%ALIASES%], "vendor": "Test", "architecture": "T",
  "source": "unit test",
  "peak_dense_tflops": {"bf16": 100},
  "hbm_capacity_gb": 10, "hbm_bandwidth_gbs": 1000, "scaleup_bidir_gbs": 100, "scaleup_domain_gpus": 8,
  "die_area_mm2": 500, "tdp_w": 300, "sm_count": 10
})";

std::string gpu_text(const std::string& name, const std::string& aliases) {
  std::string s = kMinimalGpu;
  s.replace(s.find("%NAME%"), 6, name);
  s.replace(s.find("%ALIASES%"), 9, aliases);
  return s;
}

TEST(Catalogue, DuplicateAliasAcrossFilesIsAnError) {
  TempDir dir;
  dir.write("a.json", gpu_text("Chip-A", "\"X1\""));
  dir.write("b.json", gpu_text("Chip-B", "\"x-1\""));  // same lookup key as X1
  std::string msg = input_error_of([&] { load_gpu_dir(dir.str()); });
  EXPECT_NE(msg.find("b.json: $.aliases[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a.json"), std::string::npos) << msg;
}

TEST(Catalogue, StrictGpuParsing) {
  TempDir dir;
  // A plain number is fine when the object has a source ...
  EXPECT_EQ(load_gpu_file(dir.write("ok.json", gpu_text("Chip-A", ""))).hbm_bandwidth_gbs.source, "unit test");
  // ... but not without one.
  std::string no_source = gpu_text("Chip-A", "");
  no_source.replace(no_source.find("\"source\": \"unit test\","), 23, "");
  std::string msg = input_error_of([&] { load_gpu_file(dir.write("nosrc.json", no_source)); });
  EXPECT_NE(msg.find("$.peak_dense_tflops.bf16"), std::string::npos) << msg;
  // Unknown keys, unknown precisions and impossible figures are refused with their path.
  std::string typo = gpu_text("Chip-A", "");
  typo.replace(typo.find("\"tdp_w\""), 7, "\"tdp_watts\"");
  msg = input_error_of([&] { load_gpu_file(dir.write("typo.json", typo)); });
  EXPECT_NE(msg.find("$.tdp_w: missing required field"), std::string::npos) << msg;  // required one missing first
  std::string prec = gpu_text("Chip-A", "");
  prec.replace(prec.find("\"bf16\""), 6, "\"bf17\"");
  msg = input_error_of([&] { load_gpu_file(dir.write("prec.json", prec)); });
  EXPECT_NE(msg.find("$.peak_dense_tflops.bf17"), std::string::npos) << msg;
  std::string neg = gpu_text("Chip-A", "");
  neg.replace(neg.find("\"die_area_mm2\": 500"), 19, "\"die_area_mm2\": -5");
  msg = input_error_of([&] { load_gpu_file(dir.write("neg.json", neg)); });
  EXPECT_NE(msg.find("$.die_area_mm2: expected a positive figure"), std::string::npos) << msg;
  std::string extra = gpu_text("Chip-A", "");
  extra.replace(extra.find("\"sm_count\""), 10, "\"colour\": \"green\", \"sm_count\"");
  msg = input_error_of([&] { load_gpu_file(dir.write("extra.json", extra)); });
  EXPECT_NE(msg.find("$.colour: unknown key"), std::string::npos) << msg;
}

}  // namespace
}  // namespace gwsim
