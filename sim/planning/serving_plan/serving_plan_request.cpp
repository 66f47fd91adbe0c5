// Reading a serving plan (docs/formats.md, "gwsim.serving-plan/1"): the serving scenario it
// searches around, the space, the objective and the constraints.
#include <fmt/format.h>

#include <cmath>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/sim/input/serving_scenario.h"
#include "gwsim/sim/planning/chip_swap.h"
#include "gwsim/sim/planning/serving_plan.h"

namespace gwsim {

namespace {

constexpr const char* kServingPlanSchema = "gwsim.serving-plan/1";
constexpr const char* kServingSchema = "gwsim.serving/1";

// A list of whole numbers in [lo, hi], each named by its path when it is not.
std::vector<int> int_list(const JsonObject& o, const std::string& key, int lo, int hi) {
  std::vector<int> out;
  const auto values = o.number_array(key);
  if (values.empty() || values.size() > 64) o.fail(key, "expected a list of 1 to 64 numbers");
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= lo && v <= hi && v == std::floor(v)))
      throw InputError(o.file(), fmt::format("{}[{}]", o.path_of(key), i),
                       fmt::format("expected a whole number in [{}, {}], got {:g}", lo, hi, v));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// The scenario must be one the planner can size: a "requests" section with at least one SLO.
void check_base(const ServingPlanRequest& req, const std::string& path) {
  const ServingScenario s = parse_serving_scenario(req.base, req.base_file);
  if (!s.requests)
    throw InputError(req.file, path, "expected a serving scenario with a \"requests\" section (the load to size for)");
  if (!(s.requests->ttft_slo_s > 0) && !(s.requests->tpot_slo_s > 0))
    throw InputError(req.base_file, "$.requests.slo",
                     "expected ttft_ms and/or tpot_ms: the planner sizes fleets to meet them at P99");
}

ServingPlanSpace parse_space(const JsonObject& o) {
  ServingPlanSpace sp;
  if (o.has("chips")) {
    sp.chips = o.string_array("chips");
    if (sp.chips.empty() || sp.chips.size() > 64) o.fail("chips", "expected 1 to 64 chips");
    for (std::size_t i = 0; i < sp.chips.size(); ++i)
      parse_chip_label(sp.chips[i], o.file(), fmt::format("{}[{}]", o.path_of("chips"), i));
  }
  if (o.has("decode_gpus")) sp.decode_gpus = int_list(o, "decode_gpus", 1, limits::kMaxGpus);
  if (o.has("attention_tp")) sp.attention_tp = int_list(o, "attention_tp", 1, limits::kMaxGpus);
  if (o.has("prefill_gpus")) sp.prefill_gpus = int_list(o, "prefill_gpus", 1, limits::kMaxGpus);
  if (o.has("batch_fractions")) {
    sp.batch_fractions = o.number_array("batch_fractions");
    if (sp.batch_fractions.empty() || sp.batch_fractions.size() > 16)
      o.fail("batch_fractions", "expected 1 to 16 shares of the SLO batch");
    for (double f : sp.batch_fractions)
      if (!(f > 0 && f <= 1)) o.fail("batch_fractions", fmt::format("expected shares in (0, 1], got {:g}", f));
  }
  if (o.has("disaggregated")) {
    const auto& v = o.raw("disaggregated");
    if (!v.is_array() || v.empty() || v.size() > 2)
      o.fail("disaggregated", "expected [true], [false] or [true, false]");
    for (const auto& b : v) {
      if (!b.is_boolean()) o.fail("disaggregated", "expected [true], [false] or [true, false]");
      sp.disaggregated.push_back(b.get<bool>());
    }
  }
  if (o.has("usd_per_gpu_hour")) {
    const JsonObject prices = o.object("usd_per_gpu_hour");
    for (const auto& [chip, value] : prices.json().items()) {
      find_gpu(chip, o.file(), prices.path_of(chip));
      sp.usd_per_gpu_hour[chip] = prices.positive(chip);
    }
  }
  sp.max_requests = o.integer_in_or("max_requests", 100, limits::kMaxSimRequests, sp.max_requests);
  o.allow({"source", "notes"});
  o.reject_unknown_keys();
  return sp;
}

}  // namespace

std::string to_string(ServingObjective o) {
  switch (o) {
    case ServingObjective::cost:
      return "cost";
    case ServingObjective::gpus:
      return "gpus";
    case ServingObjective::power:
      return "power";
  }
  return "cost";
}

ServingPlanRequest parse_serving_plan_request(const nlohmann::json& doc, const std::string& file) {
  ServingPlanRequest req;
  req.file = file;
  req.query = without_nulls(doc);
  JsonObject o(doc, file, "$");
  if (doc.is_object() && doc.contains("schema") && doc["schema"] == kServingSchema) {  // a scenario: the default search
    req.base = doc;
    req.base_file = file;
    check_base(req, "$");
    return req;
  }
  o.require_schema(kServingPlanSchema);
  const auto& sc = o.raw("scenario");
  if (sc.is_string()) {
    req.base_file = resolve_path(sc.get<std::string>(), directory_of(file));
    require_readable_file(req.base_file, file, "$.scenario");
    req.base = parse_json_file(req.base_file);
  } else if (sc.is_object()) {
    req.base = sc;
    req.base_file = file;
  } else {
    o.fail("scenario", "expected a serving scenario: a file name or an inline gwsim.serving/1 object");
  }
  if (!req.base.is_object()) throw InputError(req.base_file, "$", "expected a serving scenario object");
  check_base(req, "$.scenario");
  if (o.has("search")) req.space = parse_space(o.object("search"));
  const std::string objective = o.one_of_or("objective", {"cost", "gpus", "power"}, "cost");
  req.objective = objective == "gpus"    ? ServingObjective::gpus
                  : objective == "power" ? ServingObjective::power
                                         : ServingObjective::cost;
  req.owned_cost = o.one_of_or("cost_basis", {"rental", "owned"}, "rental") == "owned";
  if (o.has("constraints")) {
    const JsonObject k = o.object("constraints");
    if (k.has("export_rule")) {
      req.export_rule = k.string("export_rule");
      require_export_rule(req.export_rule, k.file(), k.path_of("export_rule"));
    }
    if (k.has("power_mw")) req.power_mw = k.positive("power_mw");
    k.allow({"source", "notes"});
    k.reject_unknown_keys();
  }
  req.top_k = o.int_in_or("top_k", 1, 1000, req.top_k);
  o.allow({"name", "description", "notes", "source"});
  o.reject_unknown_keys();
  return req;
}

ServingPlanRequest load_serving_plan_request(const std::string& path) {
  const auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected a serving plan or serving scenario object");
  return parse_serving_plan_request(doc, path);
}

}  // namespace gwsim
