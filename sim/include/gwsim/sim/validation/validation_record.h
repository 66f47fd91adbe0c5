#pragma once
// The committed record of every validation row's last error (sim/data/validation_record.json,
// schema "gwsim.validation_record/1"). Numbers are refreshed by `gwsim validate --backend des
// --update-record` (tests/sim/regenerate_validation_record.sh) when a model change is intended; the
// hand-written fields (in_sample, reason, cause) are kept. The validation test holds every row to
// its recorded error, so no row, missing or not, can drift unseen; error bands (error_band.h) read
// the training rows.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gwsim/sim/validation/validation.h"

namespace gwsim {

struct RecordedRow {
  std::string case_id;
  std::string metric;
  std::string kind;  // the case's kind (training, kernel, ...)
  double analytical_error_pct = 0;
  std::optional<double> des_error_pct;     // rows predicted by a training scenario only
  std::optional<bool> in_sample;           // unset until someone decides (the test then fails)
  std::string reason;                      // what was (or was not) built from the row's figure
  std::string cause;                       // why it misses, where it misses by more than 10%
  std::string speed_sense;                 // "step_time" | "throughput" | "resources" | "" (validation.h)
  std::optional<ValidationRegion> region;  // the scenario's region, for rows predicted by one
  std::string scenario;

  // The recorded error for a backend: des where recorded, else analytical (rows the backend does
  // not change); simgrid runs des's task graph, so it reads des's error.
  double error_pct(const std::string& backend) const;
};

struct ValidationRecord {
  std::string file;
  std::vector<RecordedRow> rows;
  const RecordedRow* find(const std::string& case_id, const std::string& metric) const;
};

// <data_dir>/sim/data/validation_record.json
std::string default_validation_record_path();
// Strict: a missing or mistyped field is an InputError naming the file and the JSON path.
ValidationRecord load_validation_record(const std::string& path);
// The same, read once per process and path (thread-safe): every training report reads the record,
// and parsing it costs ~1 ms, more than the analytical estimate itself (bench/RESULTS.md).
const ValidationRecord& cached_validation_record(const std::string& path);

// The record rewritten for the current rows (analytical, and des for the same cases): numbers,
// kind, region and speed sense from the rows; in_sample, reason and cause kept from `old` by case
// and metric. A new row gets in_sample null; rows no longer produced are dropped. `notes` says
// what changed that needs a person (a new row, a dropped row, a miss without a cause, a cause on a
// row that no longer misses).
nlohmann::json updated_validation_record(const ValidationRecord& old, const std::vector<ValidationRow>& analytical,
                                         const std::vector<ValidationRow>& des, std::vector<std::string>* notes);

// Rows that miss by more than this (either backend) must say why.
inline constexpr double kRecordedMissPct = 10;

}  // namespace gwsim
