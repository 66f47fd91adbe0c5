#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/output_file.h"

using gwsim::InputError;
using gwsim::JsonObject;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(JsonInput, UnknownKeyNamesFileAndPath) {
  auto j = nlohmann::json::parse(R"({"a": {"tp": 2, "tpp": 3}})");
  auto msg = error_of([&] {
    JsonObject root(j, "s.json", "$");
    auto a = root.object("a");
    a.integer("tp");
    a.reject_unknown_keys();
  });
  EXPECT_EQ(msg, "s.json: $.a.tpp: unknown key (misspelt?)");
}

TEST(JsonInput, MissingAndWrongType) {
  auto j = nlohmann::json::parse(R"({"n": "eight"})");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(error_of([&] { o.integer("n"); }), "f.json: $.n: expected an integer, got a string");
  EXPECT_EQ(error_of([&] { o.number("m"); }), "f.json: $.m: missing required field");
}

TEST(JsonInput, RangeChecks) {
  auto j = nlohmann::json::parse(R"({"gpus": 0, "eff": 1.5, "kind": "ring2"})");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(error_of([&] { o.positive_integer("gpus"); }), "f.json: $.gpus: expected a positive integer, got 0");
  EXPECT_EQ(error_of([&] { o.fraction("eff"); }), "f.json: $.eff: expected a fraction in (0, 1], got 1.5");
  EXPECT_EQ(error_of([&] {
              o.one_of("kind", {"ring", "tree"});
            }),
            "f.json: $.kind: expected one of ring|tree, got \"ring2\"");
}

TEST(JsonInput, MalformedJsonGivesLineAndColumn) {
  auto msg = error_of([] { gwsim::parse_json_text("{\n  \"a\": 1,\n  \"b\": }\n", "bad.json"); });
  EXPECT_NE(msg.find("bad.json: $.b: malformed JSON at line 3"), std::string::npos) << msg;
}

TEST(JsonInput, WholeNumbersInExponentFormAreIntegers) {
  auto j = nlohmann::json::parse(R"({"tokens": 1.48e13, "half": 2.5})");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(o.integer("tokens"), 14800000000000LL);
  EXPECT_FALSE(error_of([&] { o.integer("half"); }).empty());
}

// Issue 12, one test per class of malformed input that crashed, hung or passed silently.

TEST(JsonInput, IntegersThatWouldWrapAreRefusedWithTheirRange) {
  // 4294967296 read into an int became 0 and divided by zero; 4294967297 became 1.
  auto j = nlohmann::json::parse(R"({"tp": 4294967296, "pp": 4294967297, "dp": 8, "ep": 18446744073709551615})");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(error_of([&] { o.int_in("tp", 1, gwsim::limits::kMaxGpus); }),
            "f.json: $.tp: expected an integer from 1 to 16777216, got 4294967296");
  EXPECT_EQ(error_of([&] { o.int_in("pp", 1, gwsim::limits::kMaxGpus); }),
            "f.json: $.pp: expected an integer from 1 to 16777216, got 4294967297");
  EXPECT_EQ(o.int_in("dp", 1, gwsim::limits::kMaxGpus), 8);
  // Beyond int64: parsed as unsigned, it must not wrap to -1.
  EXPECT_NE(error_of([&] { o.integer("ep"); }).find("f.json: $.ep: expected an integer up to"), std::string::npos);
  EXPECT_EQ(o.int_in_or("cp", 1, 8, 1), 1);
}

TEST(JsonInput, DeepNestingIsRefusedWithoutRecursing) {
  // 10,000 levels overflowed the stack in dump() and the destructor.
  const std::string deep = "{\"notes\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  const auto msg = error_of([&] { gwsim::parse_json_text(deep, "deep.json"); });
  EXPECT_NE(msg.find("deep.json: $.notes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than 32 levels"), std::string::npos) << msg;
  // The limit itself still parses.
  const std::string ok = std::string(32, '[') + std::string(32, ']');
  EXPECT_NO_THROW(gwsim::parse_json_text(ok, "ok.json"));
}

TEST(JsonInput, NumbersOutOfRangeNameTheirPath) {
  // 1e400 escaped as nlohmann's out_of_range: "internal error", exit 1, no path.
  EXPECT_EQ(error_of([] { gwsim::parse_json_text(R"({"training": {"tokens": 1e400}})", "s.json"); }),
            "s.json: $.training.tokens: number out of range: expected a finite number");
  EXPECT_EQ(error_of([] { gwsim::parse_json_text(R"({"a": [1, 2, -1e999]})", "s.json"); }),
            "s.json: $.a[2]: number out of range: expected a finite number");
}

TEST(JsonInput, DenormalAndHugeNumbersAreRefused) {
  // A denormal kv_len hung `gwsim serve`; tokens 1e308 overflowed results and wrote null.
  auto j =
      gwsim::parse_json_text(R"({"kv_len": 1e-320, "tokens": 1e308, "zero": 0, "lat": 6e-8, "flops": 1e25})", "f.json");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(error_of([&] { o.number("kv_len"); }),
            "f.json: $.kv_len: expected 0 or a magnitude from 1e-30 to 1e+30, got 9.99989e-321");
  EXPECT_EQ(error_of([&] { o.positive("tokens"); }),
            "f.json: $.tokens: expected 0 or a magnitude from 1e-30 to 1e+30, got 1e+308");
  EXPECT_EQ(o.number("zero"), 0);
  EXPECT_EQ(o.number("lat"), 6e-8);
  EXPECT_EQ(o.number("flops"), 1e25);
}

TEST(JsonInput, DuplicateKeysAreRefused) {
  // The last one silently won.
  EXPECT_EQ(error_of([] { gwsim::parse_json_text(R"({"a": {"tp": 2, "pp": 1, "tp": 4}})", "d.json"); }),
            "d.json: $.a.tp: duplicate key: expected each key once per object");
  // The same key in two objects is fine.
  EXPECT_NO_THROW(gwsim::parse_json_text(R"({"a": {"tp": 2}, "b": {"tp": 2}})", "d.json"));
}

TEST(JsonInput, InvalidUtf8IsRefusedWithPath) {
  const std::string text = "{\"name\": \"ok\", \"notes\": \"caf\xff\"}";
  EXPECT_EQ(error_of([&] { gwsim::parse_json_text(text, "u.json"); }),
            "u.json: $.notes: malformed JSON at line 1 column 29: expected valid UTF-8 text");
}

TEST(JsonInput, FileSizeIsLimitedBeforeReading) {
  const std::string path = ::testing::TempDir() + "/gwsim_big_input.json";
  {
    std::ofstream f(path);
    f << "[" << std::string(gwsim::limits::kMaxInputFileBytes, ' ') << "]";
  }
  const auto msg = error_of([&] { gwsim::parse_json_file(path); });
  std::filesystem::remove(path);
  EXPECT_NE(msg.find(path + ": $: 16777218 bytes: expected a JSON file of at most 16777216 bytes"), std::string::npos)
      << msg;
}

TEST(JsonInput, UnreadableFilesNameTheReference) {
  EXPECT_EQ(error_of([] { gwsim::require_readable_file("/nonexistent/c.json", "s.json", "$.cluster.file"); }),
            "s.json: $.cluster.file: cannot read \"/nonexistent/c.json\" (No such file or directory): expected a "
            "readable JSON file");
  // A name longer than the system allows is an error like any other, not an exception from <filesystem>.
  const std::string long_name = std::string(5000, 'x') + ".json";
  const auto msg = error_of([&] { gwsim::parse_json_file(long_name); });
  EXPECT_NE(msg.find(": $: cannot read the file (File name too long)"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 400u) << "a huge name is shortened";
}

TEST(JsonInput, FreeFormFieldsAreBoundedInDepthAndSize) {
  // A 120 KB nested "notes" made a 3.6 GB report.
  auto j = nlohmann::json::parse(R"({"notes": [[[[["five"]]]]], "source": "a paper", "description": [["two"]]})");
  JsonObject o(j, "s.json", "$");
  EXPECT_EQ(error_of([&] { o.allow({"notes"}); }), "s.json: $.notes: nested deeper than 4 levels: expected at most 4");
  EXPECT_NO_THROW(o.allow({"source", "description", "absent"}));
  nlohmann::json big = {{"notes", std::string(gwsim::limits::kMaxFreeFormBytes, 'x')}};
  JsonObject b(big, "s.json", "$");
  EXPECT_NE(error_of([&] { b.allow({"notes"}); }).find("s.json: $.notes: 65538 bytes: expected at most 65536"),
            std::string::npos);
}

TEST(JsonInput, ErrorsStayOnOneLine) {
  // A key or name holding a newline must not split the promised one-line error.
  auto j = nlohmann::json::parse("{\"a\\nb\": 1}");
  JsonObject o(j, "s.json", "$");
  EXPECT_EQ(error_of([&] { o.reject_unknown_keys(); }), "s.json: $.a\\nb: unknown key (misspelt?)");
}

TEST(OutputFile, WritesWholeOrNothing) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("gwsim_out_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string report = (dir / "report.json").string();
  gwsim::write_file_atomically(report, "{}\n", "--out");
  std::ifstream in(report);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{}\n");
  // Two files, the second unwritable: neither is written, no temporary is left behind.
  const std::string trace = (dir / "trace.json").string();
  const auto msg = error_of([&] {
    gwsim::write_files_atomically({{trace, "[]", "--trace"}, {(dir / "missing" / "r.json").string(), "{}", "--out"}});
  });
  EXPECT_NE(msg.find("--out " + (dir / "missing" / "r.json").string() + ": cannot write (No such file or directory)"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(trace));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "only report.json";
  fs::remove_all(dir);
}
