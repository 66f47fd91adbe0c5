#pragma once
// `gwsim validate`: runs every case of shared/validation/published_cases.json that gwsim can express
// and sets the prediction beside the published figure.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "gwsim/sim/validation/validation_region.h"

namespace gwsim {

// A published figure as the case states it: a number ("989.4", "~480"), a lower bound (">90%") or
// a range ("46-48"). A prediction inside the bound or range is 0% off; outside, the error is
// measured from the end it missed.
struct PublishedFigure {
  double low = 0;
  double high = 0;  // == low for a plain number; +infinity for a lower bound
  PublishedFigure() = default;
  PublishedFigure(double value) : low(value), high(value) {}  // NOLINT: a plain number converts
  static PublishedFigure at_least(double v) {
    PublishedFigure f(v);
    f.high = std::numeric_limits<double>::infinity();
    return f;
  }
  static PublishedFigure between(double lo, double hi) {
    PublishedFigure f(lo);
    f.high = hi;
    return f;
  }
  bool is_lower_bound() const { return high == std::numeric_limits<double>::infinity(); }
  bool is_range() const { return high != low && !is_lower_bound(); }
  double value() const { return is_range() ? (low + high) / 2 : low; }  // what a table shows
  std::string text() const;                                             // "0.9", ">0.9", "46-48"
};

struct ValidationRow {
  std::string case_id;
  std::string metric;
  PublishedFigure published;
  double predicted = 0;
  std::string scenario;  // scenario (and overrides) that produced the prediction
  std::string note;      // what the comparison assumes or why it misses
  std::string kind;      // the case's kind: training, kernel, collective, spec, inference
  // Set on rows predicted by running a training scenario (the backend changes them) or a serving
  // one: the region of that scenario, and on the rows that state the run's speed (one per published
  // training run; a serving deployment's throughputs and node counts) whether it is a time (step
  // time, GPU-hours: "step_time"), a rate (TFLOP/s, tokens/s per node: "throughput") or a count of
  // resources that grows as gwsim runs slower (nodes: "resources").
  std::optional<ValidationRegion> region;
  std::string speed_sense;
  double error_pct() const;
};

// cases_path: the published_cases.json file. Cases gwsim cannot express yet are listed in `skipped`.
// backend: how training cases estimate their step (analytical | des | simgrid); the other rows
// (collectives, specs, fabric sizing) do not depend on it. A missing field or a figure that is not
// a number raises InputError naming cases_path and the JSON path.
std::vector<ValidationRow> run_validation(const std::string& cases_path, std::vector<std::string>* skipped = nullptr,
                                          const std::string& backend = "analytical");

}  // namespace gwsim
