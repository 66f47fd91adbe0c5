// The two ceilings: device-to-device copy bandwidth and cuBLAS bf16 GEMM throughput on the
// projection shapes of DeepSeek-V3 and Llama 3.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "json_writer.h"
#include "ops.h"
#include "stages.h"

namespace gwsim::calib {

void stage_copy(const Options& opt) {
  Stage st(opt, "copy", opt.quick ? 8 : 20);
  std::vector<std::size_t> sizes = {std::size_t(64) << 20, std::size_t(256) << 20, std::size_t(1) << 30,
                                    std::size_t(4) << 30};
  if (opt.quick) sizes = {std::size_t(256) << 20, std::size_t(1) << 30};
  double best_gbps = 0;
  for (const std::size_t bytes : sizes) {
    if (st.over_budget()) {
      st.skip("copy " + std::to_string(bytes), "stage time budget spent");
      continue;
    }
    const int rot = st.rotations_for(2 * bytes);
    std::vector<DevBuf<unsigned char>> src, dst;
    for (int r = 0; r < rot; ++r) {
      src.emplace_back(bytes);
      dst.emplace_back(bytes);
      cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(src.back().get()), bytes / 2, 1000 + r, -1, 1, nullptr);
      cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(dst.back().get()), bytes / 2, 2000 + r, -1, 1, nullptr);
    }
    for (const std::string variant : {"kernel", "cudaMemcpy"}) {
      const Timing t = st.time(
          [&](int r) {
            if (variant == "kernel")
              cuda::copy_kernel(dst[r].get(), src[r].get(), bytes, nullptr);
            else
              GWSIM_CUDA_CHECK(cudaMemcpyAsync(dst[r].get(), src[r].get(), bytes, cudaMemcpyDeviceToDevice, nullptr));
          },
          rot, 0.1, 5, 50);
      Record rec;
      rec.op = "copy";
      rec.precision = "none";
      rec.variant = variant;
      rec.check_key = "copy/" + variant;
      rec.shape_json = JsonObject().integer("bytes", static_cast<long long>(bytes)).close();
      rec.t = t;
      rec.bytes = 2.0 * bytes;  // read + write
      st.record(rec);
      const double gbps = rec.bytes / t.median_s / 1e9;
      best_gbps = std::max(best_gbps, gbps);
      char line[160];
      std::snprintf(line, sizeof line, "copy %-10s %8.1f MiB  %8.1f GB/s (median %.3f ms)", variant.c_str(),
                    bytes / 1048576.0, gbps, t.median_s * 1e3);
      std::printf("  %s\n", line);
    }
  }
  st.put_value("copy_gbps", best_gbps);
  char line[128];
  std::snprintf(line, sizeof line, "COPY best %.1f GB/s (read+write bytes / median time)", best_gbps);
  st.summary(line);
}

namespace {
struct GemmShape {
  const char* name;
  int n, k;
};
}  // namespace

void stage_gemm(const Options& opt) {
  Stage st(opt, "gemm", opt.quick ? 12 : 50);
  std::vector<GemmShape> shapes = {{"dsv3.q_a", 1536, 7168},
                                   {"dsv3.q_b", 24576, 1536},
                                   {"dsv3.kv_a", 576, 7168},
                                   {"dsv3.kv_b", 32768, 512},
                                   {"dsv3.o", 7168, 16384},
                                   {"dsv3.dense_gate_up", 36864, 7168},
                                   {"dsv3.dense_down", 7168, 18432},
                                   {"dsv3.shared_gate_up", 4096, 7168},
                                   {"dsv3.shared_down", 7168, 2048},
                                   {"dsv3.router", 256, 7168},
                                   {"llama405b.qkv_tp8", 2304, 16384},
                                   {"llama405b.o_tp8", 16384, 2048},
                                   {"llama405b.gate_up_tp8", 13312, 16384},
                                   {"llama405b.down_tp8", 16384, 6656},
                                   {"llama8b.qkv", 6144, 4096},
                                   {"llama8b.o", 4096, 4096},
                                   {"llama8b.gate_up", 28672, 4096},
                                   {"llama8b.down", 4096, 14336}};
  std::vector<int> ms = {128, 512, 2048, 4096, 8192, 16384};
  if (opt.quick) {
    ms = {512, 4096};
    shapes.resize(9);
  }
  struct Point {
    std::string name;
    int m, n, k;
  };
  std::vector<Point> points;
  // Squares first: they give the machine's GEMM ceiling even if the budget runs out later.
  for (const int s : opt.quick ? std::vector<int>{8192} : std::vector<int>{4096, 8192, 16384})
    points.push_back({"square", s, s, s});
  for (const int m : ms)
    for (const auto& sh : shapes) points.push_back({sh.name, m, sh.n, sh.k});

  double best_tflops = 0;
  std::string best_what;
  for (const auto& p : points) {
    if (st.over_budget()) {
      st.skip("gemm " + p.name + " M=" + std::to_string(p.m), "stage time budget spent");
      continue;
    }
    try {
      const std::size_t set_bytes = 2 * (std::size_t(p.m) * p.k + std::size_t(p.n) * p.k + std::size_t(p.m) * p.n);
      const int rot = st.rotations_for(set_bytes);
      std::vector<DevBuf<std::uint16_t>> x, w, y;
      for (int r = 0; r < rot; ++r) {
        x.emplace_back(std::size_t(p.m) * p.k);
        w.emplace_back(std::size_t(p.n) * p.k);
        y.emplace_back(std::size_t(p.m) * p.n);
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(x.back().get()), x.back().size(), 3000 + r, -1, 1,
                                nullptr);
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(w.back().get()), w.back().size(), 4000 + r, -1, 1,
                                nullptr);
      }
      const Timing t = st.time(
          [&](int r) {
            cuda::gemm_bf16(st.cublas(), p.m, p.n, p.k, reinterpret_cast<cuda::bf16*>(x[r].get()), p.k,
                            reinterpret_cast<cuda::bf16*>(w[r].get()), reinterpret_cast<cuda::bf16*>(y[r].get()));
          },
          rot, 0.06, 3, 50);
      Record rec;
      rec.op = "gemm";
      rec.variant = "cublas";
      rec.shape_json = JsonObject().integer("M", p.m).integer("N", p.n).integer("K", p.k).str("name", p.name).close();
      rec.t = t;
      rec.flops = 2.0 * p.m * p.n * p.k;
      rec.bytes = static_cast<double>(set_bytes);
      st.record(rec);
      const double tflops = rec.flops / t.median_s / 1e12;
      if (tflops > best_tflops) {
        best_tflops = tflops;
        best_what = p.name + " " + std::to_string(p.m) + "x" + std::to_string(p.n) + "x" + std::to_string(p.k);
      }
      std::printf("  gemm %-24s M=%-6d N=%-6d K=%-6d %8.1f TFLOP/s\n", p.name.c_str(), p.m, p.n, p.k, tflops);
    } catch (const std::exception& e) {
      st.skip("gemm " + p.name + " M=" + std::to_string(p.m), e.what());
    }
  }
  st.put_value("gemm_tflops", best_tflops);
  char line[200];
  std::snprintf(line, sizeof line, "GEMM bf16 cuBLAS max %.1f TFLOP/s (%s)", best_tflops, best_what.c_str());
  st.summary(line);

  // FP8 E4M3 through cuBLASLt (per-tensor scales, bf16 out): the squares and the DeepSeek-V3
  // shapes, whose training and inference run their GEMMs in FP8.
  std::vector<Point> fp8_points;
  for (const auto& p : points)
    if (p.name == "square" || p.name.rfind("dsv3.", 0) == 0) fp8_points.push_back(p);
  double best8 = 0;
  std::string best8_what;
  try {
    cuda::Fp8Gemm fp8;
    DevBuf<float> scales(128);  // x scale at [0], w scale at [64]: 256-byte aligned pointers
    std::vector<float> sv(128, 1.0f / 256);
    scales.upload(sv);
    for (const auto& p : fp8_points) {
      if (st.over_budget()) {
        st.skip("gemm_fp8 " + p.name + " M=" + std::to_string(p.m), "stage time budget spent");
        continue;
      }
      try {
        const std::size_t set_bytes = std::size_t(p.m) * p.k + std::size_t(p.n) * p.k + 2 * std::size_t(p.m) * p.n;
        const int rot = st.rotations_for(set_bytes);
        std::vector<DevBuf<unsigned char>> x, w;
        std::vector<DevBuf<std::uint16_t>> y;
        DevBuf<std::uint16_t> tmp(std::max(std::size_t(p.m) * p.k, std::size_t(p.n) * p.k));
        auto* tb = reinterpret_cast<cuda::bf16*>(tmp.get());
        for (int r = 0; r < rot; ++r) {
          x.emplace_back(std::size_t(p.m) * p.k);
          w.emplace_back(std::size_t(p.n) * p.k);
          y.emplace_back(std::size_t(p.m) * p.n);
          cuda::fill_uniform_bf16(tb, std::size_t(p.m) * p.k, 3500 + r, -1, 1, nullptr);
          cuda::convert_bf16_to_fp8_e4m3(tb, x.back().get(), std::size_t(p.m) * p.k, 256.0f, nullptr);
          cuda::fill_uniform_bf16(tb, std::size_t(p.n) * p.k, 4500 + r, -1, 1, nullptr);
          cuda::convert_bf16_to_fp8_e4m3(tb, w.back().get(), std::size_t(p.n) * p.k, 256.0f, nullptr);
        }
        const Timing t = st.time(
            [&](int r) {
              fp8.run(p.m, p.n, p.k, x[r].get(), w[r].get(), scales.get(), scales.get() + 64,
                      reinterpret_cast<cuda::bf16*>(y[r].get()), nullptr);
            },
            rot, 0.04, 3, 50);
        Record rec;
        rec.op = "gemm";
        rec.precision = "fp8";
        rec.variant = "cublaslt_fp8_e4m3";
        rec.check_key = "gemm_fp8";
        rec.shape_json = JsonObject()
                             .integer("M", p.m)
                             .integer("N", p.n)
                             .integer("K", p.k)
                             .str("name", p.name)
                             .str("layout", "TN")
                             .str("out", "bf16")
                             .close();
        rec.t = t;
        rec.flops = 2.0 * p.m * p.n * p.k;
        rec.bytes = static_cast<double>(set_bytes);
        st.record(rec);
        const double tflops = rec.flops / t.median_s / 1e12;
        if (tflops > best8) {
          best8 = tflops;
          best8_what = p.name + " " + std::to_string(p.m) + "x" + std::to_string(p.n) + "x" + std::to_string(p.k);
        }
        std::printf("  gemm_fp8 %-20s M=%-6d N=%-6d K=%-6d %8.1f TFLOP/s\n", p.name.c_str(), p.m, p.n, p.k, tflops);
      } catch (const std::exception& e) {
        st.skip("gemm_fp8 " + p.name + " M=" + std::to_string(p.m), e.what());
      }
    }
  } catch (const std::exception& e) {
    st.skip("gemm_fp8", e.what());
  }
  std::snprintf(line, sizeof line, "GEMM fp8 cuBLASLt max %.1f TFLOP/s (%s)", best8, best8_what.c_str());
  st.summary(line);
}

}  // namespace gwsim::calib
