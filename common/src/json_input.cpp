#include "gwsim/common/json_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace gwsim {

nlohmann::json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based; turn it into line:column for a human.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw InputError(origin, "", fmt::format("malformed JSON at line {} column {}: expected valid JSON", line, col));
  }
}

nlohmann::json parse_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "", "cannot open file: expected a readable JSON file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json_text(buffer.str(), path);
}

namespace {
const char* type_name(const nlohmann::json& v) {
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}
}  // namespace

JsonObject::JsonObject(const nlohmann::json& value, std::string file, std::string path)
    : value_(&value), file_(std::move(file)), path_(std::move(path)) {
  if (!value.is_object())
    throw InputError(file_, path_, fmt::format("expected an object, got {}", type_name(value)));
}

bool JsonObject::has(const std::string& key) const {
  return value_->contains(key) && !(*value_)[key].is_null();
}

void JsonObject::fail(const std::string& key, const std::string& expected) const {
  throw InputError(file_, key.empty() ? path_ : path_of(key), expected);
}

const nlohmann::json& JsonObject::require(const std::string& key) const {
  seen_.push_back(key);
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) fail(key, "missing required field");
  return *it;
}

const nlohmann::json& JsonObject::raw(const std::string& key) const { return require(key); }

double JsonObject::number(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_number()) fail(key, fmt::format("expected a number, got {}", type_name(v)));
  double x = v.get<double>();
  if (!std::isfinite(x)) fail(key, "expected a finite number");
  return x;
}

std::int64_t JsonObject::integer(const std::string& key) const {
  const auto& v = require(key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  // Accept 1e4-style literals when they are whole numbers.
  if (v.is_number_float()) {
    double x = v.get<double>();
    if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9e18) return static_cast<std::int64_t>(x);
  }
  fail(key, fmt::format("expected an integer, got {}", type_name(v)));
}

std::string JsonObject::string(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_string()) fail(key, fmt::format("expected a string, got {}", type_name(v)));
  return v.get<std::string>();
}

bool JsonObject::boolean(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_boolean()) fail(key, fmt::format("expected true or false, got {}", type_name(v)));
  return v.get<bool>();
}

JsonObject JsonObject::object(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_object()) fail(key, fmt::format("expected an object, got {}", type_name(v)));
  return JsonObject(v, file_, path_of(key));
}

std::vector<JsonObject> JsonObject::array_of_objects(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_array()) fail(key, fmt::format("expected an array, got {}", type_name(v)));
  std::vector<JsonObject> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string p = fmt::format("{}[{}]", path_of(key), i);
    if (!v[i].is_object()) throw InputError(file_, p, fmt::format("expected an object, got {}", type_name(v[i])));
    out.emplace_back(v[i], file_, p);
  }
  return out;
}

std::vector<double> JsonObject::number_array(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_array()) fail(key, fmt::format("expected an array of numbers, got {}", type_name(v)));
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number())
      throw InputError(file_, fmt::format("{}[{}]", path_of(key), i), "expected a number");
    out.push_back(v[i].get<double>());
  }
  return out;
}

std::vector<std::string> JsonObject::string_array(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_array()) fail(key, fmt::format("expected an array of strings, got {}", type_name(v)));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      throw InputError(file_, fmt::format("{}[{}]", path_of(key), i), "expected a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

double JsonObject::number_or(const std::string& key, double fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return number(key);
}
std::int64_t JsonObject::integer_or(const std::string& key, std::int64_t fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return integer(key);
}
std::string JsonObject::string_or(const std::string& key, const std::string& fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return string(key);
}
bool JsonObject::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return boolean(key);
}

double JsonObject::positive(const std::string& key) const {
  double x = number(key);
  if (!(x > 0)) fail(key, fmt::format("expected a positive number, got {}", x));
  return x;
}
std::int64_t JsonObject::positive_integer(const std::string& key) const {
  auto x = integer(key);
  if (x <= 0) fail(key, fmt::format("expected a positive integer, got {}", x));
  return x;
}
std::int64_t JsonObject::positive_integer_or(const std::string& key, std::int64_t fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return positive_integer(key);
}
double JsonObject::fraction(const std::string& key) const {
  double x = number(key);
  if (!(x > 0 && x <= 1)) fail(key, fmt::format("expected a fraction in (0, 1], got {}", x));
  return x;
}
std::string JsonObject::one_of(const std::string& key, const std::vector<std::string>& allowed) const {
  std::string s = string(key);
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
    fail(key, fmt::format("expected one of {}, got \"{}\"", fmt::join(allowed, "|"), s));
  return s;
}
std::string JsonObject::one_of_or(const std::string& key, const std::vector<std::string>& allowed,
                                  const std::string& fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return one_of(key, allowed);
}

void JsonObject::require_schema(const std::string& schema) const {
  if (string("schema") != schema) fail("schema", "expected \"" + schema + "\"");
}

void JsonObject::allow(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) seen_.emplace_back(k);
}

void JsonObject::reject_unknown_keys() const {
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end())
      fail(it.key(), "unknown key (misspelt?)");
  }
}

}  // namespace gwsim
