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

// Parses a whole file; malformed JSON raises InputError with the line and column.
nlohmann::json parse_json_file(const std::string& path);
nlohmann::json parse_json_text(const std::string& text, const std::string& origin);

class JsonObject {
 public:
  JsonObject(const nlohmann::json& value, std::string file, std::string path);

  bool has(const std::string& key) const;
  // Required values.
  double number(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
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

  // Marks keys as allowed but ignored (documentation fields such as "source", "notes").
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
