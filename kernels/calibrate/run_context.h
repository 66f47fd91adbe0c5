// What every calibration stage shares: options, the device, a cuBLAS handle, timing with CUDA
// events, and the part files through which a stage (run in its own child process, so a fault
// cannot take the other stages down) hands records, checks and summary lines to the parent.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cuda_check.h"

namespace gwsim::calib {

struct Options {
  std::string out_dir;
  std::string part_dir;  // private temporary folder for the part files
  bool quick = false;
  std::vector<std::string> only;
};

// A device allocation that frees itself (plain cudaMalloc: never managed memory).
template <class T>
class DevBuf {
 public:
  DevBuf() = default;
  explicit DevBuf(std::size_t n) : n_(n) {
    if (n > 0) GWSIM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
  }
  ~DevBuf() {
    if (p_) (void)cudaFree(p_);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  DevBuf& operator=(DevBuf&& o) noexcept {
    if (this != &o) {
      if (p_) (void)cudaFree(p_);
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  T* get() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  void upload(const std::vector<T>& h) {
    GWSIM_CUDA_CHECK(cudaMemcpy(p_, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    GWSIM_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

struct Timing {
  double median_s = 0, min_s = 0;
  int repeats = 0;
};

struct Record {
  std::string op, precision = "bf16", variant;
  std::string shape_json = "{}";  // JsonObject().integer(...).close()
  Timing t;
  double flops = 0, bytes = 0;
  std::string check_key;   // which check vouches for it; default op
  std::string extra_json;  // extra "key": value pairs, comma separated, or empty
};

class Stage {
 public:
  Stage(const Options& opt, std::string name, double budget_s);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  const Options& opt() const { return opt_; }
  const std::string& name() const { return name_; }
  bool quick() const { return opt_.quick; }
  const cudaDeviceProp& prop() const { return prop_; }
  cublasHandle_t cublas() const { return cublas_; }
  // Past the stage's own time budget: remaining points should be skipped (and said so).
  bool over_budget() const { return elapsed_s() > budget_s_; }
  double elapsed_s() const;
  int l2_bytes() const { return prop_.l2CacheSize; }

  // Times fn(rotation) with CUDA events around each call after warm-up; the repeat count is
  // chosen so the point takes about target_s. rotation cycles over [0, rotations).
  Timing time(const std::function<void(int)>& fn, int rotations, double target_s = 0.15, int min_rep = 5,
              int max_rep = 100);
  // Enough input sets that they overflow the L2 three times over (at most 8).
  int rotations_for(std::size_t bytes_per_set) const;

  // Whether every check run so far under this key passed (false when none ran).
  bool check_passed(const std::string& key) const {
    const auto it = checks_.find(key);
    return it != checks_.end() && it->second.first;
  }
  void record(const Record& r);
  void check(const std::string& key, const std::string& shape_json, double err, double bound, bool passed,
             const std::string& note = "");
  void summary(const std::string& line);
  void skip(const std::string& what, const std::string& reason);
  void device_json(const std::string& json);
  // Read back what an earlier stage left: the best copy bandwidth, for instance.
  void put_value(const std::string& key, double v);
  double get_value(const std::string& key, double fallback) const;

 private:
  void append(const std::string& file, const std::string& line) const;
  Options opt_;
  std::string name_;
  double budget_s_;
  std::chrono::steady_clock::time_point start_;
  cudaDeviceProp prop_{};
  cublasHandle_t cublas_ = nullptr;
  std::map<std::string, std::pair<bool, double>> checks_;
};

// bf16 <-> float on the host, from the CPU reference library.
std::vector<std::uint16_t> to_bf16(const std::vector<float>& v);
std::vector<float> from_bf16(const std::vector<std::uint16_t>& v);
std::vector<float> random_bf16_values(std::size_t n, std::uint64_t seed, float lo, float hi);

}  // namespace gwsim::calib
