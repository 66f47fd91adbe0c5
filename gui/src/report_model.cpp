#include "report_model.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "gwsim/common/json_input.h"

namespace gwsim::gui {
namespace {

using nlohmann::json;

// Reports are written by gwsim itself, so a missing field means a wrong or
// foreign file: say which.
const json& need(const json& obj, const char* key, const char* where) {
  if (!obj.is_object() || !obj.contains(key))
    throw std::runtime_error(std::string("not a gwsim.report/1 file: missing ") + where + "." + key);
  return obj.at(key);
}

double number(const json& obj, const char* key, const char* where) {
  const json& v = need(obj, key, where);
  if (!v.is_number()) throw std::runtime_error(std::string("report: ") + where + "." + key + ": expected a number");
  return v.get<double>();
}

double number_or(const json& obj, const char* key, double fallback) {
  return obj.is_object() && obj.contains(key) && obj.at(key).is_number() ? obj.at(key).get<double>() : fallback;
}

std::string string_or(const json& obj, const char* key, const std::string& fallback = "") {
  return obj.is_object() && obj.contains(key) && obj.at(key).is_string() ? obj.at(key).get<std::string>() : fallback;
}

}  // namespace

ReportModel report_model_from_json_text(const std::string& text) {
  // The strict reader: size, depth, duplicate keys and numbers checked as for
  // any input.
  const json doc = parse_json_text(text, "report");
  if (string_or(doc, "schema") != "gwsim.report/1")
    throw std::runtime_error("not a gwsim.report/1 file: schema is \"" + string_or(doc, "schema") + "\"");
  ReportModel m;
  const json& training = need(doc, "training", "$");
  const json& memory = need(doc, "memory", "$");
  const json& power = need(doc, "power", "$");
  const json& cluster = need(doc, "cluster", "$");

  m.name = string_or(doc.value("scenario", json::object()), "name", "(unnamed)");
  m.gpu = string_or(cluster, "gpu");
  m.gpus = static_cast<long long>(number(cluster, "gpus", "$.cluster"));
  if (doc.contains("provenance")) {
    m.backend = string_or(doc["provenance"], "backend");
    if (doc["provenance"].contains("profile")) m.profile = string_or(doc["provenance"]["profile"], "name");
  }

  m.step_time_s = number(training, "step_time_s", "$.training");
  m.tokens_per_s = number(training, "tokens_per_s", "$.training");
  m.mfu = number(training, "mfu", "$.training");
  m.model_tflops_per_gpu = number_or(training, "model_tflops_per_gpu", 0);
  m.gpu_hours_per_trillion_tokens = number_or(training, "gpu_hours_per_trillion_tokens", 0);
  m.days = number(training, "days", "$.training");
  m.gpu_hours = number(training, "gpu_hours", "$.training");
  m.cost_usd = number(training, "cost_usd", "$.training");
  // Goodput (effective training time after failures) lives in its own section.
  if (doc.contains("goodput") && doc["goodput"].is_object() && doc["goodput"].contains("goodput_fraction") &&
      doc["goodput"]["goodput_fraction"].is_number())
    m.goodput = doc["goodput"]["goodput_fraction"].get<double>();
  m.bottleneck = string_or(training, "bottleneck");
  for (const auto& [key, value] : need(training, "breakdown_s", "$.training").items())
    if (value.is_number()) m.breakdown_s.emplace_back(key, value.get<double>());

  for (const auto& [key, value] : need(memory, "per_gpu_gib", "$.memory").items()) {
    if (!value.is_number()) continue;
    if (key == "total")
      m.memory_total_gib = value.get<double>();
    else
      m.memory_gib.emplace_back(key, value.get<double>());
  }
  m.capacity_gib = number(memory, "capacity_gib", "$.memory");

  m.facility_mw = number(power, "facility_mw", "$.power");
  m.it_mw = number_or(power, "it_mw", 0);

  if (doc.contains("communication") && doc["communication"].is_array()) {
    for (const auto& c : doc["communication"]) {
      CommEntry e;
      e.name = string_or(c, "name");
      e.kind = string_or(c, "kind");
      e.op = string_or(c, "op");
      e.link = string_or(c, "link");
      e.algorithm = string_or(c, "algorithm");
      e.group = static_cast<long long>(number_or(c, "group", 0));
      e.per_step_s = number_or(c, "per_step_s", 0);
      e.exposed_s = number_or(c, "exposed_s", 0);
      e.busbw_gbs = number_or(c, "busbw_gbs", 0);
      m.communication.push_back(std::move(e));
    }
  }
  if (doc.contains("warnings") && doc["warnings"].is_array())
    for (const auto& w : doc["warnings"])
      if (w.is_string()) m.warnings.push_back(w.get<std::string>());
  return m;
}

}  // namespace gwsim::gui
