// A tiny JSON object writer for the calibration outputs: the GPU machine has no JSON library,
// and these files are flat enough that escaping strings and printing numbers is all it takes.
#pragma once

#include <string>

namespace gwsim::calib {

std::string json_escape(const std::string& s);  // with the surrounding quotes
std::string json_number(double v);              // %.9g; null for NaN/Inf (JSON has neither)

// Builds one object: JsonObject().num("a", 1).str("b", "x").close() -> {"a": 1, "b": "x"}
class JsonObject {
 public:
  JsonObject& num(const std::string& key, double v);
  JsonObject& integer(const std::string& key, long long v);
  JsonObject& str(const std::string& key, const std::string& v);
  JsonObject& boolean(const std::string& key, bool v);
  JsonObject& raw(const std::string& key, const std::string& json);  // an already-built value
  std::string close() const { return body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_ = "{";
  bool first_ = true;
};

}  // namespace gwsim::calib
