#include "gwsim/common/json_input.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gwsim/common/input_limits.h"

namespace gwsim {

namespace {

// Follows the parser through the document so that every refusal can name the JSON path it is at
// ($.a.b[2]); refuses duplicate keys and nesting deeper than limits::kMaxJsonDepth as it goes.
class PathTracker {
 public:
  explicit PathTracker(std::string origin) : origin_(std::move(origin)) {}

  bool on_event(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (frames_.size() >= static_cast<std::size_t>(limits::kMaxJsonDepth))
          throw InputError(origin_, path(),
                           fmt::format("nested deeper than {} levels: expected at most {}", limits::kMaxJsonDepth,
                                       limits::kMaxJsonDepth));
        frames_.push_back(Frame{event == E::array_start, 0, "", {}});
        break;
      case E::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw InputError(origin_, path(), "duplicate key: expected each key once per object");
        break;
      }
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        element_done();
        break;
      case E::value:
        element_done();
        break;
    }
    return true;
  }

  // Where the parser is: the value being read (its key or array index).
  std::string path() const {
    std::string p = "$";
    for (const auto& f : frames_) p += f.array ? fmt::format("[{}]", f.index) : (f.key.empty() ? "" : "." + f.key);
    return p;
  }

 private:
  struct Frame {
    bool array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };
  void element_done() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }
  std::string origin_;
  std::vector<Frame> frames_;
};

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& origin) {
  if (static_cast<std::int64_t>(text.size()) > limits::kMaxInputFileBytes)
    throw InputError(
        origin, "$",
        fmt::format("{} bytes: expected at most {} bytes of JSON", text.size(), limits::kMaxInputFileBytes));
  PathTracker tracker(origin);
  try {
    return nlohmann::json::parse(text, [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      return tracker.on_event(event, parsed);
    });
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
    const bool utf8 = std::string(e.what()).find("UTF-8") != std::string::npos;
    throw InputError(origin, tracker.path(),
                     fmt::format("malformed JSON at line {} column {}: expected {}", line, col,
                                 utf8 ? "valid UTF-8 text" : "valid JSON"));
  } catch (const nlohmann::json::out_of_range&) {
    // 1e400: the parser refuses a number no double holds (nlohmann error 406).
    throw InputError(origin, tracker.path(), "number out of range: expected a finite number");
  }
}

nlohmann::json parse_json_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec)
    throw InputError(path, "$", fmt::format("cannot read the file ({}): expected a readable JSON file", ec.message()));
  if (size > static_cast<std::uintmax_t>(limits::kMaxInputFileBytes))
    throw InputError(
        path, "$", fmt::format("{} bytes: expected a JSON file of at most {} bytes", size, limits::kMaxInputFileBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "$", "cannot open the file: expected a readable JSON file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json_text(buffer.str(), path);
}

void require_readable_file(const std::string& path, const std::string& from_file, const std::string& from_path) {
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  if (ec || !regular || access(path.c_str(), R_OK) != 0)
    throw InputError(
        from_file, from_path,
        fmt::format("cannot read \"{}\"{}: expected a readable JSON file", path, ec ? " (" + ec.message() + ")" : ""));
}

nlohmann::json without_nulls(const nlohmann::json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it)
      if (!it->is_null()) out[it.key()] = without_nulls(*it);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(without_nulls(v));
    return out;
  }
  return value;
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

// Every number read: finite and within the documented magnitudes. Denormals made loops divide by
// ~0 and hang, 1e308 overflowed results to inf and wrote null into a report (issue 12).
double checked_number(const nlohmann::json& v, const std::string& file, const std::string& path) {
  const double x = v.get<double>();
  if (!std::isfinite(x)) throw InputError(file, path, "expected a finite number");
  if (x != 0 && !(std::fabs(x) >= limits::kMinMagnitude && std::fabs(x) <= limits::kMaxMagnitude))
    throw InputError(file, path,
                     fmt::format("expected 0 or a magnitude from {:g} to {:g}, got {:g}", limits::kMinMagnitude,
                                 limits::kMaxMagnitude, x));
  return x;
}
}  // namespace

JsonObject::JsonObject(const nlohmann::json& value, std::string file, std::string path)
    : value_(&value), file_(std::move(file)), path_(std::move(path)) {
  if (!value.is_object()) throw InputError(file_, path_, fmt::format("expected an object, got {}", type_name(value)));
}

bool JsonObject::has(const std::string& key) const { return value_->contains(key) && !(*value_)[key].is_null(); }

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
  return checked_number(v, file_, path_of(key));
}

std::int64_t JsonObject::integer(const std::string& key) const {
  const auto& v = require(key);
  // 18446744073709551615 parses as an unsigned; read as int64 it would wrap to -1.
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail(key, fmt::format("expected an integer up to {}, got {}", INT64_MAX, v.get<std::uint64_t>()));
  if (v.is_number_integer()) return v.get<std::int64_t>();
  // Accept 1e4-style literals when they are whole numbers.
  if (v.is_number_float()) {
    double x = v.get<double>();
    if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9e18) return static_cast<std::int64_t>(x);
    if (std::isfinite(x) && std::floor(x) == x)
      fail(key, fmt::format("expected an integer up to {}, got {:g}", INT64_MAX, x));
  }
  fail(key, fmt::format("expected an integer, got {}", v.is_number() ? "a fraction" : type_name(v)));
}

std::int64_t JsonObject::integer_in(const std::string& key, std::int64_t lo, std::int64_t hi) const {
  const std::int64_t x = integer(key);
  if (x < lo || x > hi) fail(key, fmt::format("expected an integer from {} to {}, got {}", lo, hi, x));
  return x;
}
std::int64_t JsonObject::integer_in_or(const std::string& key, std::int64_t lo, std::int64_t hi,
                                       std::int64_t fallback) const {
  if (!has(key)) {
    seen_.push_back(key);
    return fallback;
  }
  return integer_in(key, lo, hi);
}
int JsonObject::int_in(const std::string& key, std::int64_t lo, std::int64_t hi) const {
  return static_cast<int>(integer_in(key, std::max<std::int64_t>(lo, INT_MIN), std::min<std::int64_t>(hi, INT_MAX)));
}
int JsonObject::int_in_or(const std::string& key, std::int64_t lo, std::int64_t hi, int fallback) const {
  return static_cast<int>(
      integer_in_or(key, std::max<std::int64_t>(lo, INT_MIN), std::min<std::int64_t>(hi, INT_MAX), fallback));
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
    if (!v[i].is_number()) throw InputError(file_, fmt::format("{}[{}]", path_of(key), i), "expected a number");
    out.push_back(checked_number(v[i], file_, fmt::format("{}[{}]", path_of(key), i)));
  }
  return out;
}

std::vector<std::string> JsonObject::string_array(const std::string& key) const {
  const auto& v = require(key);
  if (!v.is_array()) fail(key, fmt::format("expected an array of strings, got {}", type_name(v)));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) throw InputError(file_, fmt::format("{}[{}]", path_of(key), i), "expected a string");
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

namespace {
// Depth of a value (a scalar is 0); stops counting past `cap`.
int depth_of(const nlohmann::json& v, int cap) {
  if (!v.is_structured() || cap < 0) return 0;
  int deepest = 0;
  for (const auto& child : v) deepest = std::max(deepest, depth_of(child, cap - 1));
  return 1 + deepest;
}
}  // namespace

void JsonObject::allow(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) {
    seen_.emplace_back(k);
    // Documentation fields are copied into the report as they are: bounded, so one line of
    // --set cannot make a gigabyte report (issue 12: 3.6 GB from a 120 KB nested "notes").
    auto it = value_->find(k);
    if (it == value_->end()) continue;
    if (depth_of(*it, limits::kMaxFreeFormDepth) > limits::kMaxFreeFormDepth)
      fail(k, fmt::format("nested deeper than {} levels: expected at most {}", limits::kMaxFreeFormDepth,
                          limits::kMaxFreeFormDepth));
    const std::size_t bytes = it->dump().size();
    if (static_cast<std::int64_t>(bytes) > limits::kMaxFreeFormBytes)
      fail(k, fmt::format("{} bytes: expected at most {}", bytes, limits::kMaxFreeFormBytes));
  }
}

void JsonObject::reject_unknown_keys() const {
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end()) fail(it.key(), "unknown key (misspelt?)");
  }
}

}  // namespace gwsim
