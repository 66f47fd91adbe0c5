#include "gwsim/sim/validation/validation_record.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <mutex>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"

namespace gwsim {

namespace {

constexpr const char* kSchema = "gwsim.validation_record/1";

double round2(double x) { return std::round(x * 100) / 100; }

std::string key_of(const std::string& case_id, const std::string& metric) { return case_id + " | " + metric; }

ValidationRegion read_region(const JsonObject& o) {
  ValidationRegion r;
  r.gpu_family = o.string("gpu_family");
  r.parallelism = o.string_array("parallelism");
  for (const auto& k : r.parallelism)
    if (k != "tp" && k != "pp" && k != "ep" && k != "cp" && k != "dp")
      o.fail("parallelism", "expected parallelism kinds from tp, pp, ep, cp, dp, got \"" + k + "\"");
  r.model = o.one_of("model", {"moe", "dense"});
  o.reject_unknown_keys();
  return r;
}

}  // namespace

double RecordedRow::error_pct(const std::string& backend) const {
  return backend != "analytical" && des_error_pct ? *des_error_pct : analytical_error_pct;
}

const RecordedRow* ValidationRecord::find(const std::string& case_id, const std::string& metric) const {
  for (const auto& r : rows)
    if (r.case_id == case_id && r.metric == metric) return &r;
  return nullptr;
}

std::string default_validation_record_path() { return data_dir() + "/sim/data/validation_record.json"; }

ValidationRecord load_validation_record(const std::string& path) {
  const auto doc = parse_json_file(path);
  if (!doc.is_object()) throw InputError(path, "$", "expected an object with \"schema\" and \"rows\"");
  const JsonObject root(doc, path, "$");
  root.require_schema(kSchema);
  root.allow({"about"});
  ValidationRecord record;
  record.file = path;
  for (const auto& o : root.array_of_objects("rows")) {
    RecordedRow r;
    r.case_id = o.string("case");
    r.metric = o.string("metric");
    r.kind = o.string("kind");
    const auto errors = o.object("error_pct");
    r.analytical_error_pct = errors.number("analytical");
    if (errors.has("des")) r.des_error_pct = errors.number("des");
    errors.reject_unknown_keys();
    // null until someone has decided; the validation test fails on it
    if (o.json().contains("in_sample") && !o.json()["in_sample"].is_null())
      r.in_sample = o.boolean("in_sample");
    else
      o.allow({"in_sample"});
    r.reason = o.string_or("reason", "");
    r.cause = o.string_or("cause", "");
    r.speed_sense = o.one_of_or("speed_sense", {"step_time", "throughput", "resources"}, "");
    if (o.has("region")) r.region = read_region(o.object("region"));
    r.scenario = o.string_or("scenario", "");
    o.reject_unknown_keys();
    if (record.find(r.case_id, r.metric))
      throw InputError(path, o.path(),
                       "duplicate row \"" + key_of(r.case_id, r.metric) + "\": expected one row per case and metric");
    record.rows.push_back(std::move(r));
  }
  root.reject_unknown_keys();
  return record;
}

const ValidationRecord& cached_validation_record(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, ValidationRecord> records;  // node-based: references stay valid
  std::lock_guard lock(mutex);
  auto it = records.find(path);
  if (it == records.end()) it = records.emplace(path, load_validation_record(path)).first;
  return it->second;
}

nlohmann::json updated_validation_record(const ValidationRecord& old, const std::vector<ValidationRow>& analytical,
                                         const std::vector<ValidationRow>& des, std::vector<std::string>* notes) {
  auto note = [notes](const std::string& s) {
    if (notes) notes->push_back(s);
  };
  std::map<std::string, const ValidationRow*> des_rows;
  for (const auto& r : des) des_rows[key_of(r.case_id, r.metric)] = &r;
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, bool> produced;
  for (const auto& a : analytical) {
    const std::string key = key_of(a.case_id, a.metric);
    produced[key] = true;
    nlohmann::json row = {{"case", a.case_id}, {"metric", a.metric}, {"kind", a.kind}, {"scenario", a.scenario}};
    row["error_pct"] = {{"analytical", round2(a.error_pct())}};
    double worst = std::fabs(a.error_pct());
    if (a.region && a.kind == "training") {  // the backend changes it: record des too
      const auto it = des_rows.find(key);
      if (it == des_rows.end()) throw std::logic_error("validation record: no des row for " + key);
      row["error_pct"]["des"] = round2(it->second->error_pct());
      worst = std::max(worst, std::fabs(it->second->error_pct()));
    }
    if (a.region)
      row["region"] = {
          {"gpu_family", a.region->gpu_family}, {"parallelism", a.region->parallelism}, {"model", a.region->model}};
    if (!a.speed_sense.empty()) row["speed_sense"] = a.speed_sense;
    const RecordedRow* was = old.find(a.case_id, a.metric);
    row["in_sample"] = was && was->in_sample ? nlohmann::json(*was->in_sample) : nlohmann::json(nullptr);
    row["reason"] = was ? was->reason : "";
    if (was && !was->cause.empty()) row["cause"] = was->cause;
    if (!was) note("new row " + key + ": decide in_sample and write its reason");
    if (worst > kRecordedMissPct && (!was || was->cause.empty()))
      note(fmt::format("{} misses by {:.1f}%: write its cause", key, worst));
    if (worst <= kRecordedMissPct && was && !was->cause.empty())
      note(fmt::format("{} is now within {:g}% ({:.1f}%): its cause can go", key, kRecordedMissPct, worst));
    rows.push_back(std::move(row));
  }
  for (const auto& r : old.rows)
    if (!produced.count(key_of(r.case_id, r.metric)))
      note("dropped row " + key_of(r.case_id, r.metric) + ": no longer produced");
  return {{"schema", kSchema},
          {"about",
           "The last error of every gwsim validate row, in percent, for the analytical backend and (rows run on a "
           "training scenario) des. Numbers: tests/sim/regenerate_validation_record.sh. Hand-written: in_sample (was "
           "a profile or default built from this row's figure), reason, cause (rows off by more than 10%). "
           "tests/sim/validation_test.cpp holds each row to within 2 points of its record; docs/report.md (error_band) "
           "says how reports use the training rows."},
          {"rows", rows}};
}

}  // namespace gwsim
