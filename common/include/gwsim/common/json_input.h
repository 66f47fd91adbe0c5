#pragma once
// Strict reading of JSON input: every value is read through a JsonObject that knows its file and
// JSON path, so an error names both. Keys that nobody read are reported as unknown (misspelt keys
// never pass silently).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gwsim/common/input_error.h"

namespace gwsim {

// Parses a whole file or text under the limits of input_limits.h: at most kMaxInputFileBytes,
// nested at most kMaxJsonDepth, each key once per object, numbers a double holds, valid UTF-8.
// Any refusal raises InputError naming the origin, the JSON path reached and (for malformed
// JSON) the line and column.
nlohmann::json parse_json_file(const std::string& path);
nlohmann::json parse_json_text(const std::string& text, const std::string& origin);
// For a file that a JSON value names ("cluster": "x.json"): if it cannot be read, the error names
// the referring file and path, not only the missing one.
void require_readable_file(const std::string& path, const std::string& from_file, const std::string& from_path);
// A copy without the null values: a null key reads as left out (JsonObject::has), so the resolved
// copy a report carries leaves it out too, and a report never holds null.
nlohmann::json without_nulls(const nlohmann::json& value);

class JsonObject {
 public:
  JsonObject(const nlohmann::json& value, std::string file, std::string path);

  bool has(const std::string& key) const;
  // Required values. Numbers are finite, 0 or of magnitude limits::kMinMagnitude..kMaxMagnitude.
  double number(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  // An integer in [lo, hi] (the range is in the error); the int form narrows only after the
  // check. Every count that ends up in an int is read through these (4294967296 must not wrap).
  std::int64_t integer_in(const std::string& key, std::int64_t lo, std::int64_t hi) const;
  std::int64_t integer_in_or(const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const;
  // (lo and hi are within int's range: the limits of input_limits.h are.)
  int int_in(const std::string& key, std::int64_t lo, std::int64_t hi) const;
  int int_in_or(const std::string& key, std::int64_t lo, std::int64_t hi, int fallback) const;
  std::string string(const std::string& key) const;
  bool boolean(const std::string& key) const;
  JsonObject object(const std::string& key) const;
  std::vector<JsonObject> array_of_objects(const std::string& key) const;
  std::vector<double> number_array(const std::string& key) const;
  std::vector<std::string> string_array(const std::string& key) const;
  const nlohmann::json& raw(const std::string& key) const;  // any type, marks the key read

  // Optional values with defaults.
  double number_or(const std::string& key, double fallback) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;

  // Range checks that name the path.
  double positive(const std::string& key) const;
  std::int64_t positive_integer(const std::string& key) const;
  std::int64_t positive_integer_or(const std::string& key, std::int64_t fallback) const;
  double fraction(const std::string& key) const;  // in (0, 1]
  std::string one_of(const std::string& key, const std::vector<std::string>& allowed) const;
  std::string one_of_or(const std::string& key, const std::vector<std::string>& allowed,
                        const std::string& fallback) const;

  // Requires "schema" to be exactly `schema` (e.g. "gwsim.power/1").
  void require_schema(const std::string& schema) const;

  // Marks keys as allowed but ignored (documentation fields such as "source", "notes"), or read
  // elsewhere. Those present must nest at most limits::kMaxFreeFormDepth and hold at most
  // limits::kMaxFreeFormBytes: they are copied into reports as they are.
  void allow(std::initializer_list<const char*> keys) const;
  // Raises InputError for the first key that was never read or allowed.
  void reject_unknown_keys() const;

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  std::string path_of(const std::string& key) const { return path_ + "." + key; }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return *value_; }

 private:
  const nlohmann::json& require(const std::string& key) const;
  const nlohmann::json* value_;
  std::string file_;
  std::string path_;
  mutable std::vector<std::string> seen_;
};

}  // namespace gwsim
