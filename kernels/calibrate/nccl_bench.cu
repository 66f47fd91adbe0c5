// NCCL collectives over the GPUs of this machine, nccl-tests style: one process drives all
// GPUs (ncclCommInitAll), algbw = bytes / time and busbw = algbw * the collective's wire factor.
// With fewer than two GPUs there is nothing to measure: the stage says so and succeeds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "json_writer.h"
#include "stages.h"

#if GWSIM_HAVE_NCCL
#include <nccl.h>
#endif

namespace gwsim::calib {

#if GWSIM_HAVE_NCCL

#define GWSIM_NCCL_CHECK(call)                                                                                         \
  do {                                                                                                                 \
    const ncclResult_t gwsim_nr_ = (call);                                                                             \
    if (gwsim_nr_ != ncclSuccess) ::gwsim::cuda::throw_cuda(#call, __FILE__, __LINE__, ncclGetErrorString(gwsim_nr_)); \
  } while (0)

std::string nccl_version_string() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

namespace {

enum class Coll { all_reduce, all_gather, reduce_scatter, all_to_all, sendrecv };

struct CollInfo {
  Coll c;
  const char* op;
};

double bus_factor(Coll c, int n) {
  switch (c) {
    case Coll::all_reduce:
      return 2.0 * (n - 1) / n;
    case Coll::all_gather:
    case Coll::reduce_scatter:
    case Coll::all_to_all:
      return double(n - 1) / n;
    case Coll::sendrecv:
      return 1.0;
  }
  return 1.0;
}

// bytes: nccl-tests "size": the all-reduce buffer, the gathered (output) buffer, the scattered
// (input) buffer, each rank's all-to-all buffer, the sendrecv message.
void launch(Coll c, int n, std::size_t bytes, const std::vector<ncclComm_t>& comms,
            const std::vector<cudaStream_t>& streams, const std::vector<void*>& send, const std::vector<void*>& recv) {
  const std::size_t count = bytes / 2;  // bf16 elements
  GWSIM_NCCL_CHECK(ncclGroupStart());
  for (int r = 0; r < n; ++r) {
    switch (c) {
      case Coll::all_reduce:
        GWSIM_NCCL_CHECK(ncclAllReduce(send[r], recv[r], count, ncclBfloat16, ncclSum, comms[r], streams[r]));
        break;
      case Coll::all_gather:
        GWSIM_NCCL_CHECK(ncclAllGather(send[r], recv[r], count / n, ncclBfloat16, comms[r], streams[r]));
        break;
      case Coll::reduce_scatter:
        GWSIM_NCCL_CHECK(ncclReduceScatter(send[r], recv[r], count / n, ncclBfloat16, ncclSum, comms[r], streams[r]));
        break;
      case Coll::all_to_all: {
        const std::size_t per = count / n;
        for (int p = 0; p < n; ++p) {
          GWSIM_NCCL_CHECK(
              ncclSend(static_cast<char*>(send[r]) + p * per * 2, per, ncclBfloat16, p, comms[r], streams[r]));
          GWSIM_NCCL_CHECK(
              ncclRecv(static_cast<char*>(recv[r]) + p * per * 2, per, ncclBfloat16, p, comms[r], streams[r]));
        }
        break;
      }
      case Coll::sendrecv:
        GWSIM_NCCL_CHECK(ncclSend(send[r], count, ncclBfloat16, (r + 1) % n, comms[r], streams[r]));
        GWSIM_NCCL_CHECK(ncclRecv(recv[r], count, ncclBfloat16, (r + n - 1) % n, comms[r], streams[r]));
        break;
    }
  }
  GWSIM_NCCL_CHECK(ncclGroupEnd());
}

void sync_all(int n, const std::vector<cudaStream_t>& streams) {
  for (int r = 0; r < n; ++r) {
    GWSIM_CUDA_CHECK(cudaSetDevice(r));
    GWSIM_CUDA_CHECK(cudaStreamSynchronize(streams[r]));
  }
}

}  // namespace

void stage_nccl(const Options& opt) {
  Stage st(opt, "nccl", opt.quick ? 10 : 30);
  int n = 0;
  GWSIM_CUDA_CHECK(cudaGetDeviceCount(&n));
  if (n < 2) {
    st.skip("nccl", "fewer than two GPUs (" + std::to_string(n) + "): no collective to measure");
    st.summary("NCCL skipped: " + std::to_string(n) + " GPU(s)");
    return;
  }
  std::vector<int> devs(n);
  for (int i = 0; i < n; ++i) devs[i] = i;
  std::vector<ncclComm_t> comms(n);
  GWSIM_NCCL_CHECK(ncclCommInitAll(comms.data(), n, devs.data()));
  const std::size_t max_bytes = opt.quick ? (std::size_t(64) << 20) : (std::size_t(1) << 30);
  std::vector<cudaStream_t> streams(n);
  std::vector<void*> send(n), recv(n);
  for (int r = 0; r < n; ++r) {
    GWSIM_CUDA_CHECK(cudaSetDevice(r));
    GWSIM_CUDA_CHECK(cudaStreamCreate(&streams[r]));
    GWSIM_CUDA_CHECK(cudaMalloc(&send[r], max_bytes));
    GWSIM_CUDA_CHECK(cudaMalloc(&recv[r], max_bytes));
    GWSIM_CUDA_CHECK(cudaMemset(send[r], 0x3c, max_bytes));  // bf16 ~1.0: finite, non-zero
  }
  const CollInfo colls[] = {{Coll::all_reduce, "nccl_all_reduce"},
                            {Coll::all_gather, "nccl_all_gather"},
                            {Coll::reduce_scatter, "nccl_reduce_scatter"},
                            {Coll::all_to_all, "nccl_all_to_all"},
                            {Coll::sendrecv, "nccl_sendrecv"}};
  std::vector<std::size_t> sizes;
  for (std::size_t b = std::size_t(1) << 20; b <= max_bytes; b *= 4) sizes.push_back(b);
  for (const auto& ci : colls) {
    double peak_bus = 0;
    for (const std::size_t bytes0 : sizes) {
      if (st.over_budget()) {
        st.skip(std::string(ci.op) + " " + std::to_string(bytes0), "stage time budget spent");
        continue;
      }
      const std::size_t unit = 2 * std::size_t(n) * 8;
      const std::size_t bytes = bytes0 / unit * unit;  // divisible per rank and per peer
      for (int w = 0; w < 3; ++w) launch(ci.c, n, bytes, comms, streams, send, recv);
      sync_all(n, streams);
      const int iters = bytes >= (std::size_t(256) << 20) ? 10 : 20;
      std::vector<double> times;
      for (int i = 0; i < iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        launch(ci.c, n, bytes, comms, streams, send, recv);
        sync_all(n, streams);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(times.begin(), times.end());
      Timing t;
      t.repeats = iters;
      t.min_s = times.front();
      t.median_s = times[times.size() / 2];
      const double algbw = bytes / t.median_s;
      const double busbw = algbw * bus_factor(ci.c, n);
      peak_bus = std::max(peak_bus, busbw);
      Record r;
      r.op = ci.op;
      r.variant = "nccl_single_process";
      r.check_key = "none";
      r.shape_json = JsonObject().integer("bytes", static_cast<long long>(bytes)).integer("ranks", n).close();
      r.t = t;
      r.bytes = double(bytes);
      r.extra_json = "\"algbw_gbs\": " + json_number(algbw / 1e9) + ", \"busbw_gbs\": " + json_number(busbw / 1e9);
      st.record(r);
    }
    char line[160];
    std::snprintf(line, sizeof line, "NCCL %-20s %d GPUs: peak busbw %.1f GB/s", ci.op, n, peak_bus / 1e9);
    st.summary(line);
  }
  for (int r = 0; r < n; ++r) {
    (void)cudaSetDevice(r);
    (void)cudaFree(send[r]);
    (void)cudaFree(recv[r]);
    (void)cudaStreamDestroy(streams[r]);
    (void)ncclCommDestroy(comms[r]);
  }
}

#else  // built without NCCL

std::string nccl_version_string() { return "none"; }

void stage_nccl(const Options& opt) {
  Stage st(opt, "nccl", 5);
  st.skip("nccl", "built without NCCL (nccl.h or libnccl not found at build time)");
  st.summary("NCCL skipped: not built");
}

#endif

}  // namespace gwsim::calib
