// MoE pieces: routing, dispatch permutation, combine, and the expert GEMMs (grouped over 256
// experts with uneven counts) next to a dense GEMM of the same FLOPs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "json_writer.h"
#include "ops.h"
#include "stages.h"

namespace gwsim::calib {

namespace {
constexpr int kExperts = 256, kTopK = 8, kHidden = 7168, kInter = 2048;
constexpr float kRoutedScaling = 2.5f;
}  // namespace

void stage_moe(const Options& opt) {
  Stage st(opt, "moe", opt.quick ? 6 : 15);
  const std::vector<int> token_counts = opt.quick ? std::vector<int>{4096} : std::vector<int>{1024, 4096, 16384};
  for (const int tokens : token_counts) {
    if (st.over_budget()) {
      st.skip("moe T=" + std::to_string(tokens), "stage time budget spent");
      continue;
    }
    try {
      const int assign = tokens * kTopK;
      DevBuf<float> logits(std::size_t(tokens) * kExperts), bias(kExperts), w(assign);
      DevBuf<int> idx(assign);
      cuda::fill_uniform_f32(logits.get(), logits.size(), 8001 + tokens, -4, 4, nullptr);
      cuda::fill_uniform_f32(bias.get(), bias.size(), 8002, -0.1f, 0.1f, nullptr);
      DevBuf<std::uint16_t> x(std::size_t(tokens) * kHidden), xp(std::size_t(assign) * kHidden),
          out(std::size_t(tokens) * kHidden);
      cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(x.get()), x.size(), 8003, -1, 1, nullptr);
      cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(xp.get()), xp.size(), 8004, -1, 1, nullptr);
      DevBuf<int> chunk(cuda::moe_permute_chunk_count(assign) * kExperts), cnt(kExperts), off(kExperts + 1), rt(assign),
          po(assign);
      const cuda::MoePermuteWorkspace ws{chunk.get(), cnt.get(), off.get(), rt.get(), po.get()};
      const std::string shape = JsonObject()
                                    .integer("tokens", tokens)
                                    .integer("experts", kExperts)
                                    .integer("top_k", kTopK)
                                    .integer("hidden", kHidden)
                                    .close();
      auto bf = [](DevBuf<std::uint16_t>& b) { return reinterpret_cast<cuda::bf16*>(b.get()); };

      Record g;
      g.op = "moe_gating";
      g.precision = "fp32";
      g.shape_json = shape;
      g.t = st.time(
          [&](int) { cuda::moe_gating(tokens, logits.get(), bias.get(), kRoutedScaling, idx.get(), w.get(), nullptr); },
          1, 0.03, 10, 200);
      g.bytes = double(tokens) * kExperts * 4 + kExperts * 4 + double(assign) * 8;
      st.record(g);

      Record p;
      p.op = "moe_permute";
      p.variant = "index+gather";
      p.shape_json = shape;
      p.t = st.time(
          [&](int) {
            cuda::moe_permute_index(tokens, kTopK, kExperts, idx.get(), ws, nullptr);
            cuda::moe_gather(assign, kHidden, bf(x), rt.get(), bf(xp), nullptr);
          },
          1, 0.05, 10, 200);
      p.bytes = double(tokens) * kHidden * 2 + double(assign) * kHidden * 2 + double(assign) * 4 * 3;
      st.record(p);

      Record c;
      c.op = "moe_combine";
      c.shape_json = shape;
      c.t =
          st.time([&](int) { cuda::moe_combine(tokens, kTopK, kHidden, bf(xp), po.get(), w.get(), bf(out), nullptr); },
                  1, 0.05, 10, 200);
      c.bytes = double(assign) * kHidden * 2 + double(tokens) * kHidden * 2 + double(assign) * 8;
      st.record(c);

      char line[220];
      std::snprintf(line, sizeof line,
                    "MoE T=%-5d gating %7.1f us | permute %7.1f us (%6.0f GB/s) | combine %7.1f us (%6.0f GB/s)",
                    tokens, g.t.median_s * 1e6, p.t.median_s * 1e6, p.bytes / p.t.median_s / 1e9, c.t.median_s * 1e6,
                    c.bytes / c.t.median_s / 1e9);
      st.summary(line);
    } catch (const std::exception& e) {
      st.skip("moe T=" + std::to_string(tokens), e.what());
    }
  }
}

std::vector<int> uneven_expert_counts(int tokens, std::uint64_t seed) {
  // Expert popularity drawn log-normally (sigma 0.5: the busiest experts get ~3x the mean),
  // then tokens*top_k assignments sampled from it: uneven like real routing.
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 0.5);
  std::vector<double> weight(kExperts);
  for (auto& v : weight) v = std::exp(nd(rng));
  std::discrete_distribution<int> pick(weight.begin(), weight.end());
  std::vector<int> counts(kExperts, 0);
  for (int a = 0; a < tokens * kTopK; ++a) ++counts[pick(rng)];
  return counts;
}

void stage_grouped_gemm(const Options& opt) {
  Stage st(opt, "grouped_gemm", opt.quick ? 15 : 45);
  const double copy_gbps = st.get_value("copy_gbps", 0.0);
  using StreamPoolPtr = std::unique_ptr<cuda::StreamPool>;
  const StreamPoolPtr pool4 = std::make_unique<cuda::StreamPool>(4), pool8 = std::make_unique<cuda::StreamPool>(8);
  const std::vector<int> token_counts = opt.quick ? std::vector<int>{4096} : std::vector<int>{1024, 4096, 16384};
  // All 256 experts' weights, as one GPU holding every expert would (22.5 GB in bf16).
  DevBuf<std::uint16_t> w_gu(std::size_t(kExperts) * 2 * kInter * kHidden),
      w_down(std::size_t(kExperts) * kHidden * kInter);
  cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(w_gu.get()), w_gu.size(), 9001, -0.05f, 0.05f, nullptr);
  cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(w_down.get()), w_down.size(), 9002, -0.05f, 0.05f, nullptr);
  struct Proj {
    const char* name;
    int n, k;
    const DevBuf<std::uint16_t>* w;
  };
  const Proj projs[2] = {{"gate_up", 2 * kInter, kHidden, &w_gu}, {"down", kHidden, kInter, &w_down}};
  for (const int tokens : token_counts) {
    const std::vector<int> counts = uneven_expert_counts(tokens, 9100 + tokens);
    const int rows = tokens * kTopK;
    const int max_count = *std::max_element(counts.begin(), counts.end());
    const int active = static_cast<int>(std::count_if(counts.begin(), counts.end(), [](int c) { return c > 0; }));
    for (const auto& pr : projs) {
      const std::string what = std::string("grouped_gemm ") + pr.name + " T=" + std::to_string(tokens);
      if (st.over_budget()) {
        st.skip(what, "stage time budget spent");
        continue;
      }
      try {
        DevBuf<std::uint16_t> x(std::size_t(rows) * pr.k), y(std::size_t(rows) * pr.n);
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(x.get()), x.size(), 9200 + tokens, -1, 1, nullptr);
        auto* xb = reinterpret_cast<cuda::bf16*>(x.get());
        auto* yb = reinterpret_cast<cuda::bf16*>(y.get());
        const cuda::GroupedGemmPlan plan(counts, pr.n, pr.k, xb, reinterpret_cast<const cuda::bf16*>(pr.w->get()), yb);
        const double flops = 2.0 * rows * double(pr.n) * pr.k;
        const double bytes = 2.0 * (double(active) * pr.n * pr.k + double(rows) * pr.k + double(rows) * pr.n);
        // Dense GEMM of the same FLOPs (one expert's weight, all rows): the ceiling to compare with.
        const Timing dense = st.time(
            [&](int) {
              cuda::gemm_bf16(st.cublas(), rows, pr.n, pr.k, xb, pr.k, reinterpret_cast<const cuda::bf16*>(pr.w->get()),
                              yb);
            },
            1, 0.05, 3, 30);
        const std::string shape = JsonObject()
                                      .integer("tokens", tokens)
                                      .integer("experts", kExperts)
                                      .integer("top_k", kTopK)
                                      .integer("rows", rows)
                                      .integer("N", pr.n)
                                      .integer("K", pr.k)
                                      .integer("active_experts", active)
                                      .integer("max_rows_per_expert", max_count)
                                      .str("proj", pr.name)
                                      .close();
        {
          Record d;
          d.op = "gemm";
          d.variant = "cublas_dense_same_flops";
          d.shape_json = JsonObject()
                             .integer("M", rows)
                             .integer("N", pr.n)
                             .integer("K", pr.k)
                             .str("name", std::string("dsv3.moe_") + pr.name + "_dense_equiv")
                             .close();
          d.t = dense;
          d.flops = flops;
          d.bytes = 2.0 * (double(rows) * pr.k + double(pr.n) * pr.k + double(rows) * pr.n);
          st.record(d);
        }
        // The expert weights must be read once whatever the kernel: at tokens*top_k/256 rows per
        // expert the grouped GEMM is bandwidth-bound below ~180 rows (the H200's bf16 ridge), so
        // the best it can do is max(FLOP time at the dense rate, bytes at the copy bandwidth).
        const double floor_s = std::max(dense.median_s, copy_gbps > 0 ? bytes / (copy_gbps * 1e9) : 0.0);
        for (const std::string variant : {"cublas_grouped", "cublas_loop", "cublas_streams4", "cublas_streams8"}) try {
            const StreamPoolPtr& pool = variant == "cublas_streams4" ? pool4 : pool8;
            const Timing t = st.time(
                [&](int) {
                  if (variant == "cublas_grouped")
                    plan.run_grouped(st.cublas());
                  else if (variant == "cublas_loop")
                    plan.run_loop(st.cublas());
                  else
                    plan.run_streams(*pool, nullptr);
                },
                1, 0.05, 3, 30);
            Record r;
            r.op = "grouped_gemm";
            r.variant = variant;
            r.check_key =
                variant.rfind("cublas_streams", 0) == 0 ? "grouped_gemm/cublas_streams" : "grouped_gemm/" + variant;
            r.shape_json = shape;
            r.t = t;
            r.flops = flops;
            r.bytes = bytes;
            r.extra_json =
                "\"dense_same_flops_s\": " + json_number(dense.median_s) + ", \"floor_s\": " + json_number(floor_s);
            st.record(r);
            char line[220];
            std::snprintf(line, sizeof line,
                          "GROUPED %-7s T=%-5d %-15s %7.1f TFLOP/s = %5.1f%% of dense (%.1f TFLOP/s; bandwidth cap "
                          "%3.0f%%); target >= 60%%",
                          pr.name, tokens, variant.c_str(), flops / t.median_s / 1e12,
                          100.0 * dense.median_s / t.median_s, flops / dense.median_s / 1e12,
                          100.0 * dense.median_s / floor_s);
            st.summary(line);
          } catch (const std::exception& e) {
            st.skip(what + " " + variant, e.what());
          }
      } catch (const std::exception& e) {
        st.skip(what, e.what());
      }
    }
  }
}

}  // namespace gwsim::calib

namespace gwsim::calib {

// FP8 grouped GEMM with DeepSeek-V3 block scaling (1 x 128 activation tiles, 128 x 128 weight
// blocks, FP32 promotion every 128-wide K block), 8 of 256 experts per token, uneven routing as in
// stage_grouped_gemm; next to cuBLASLt's per-tensor-scaled FP8 GEMM of the same FLOPs. Kernels
// whose check did not pass are not timed (a fault would end this stage's process).
void stage_grouped_gemm_fp8(const Options& opt) {
  Stage st(opt, "grouped_gemm_fp8", opt.quick ? 15 : 40);
  const double copy_gbps = st.get_value("copy_gbps", 0.0);
  std::vector<cuda::Fp8GroupedKernel> kernels;
  for (const auto k : {cuda::Fp8GroupedKernel::kMmaSync, cuda::Fp8GroupedKernel::kWgmma}) {
    const std::string name = cuda::fp8_grouped_variant_name(k);
    if (st.check_passed("grouped_gemm_fp8/" + name))
      kernels.push_back(k);
    else
      st.skip("grouped_gemm_fp8 " + name, "its check did not pass (or did not run)");
  }
  if (kernels.empty()) return;
  const std::vector<int> token_counts = opt.quick ? std::vector<int>{4096} : std::vector<int>{4096, 16384};
  struct Proj {
    const char* name;
    int n, k;
    DevBuf<std::uint8_t> wq;
    DevBuf<float> ws;
  };
  Proj projs[2] = {{"gate_up", 2 * kInter, kHidden, {}, {}}, {"down", kHidden, kInter, {}, {}}};
  // All 256 experts' weights in e4m3 (11.3 GB), quantised on the GPU from random bf16.
  for (auto& pr : projs) {
    pr.wq = DevBuf<std::uint8_t>(std::size_t(kExperts) * pr.n * pr.k);
    pr.ws = DevBuf<float>(std::size_t(kExperts) * (pr.n / 128) * (pr.k / 128));
    DevBuf<std::uint16_t> w(pr.wq.size());
    cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(w.get()), w.size(), 9301 + pr.n, -0.05f, 0.05f, nullptr);
    cuda::quantize_fp8_128x128(reinterpret_cast<const cuda::bf16*>(w.get()), kExperts, pr.n, pr.k, pr.wq.get(),
                               pr.ws.get(), nullptr);
    GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  }
  // Per-tensor scales for the dense cuBLASLt baseline, each in its own 256-byte-aligned slot.
  DevBuf<float> unit_scales(128);
  {
    std::vector<float> sv(128, 0.0f);
    sv[0] = sv[64] = 1.0f;
    unit_scales.upload(sv);
  }
  cuda::Fp8Gemm dense_fp8;
  for (const int tokens : token_counts) {
    const std::vector<int> counts = uneven_expert_counts(tokens, 9100 + tokens);  // the bf16 stage's routing
    const int rows = tokens * kTopK;
    const int max_count = *std::max_element(counts.begin(), counts.end());
    const int active = static_cast<int>(std::count_if(counts.begin(), counts.end(), [](int c) { return c > 0; }));
    for (auto& pr : projs) {
      const std::string what = std::string("grouped_gemm_fp8 ") + pr.name + " T=" + std::to_string(tokens);
      if (st.over_budget()) {
        st.skip(what, "stage time budget spent");
        continue;
      }
      try {
        const int kb = pr.k / 128;
        DevBuf<std::uint16_t> x(std::size_t(rows) * pr.k), y(std::size_t(rows) * pr.n);
        DevBuf<std::uint8_t> xq(x.size());
        DevBuf<float> xs(std::size_t(rows) * kb);
        auto* xb = reinterpret_cast<cuda::bf16*>(x.get());
        auto* yb = reinterpret_cast<cuda::bf16*>(y.get());
        cuda::fill_uniform_bf16(xb, x.size(), 9400 + tokens, -1, 1, nullptr);
        // The activation quantisation a layer would run before the GEMM: timed, reported apart.
        const Timing quant =
            st.time([&](int) { cuda::quantize_fp8_row_blocks(xb, rows, pr.k, 128, xq.get(), xs.get(), nullptr); }, 1,
                    0.02, 3, 30);
        const cuda::Fp8GroupedGemmPlan plan(counts, pr.n, pr.k);
        const double flops = 2.0 * rows * double(pr.n) * pr.k;
        const double bytes = double(active) * pr.n * pr.k + double(active) * (pr.n / 128) * kb * 4 +
                             double(rows) * pr.k + double(rows) * kb * 4 + 2.0 * double(rows) * pr.n;
        // Dense FP8 GEMM of the same FLOPs (cuBLASLt, per-tensor scales, expert 0's weight).
        const Timing dense = st.time(
            [&](int) {
              dense_fp8.run(rows, pr.n, pr.k, xq.get(), pr.wq.get(), unit_scales.get(), unit_scales.get() + 64, yb,
                            nullptr);
            },
            1, 0.05, 3, 30);
        {
          Record d;
          d.op = "gemm";
          d.precision = "fp8";
          d.variant = "cublaslt_fp8_e4m3";
          d.check_key = "gemm_fp8";
          d.shape_json = JsonObject()
                             .integer("M", rows)
                             .integer("N", pr.n)
                             .integer("K", pr.k)
                             .str("name", std::string("dsv3.moe_") + pr.name + "_dense_equiv_fp8")
                             .close();
          d.t = dense;
          d.flops = flops;
          d.bytes = double(rows) * pr.k + double(pr.n) * pr.k + 2.0 * double(rows) * pr.n;
          st.record(d);
        }
        const double floor_s = std::max(dense.median_s, copy_gbps > 0 ? bytes / (copy_gbps * 1e9) : 0.0);
        const std::string shape = JsonObject()
                                      .integer("tokens", tokens)
                                      .integer("experts", kExperts)
                                      .integer("top_k", kTopK)
                                      .integer("rows", rows)
                                      .integer("N", pr.n)
                                      .integer("K", pr.k)
                                      .integer("active_experts", active)
                                      .integer("max_rows_per_expert", max_count)
                                      .str("proj", pr.name)
                                      .integer("act_scale_block", 128)
                                      .integer("weight_scale_block", 128)
                                      .close();
        for (const auto kernel : kernels) {
          const std::string vname = cuda::fp8_grouped_variant_name(kernel);
          try {
            const Timing t =
                st.time([&](int) { plan.run(xq.get(), xs.get(), pr.wq.get(), pr.ws.get(), yb, nullptr, kernel); }, 1,
                        0.05, 3, 30);
            Record r;
            r.op = "grouped_gemm";
            r.precision = "fp8";
            r.variant = vname;
            r.check_key = "grouped_gemm_fp8/" + vname;
            r.shape_json = shape;
            r.t = t;
            r.flops = flops;
            r.bytes = bytes;
            char notes[240];
            std::snprintf(notes, sizeof notes,
                          "e4m3 x e4m3, fp32 promotion every 128-wide K block; activation quantisation (bf16 -> e4m3 + "
                          "1x128 scales) %.1f us median, not included in median_s",
                          quant.median_s * 1e6);
            r.extra_json = "\"dense_same_flops_s\": " + json_number(dense.median_s) +
                           ", \"floor_s\": " + json_number(floor_s) + ", \"notes\": " + json_escape(notes);
            st.record(r);
            char line[260];
            std::snprintf(
                line, sizeof line,
                "GROUPED FP8 %-7s T=%-5d %-21s %7.1f TFLOP/s = %5.1f%% of dense FP8 (cuBLASLt %.1f TFLOP/s; bandwidth "
                "cap %3.0f%%); act quant %.0f us",
                pr.name, tokens, vname.c_str(), flops / t.median_s / 1e12, 100.0 * dense.median_s / t.median_s,
                flops / dense.median_s / 1e12, 100.0 * dense.median_s / floor_s, quant.median_s * 1e6);
            st.summary(line);
          } catch (const std::exception& e) {
            st.skip(what + " " + vname, e.what());
          }
        }
      } catch (const std::exception& e) {
        st.skip(what, e.what());
      }
    }
  }
}

}  // namespace gwsim::calib
