#include <gtest/gtest.h>

#include "gwsim/common/json_input.h"

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
  EXPECT_EQ(error_of([&] { o.one_of("kind", {"ring", "tree"}); }),
            "f.json: $.kind: expected one of ring|tree, got \"ring2\"");
}

TEST(JsonInput, MalformedJsonGivesLineAndColumn) {
  auto msg = error_of([] { gwsim::parse_json_text("{\n  \"a\": 1,\n  \"b\": }\n", "bad.json"); });
  EXPECT_NE(msg.find("bad.json: malformed JSON at line 3"), std::string::npos) << msg;
}

TEST(JsonInput, WholeNumbersInExponentFormAreIntegers) {
  auto j = nlohmann::json::parse(R"({"tokens": 1.48e13, "half": 2.5})");
  JsonObject o(j, "f.json", "$");
  EXPECT_EQ(o.integer("tokens"), 14800000000000LL);
  EXPECT_FALSE(error_of([&] { o.integer("half"); }).empty());
}
