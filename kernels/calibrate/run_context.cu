#include "run_context.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "gwsim/kernels/refs.h"
#include "json_writer.h"

namespace gwsim::calib {

Stage::Stage(const Options& opt, std::string name, double budget_s)
    : opt_(opt), name_(std::move(name)), budget_s_(budget_s), start_(std::chrono::steady_clock::now()) {
  GWSIM_CUDA_CHECK(cudaSetDevice(0));
  GWSIM_CUDA_CHECK(cudaGetDeviceProperties(&prop_, 0));
  GWSIM_CUBLAS_CHECK(cublasCreate(&cublas_));
  std::ifstream in(opt_.part_dir + "/check_status.txt");
  std::string key;
  int passed = 0;
  double err = 0;
  while (in >> key >> passed >> err) checks_[key] = {passed != 0, err};
}

Stage::~Stage() {
  if (cublas_) (void)cublasDestroy(cublas_);
}

double Stage::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

Timing Stage::time(const std::function<void(int)>& fn, int rotations, double target_s, int min_rep, int max_rep) {
  if (rotations < 1) rotations = 1;
  // Warm-up: module load, cuBLAS heuristics and workspace, first touch of every rotation.
  for (int r = 0; r < std::max(2, rotations); ++r) fn(r % rotations);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  GWSIM_CUDA_CHECK(cudaEventCreate(&e0));
  GWSIM_CUDA_CHECK(cudaEventCreate(&e1));
  GWSIM_CUDA_CHECK(cudaEventRecord(e0));
  fn(0);
  GWSIM_CUDA_CHECK(cudaEventRecord(e1));
  GWSIM_CUDA_CHECK(cudaEventSynchronize(e1));
  float est_ms = 0;
  GWSIM_CUDA_CHECK(cudaEventElapsedTime(&est_ms, e0, e1));
  (void)cudaEventDestroy(e0);
  (void)cudaEventDestroy(e1);
  int reps = est_ms > 0 ? static_cast<int>(target_s * 1e3 / est_ms) : max_rep;
  reps = std::clamp(reps, min_rep, max_rep);

  std::vector<cudaEvent_t> ev(2 * static_cast<std::size_t>(reps));
  for (auto& e : ev) GWSIM_CUDA_CHECK(cudaEventCreate(&e));
  for (int i = 0; i < reps; ++i) {
    GWSIM_CUDA_CHECK(cudaEventRecord(ev[2 * i]));
    fn((i + 1) % rotations);
    GWSIM_CUDA_CHECK(cudaEventRecord(ev[2 * i + 1]));
  }
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    float ms = 0;
    GWSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]));
    t.push_back(ms * 1e-3);
  }
  for (auto& e : ev) (void)cudaEventDestroy(e);
  std::sort(t.begin(), t.end());
  Timing out;
  out.repeats = reps;
  out.min_s = t.front();
  out.median_s = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  return out;
}

int Stage::rotations_for(std::size_t bytes_per_set) const {
  if (bytes_per_set == 0) return 1;
  const double need = 3.0 * static_cast<double>(prop_.l2CacheSize) / static_cast<double>(bytes_per_set);
  return std::clamp(static_cast<int>(std::ceil(need)), 1, 8);
}

void Stage::append(const std::string& file, const std::string& line) const {
  std::ofstream out(opt_.part_dir + "/" + file, std::ios::app);
  out << line << "\n";
}

void Stage::record(const Record& r) {
  const std::string key = r.check_key.empty() ? r.op : r.check_key;
  const auto it = checks_.find(key);
  const bool checked = it != checks_.end() && it->second.first;
  JsonObject o;
  o.str("op", r.op).str("precision", r.precision);
  if (!r.variant.empty()) o.str("variant", r.variant);
  o.raw("shape", r.shape_json)
      .num("median_s", r.t.median_s)
      .num("min_s", r.t.min_s)
      .integer("repeats", r.t.repeats)
      .num("flops", r.flops)
      .num("bytes", r.bytes)
      .boolean("checked", checked);
  if (it != checks_.end()) o.num("max_rel_error", it->second.second);
  std::string line = o.close();
  if (!r.extra_json.empty()) line = line.substr(0, line.size() - 1) + ", " + r.extra_json + "}";
  append("records.jsonl", line);
}

void Stage::check(const std::string& key, const std::string& shape_json, double err, double bound, bool passed,
                  const std::string& note) {
  JsonObject o;
  o.str("check", key).raw("shape", shape_json).num("rel_error", err).num("bound", bound).boolean("passed", passed);
  if (!note.empty()) o.str("note", note);
  append("checks.jsonl", o.close());
  // Several checks can vouch for one key: it passes only if all of them pass; keep the worst error.
  auto it = checks_.find(key);
  if (it == checks_.end()) {
    checks_[key] = {passed, err};
  } else {
    it->second.first = it->second.first && passed;
    if (!(it->second.second >= err)) it->second.second = err;  // NaN-safe max
  }
  std::ofstream st(opt_.part_dir + "/check_status.txt", std::ios::app);
  const double e = checks_[key].second;
  st << key << " " << (checks_[key].first ? 1 : 0) << " " << (std::isfinite(e) ? e : 1e30) << "\n";
  std::printf("  check %-34s rel_err %-12.4g bound %-8.2g %s%s%s\n", key.c_str(), err, bound, passed ? "PASS" : "FAIL",
              note.empty() ? "" : "  ", note.c_str());
  std::fflush(stdout);
}

void Stage::summary(const std::string& line) {
  append("summary.txt", line);
  std::printf("  %s\n", line.c_str());
  std::fflush(stdout);
}

void Stage::skip(const std::string& what, const std::string& reason) {
  append("skipped.jsonl", JsonObject().str("stage", name_).str("what", what).str("reason", reason).close());
  std::printf("  skipped %s: %s\n", what.c_str(), reason.c_str());
  std::fflush(stdout);
}

void Stage::device_json(const std::string& json) {
  std::ofstream out(opt_.part_dir + "/device.json");
  out << json;
}

void Stage::put_value(const std::string& key, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  append("values.txt", key + " " + buf);
}

double Stage::get_value(const std::string& key, double fallback) const {
  std::ifstream in(opt_.part_dir + "/values.txt");
  std::string k;
  double v = 0;
  double found = fallback;
  while (in >> k >> v)
    if (k == key) found = v;
  return found;
}

std::vector<std::uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<std::uint16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = kernels::ref::float_to_bf16_bits(v[i]);
  return out;
}

std::vector<float> from_bf16(const std::vector<std::uint16_t>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = kernels::ref::bf16_bits_to_float(v[i]);
  return out;
}

std::vector<float> random_bf16_values(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = kernels::ref::bf16_round(d(rng));
  return v;
}

}  // namespace gwsim::calib
