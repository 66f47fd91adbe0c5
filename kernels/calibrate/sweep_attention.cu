// MLA decode over the paged latent cache and causal prefill attention (MLA and GQA shapes).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "json_writer.h"
#include "ops.h"
#include "stages.h"

namespace gwsim::calib {

namespace {

// M = N of the cuBLAS GEMM that stands in for an MLA decode point's FLOPs.
constexpr int kDenseMN = 4096;

// One MLA decode point: `batch` sequences of `kv` cached tokens each, `heads` query heads on this GPU.
struct MlaPoint {
  int batch = 0, kv = 0, heads = 0;
  bool operator==(const MlaPoint& o) const { return batch == o.batch && kv == o.kv && heads == o.heads; }
  std::string name() const {
    return "b=" + std::to_string(batch) + " kv=" + std::to_string(kv) + " h=" + std::to_string(heads);
  }
  // Absorbed form, per head and cached token: S = q k^T over 576 dims, then O += p v over 512.
  double flops() const { return 2.0 * batch * heads * double(kv) * (cuda::kMlaDim + cuda::kMlaLatent); }
  // K of a 4096 x 4096 GEMM of about these FLOPs: the nearest multiple of 64, at least 64.
  int dense_k() const {
    return 64 * static_cast<int>(std::max(1L, std::lround(flops() / (2.0 * kDenseMN * kDenseMN * 64))));
  }
};

// The compute side of an MLA decode point's roofline cap: a cuBLAS bf16 GEMM (M = N = 4096) of
// about the point's FLOPs. Its own FLOP/s is what the tensor cores sustain on that much work,
// wave tails and launch included, so a decode kernel doing the same FLOPs cannot expect more.
// Timed once per K (points with the same batch x heads x kv share it) and recorded as
// gemm / cublas_dense_same_flops, as the grouped-GEMM stage records its dense ceiling.
class DenseSameFlops {
 public:
  DenseSameFlops(Stage& st, int max_k)
      : st_(st),
        x_(std::size_t(kDenseMN) * max_k),
        w_(std::size_t(kDenseMN) * max_k),
        y_(std::size_t(kDenseMN) * kDenseMN) {
    cuda::fill_uniform_bf16(bf(x_), x_.size(), 5101, -1, 1, nullptr);
    cuda::fill_uniform_bf16(bf(w_), w_.size(), 5102, -1, 1, nullptr);
  }
  // The K-deep GEMM's FLOP/s: its own FLOPs over its median time. k <= max_k.
  double rate(int k) {
    if (const auto it = rate_.find(k); it != rate_.end()) return it->second;
    Record d;
    d.op = "gemm";
    d.variant = "cublas_dense_same_flops";
    d.shape_json = JsonObject()
                       .integer("M", kDenseMN)
                       .integer("N", kDenseMN)
                       .integer("K", k)
                       .str("name", "dsv3.mla_decode_dense_equiv")
                       .close();
    d.t = st_.time([&](int) { cuda::gemm_bf16(st_.cublas(), kDenseMN, kDenseMN, k, bf(x_), k, bf(w_), bf(y_)); }, 1,
                   0.05, 3, 30);
    d.flops = 2.0 * kDenseMN * double(kDenseMN) * k;
    d.bytes = 2.0 * (2.0 * kDenseMN * double(k) + double(kDenseMN) * kDenseMN);
    st_.record(d);
    return rate_[k] = d.flops / d.t.median_s;
  }

 private:
  static cuda::bf16* bf(const DevBuf<std::uint16_t>& b) { return reinterpret_cast<cuda::bf16*>(b.get()); }
  Stage& st_;
  DevBuf<std::uint16_t> x_, w_, y_;
  std::map<int, double> rate_;
};

// A kernel time against its point's cap, floor_s = max(mem_s, dense_s): the cache, q and out
// bytes at the copy rate, the FLOPs at the dense GEMM's rate. A term is 0 when its rate is
// unknown, and the text says so rather than print a 0 % that reads like a measurement.
std::string cap_text(double t_s, double mem_s, double dense_s) {
  const double floor_s = std::max(mem_s, dense_s);
  if (floor_s <= 0) return "no cap: copy rate and dense GEMM rate both missing";
  char buf[160];
  if (mem_s > 0)
    std::snprintf(buf, sizeof buf, "cap %3.0f%% of copy, kernel at %3.0f%% of cap%s", 100.0 * mem_s / floor_s,
                  100.0 * floor_s / t_s, dense_s > 0 ? "" : " (no dense GEMM rate: bandwidth term only)");
  else
    std::snprintf(buf, sizeof buf, "kernel at %3.0f%% of cap (copy rate missing: FLOP term only)",
                  100.0 * floor_s / t_s);
  return buf;
}

}  // namespace

void stage_mla_decode(const Options& opt) {
  Stage st(opt, "mla_decode", opt.quick ? 8 : 25);
  // The copy stage's best rate, the bandwidth side of every cap. 0 when copy did not run (main.cpp
  // adds it to --only for this stage); the lines below then say the copy rate is missing.
  const double copy_gbps = st.get_value("copy_gbps", 0.0);
  // Heads on one GPU. 128: DeepSeek-V3 with data-parallel attention, ~242 FLOP per cache byte,
  // above the H200's bf16 ridge (~206 FLOP/B): compute-bound. 64: tensor-parallel-2 attention,
  // ~121 FLOP/B: memory-bound. Every kernel works in 64-row head tiles (heads % 64 == 0), so 16 or
  // 32 heads (TP 8, TP 4) would be padded to 64 rows and cost what 64 heads cost: not swept.
  // The checks run at 128 heads; a CTA's code does not depend on heads (the grid has heads / 64
  // CTAs per sequence and split), so they vouch for 64 heads too.
  // The two headline points first, so the budget cannot skip them; then the 128-head grid; then
  // 64 heads at the larger batches and caches (quick mode: the headline only).
  std::vector<MlaPoint> points = {{64, 4096, 128}, {64, 4096, 64}};
  const auto add = [&points](const MlaPoint& p) {
    if (std::find(points.begin(), points.end(), p) == points.end()) points.push_back(p);
  };
  const std::vector<int> batches = opt.quick ? std::vector<int>{16, 64} : std::vector<int>{1, 16, 64, 128};
  const std::vector<int> kvs = opt.quick ? std::vector<int>{4096} : std::vector<int>{1024, 4096, 8192};
  for (const int b : batches)
    for (const int kv : kvs) add({b, kv, 128});
  if (!opt.quick)
    for (const int b : {64, 128})
      for (const int kv : {4096, 8192}) add({b, kv, 64});
  // The reference mma.sync kernel, then the wgmma kernels whose checks passed in the checks
  // stage (an unchecked Hopper kernel is not timed: a fault would end this stage's process).
  std::vector<cuda::MlaDecodeKernel> kernels = {cuda::MlaDecodeKernel::kMmaSync};
  for (const auto k : {cuda::MlaDecodeKernel::kWgmma, cuda::MlaDecodeKernel::kWgmmaPipe,
                       cuda::MlaDecodeKernel::kWgmmaN64, cuda::MlaDecodeKernel::kWgmmaWs}) {
    const std::string key = std::string("mla_decode/") + cuda::mla_decode_variant_name(k);
    if (st.check_passed(key))
      kernels.push_back(k);
    else
      st.skip("mla_decode " + std::string(cuda::mla_decode_variant_name(k)), "its check did not pass (or did not run)");
  }
  // The FP8-cache kernel (e4m3 latent + rope, a float scale per token per 64 channels), timed in
  // a second pass after every bf16 point, at 128 heads only, and only when its check passed.
  const bool fp8_ok = st.check_passed("mla_decode_fp8kv");
  if (!fp8_ok) st.skip("mla_decode split_kv_mma_fp8kv", "its check did not pass (or did not run)");
  const std::string fp8_vname = "split_kv_mma_fp8kv";
  // The dense GEMMs' operands, sized once for the deepest K any point needs (~180 MB at K = 8704).
  int max_k = 64;
  for (const auto& p : points) max_k = std::max(max_k, p.dense_k());
  std::optional<DenseSameFlops> dense;
  try {
    dense.emplace(st, max_k);
  } catch (const std::exception& e) {
    st.skip("mla_decode dense-GEMM caps", e.what());
  }
  // The batch 64, kv 4096 results for the summary, per heads (128 first) and variant.
  struct Headline {
    double t_s = 0, gbps = 0, mem_s = 0, dense_s = 0, dense_rate = 0;
  };
  std::map<int, std::map<std::string, Headline>, std::greater<int>> headline;
  for (int pass = 0; pass < (fp8_ok ? 2 : 1); ++pass)
    for (const auto& point : points) {
      const bool fp8 = pass == 1;
      if (fp8 && point.heads != 128) continue;
      const int batch = point.batch, kv = point.kv, heads = point.heads;
      const std::string what = std::string("mla_decode ") + (fp8 ? "fp8 cache " : "") + point.name();
      if (st.over_budget()) {
        st.skip(what, "stage time budget spent");
        continue;
      }
      try {
        // The point's dense rate (FLOP/s; 0 when unknown). The FP8 pass reuses the bf16 pass's:
        // that kernel dequantises to bf16 and does the same bf16 math.
        double dense_rate = 0;
        try {
          if (dense) dense_rate = dense->rate(point.dense_k());
        } catch (const std::exception& e) {
          st.skip(what + " dense-GEMM cap", e.what());
        }
        const int pages_per_seq = (kv + cuda::kMlaPage - 1) / cuda::kMlaPage;
        const double row_bytes = fp8 ? cuda::kMlaDim + cuda::kMlaKvScales * 4.0 : cuda::kMlaDim * 2.0;
        const std::size_t cache_bytes = std::size_t(double(batch) * pages_per_seq * cuda::kMlaPage * row_bytes);
        const int rot = st.rotations_for(cache_bytes);
        const int total_pages = rot * batch * pages_per_seq;
        const std::size_t cache_rows = std::size_t(total_pages) * cuda::kMlaPage;
        DevBuf<std::uint16_t> cache(fp8 ? 0 : cache_rows * cuda::kMlaDim);
        DevBuf<std::uint8_t> cache_fp8(fp8 ? cache_rows * cuda::kMlaDim : 0);
        DevBuf<float> cache_scales(fp8 ? cache_rows * cuda::kMlaKvScales : 0);
        if (fp8) {  // the same random cache, quantised on the GPU
          DevBuf<std::uint16_t> tmp(cache_rows * cuda::kMlaDim);
          cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(tmp.get()), tmp.size(), 5000 + batch + kv, -1, 1,
                                  nullptr);
          cuda::quantize_fp8_row_blocks(reinterpret_cast<const cuda::bf16*>(tmp.get()), static_cast<int>(cache_rows),
                                        cuda::kMlaDim, cuda::kMlaKvScaleBlock, cache_fp8.get(), cache_scales.get(),
                                        nullptr);
          GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
        } else {
          cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(cache.get()), cache.size(), 5000 + batch + kv, -1, 1,
                                  nullptr);
        }
        // Pages scattered as a real allocator would leave them: a random permutation.
        std::vector<int> perm(total_pages);
        std::iota(perm.begin(), perm.end(), 0);
        std::mt19937 rng(static_cast<unsigned>(batch * 7919 + kv));
        std::shuffle(perm.begin(), perm.end(), rng);
        DevBuf<int> table(perm.size());
        table.upload(perm);  // rotation r uses rows [r*batch, (r+1)*batch) of this table
        DevBuf<int> lens(batch);
        lens.upload(std::vector<int>(batch, kv));
        std::vector<DevBuf<std::uint16_t>> q, out;
        for (int r = 0; r < rot; ++r) {
          q.emplace_back(std::size_t(batch) * heads * cuda::kMlaDim);
          out.emplace_back(std::size_t(batch) * heads * cuda::kMlaLatent);
          cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(q.back().get()), q.back().size(), 6000 + r, -1, 1,
                                  nullptr);
        }
        cuda::MlaDecodeConfig c;
        c.batch = batch;
        c.heads = heads;
        c.max_pages = pages_per_seq;
        c.max_seq_len = kv;
        c.num_sms = st.prop().multiProcessorCount;
        c.softmax_scale = 1.0f / std::sqrt(192.0f);
        DevBuf<unsigned char> ws(std::max<std::size_t>(16, cuda::mla_decode_workspace_bytes(c)));
        const std::vector<cuda::MlaDecodeKernel> pass_kernels =
            fp8 ? std::vector<cuda::MlaDecodeKernel>{cuda::MlaDecodeKernel::kMmaSync} : kernels;
        for (const auto kernel : pass_kernels) {
          const std::string vname = fp8 ? fp8_vname : cuda::mla_decode_variant_name(kernel);
          const Timing t = st.time(
              [&](int r) {
                const int* tab = table.get() + std::size_t(r) * batch * pages_per_seq;
                if (fp8)
                  cuda::mla_decode_fp8kv(c, reinterpret_cast<cuda::bf16*>(q[r].get()), cache_fp8.get(),
                                         cache_scales.get(), tab, lens.get(),
                                         reinterpret_cast<cuda::bf16*>(out[r].get()), ws.get(), nullptr);
                else
                  cuda::mla_decode(c, reinterpret_cast<cuda::bf16*>(q[r].get()),
                                   reinterpret_cast<cuda::bf16*>(cache.get()), tab, lens.get(),
                                   reinterpret_cast<cuda::bf16*>(out[r].get()), ws.get(), nullptr, kernel);
              },
              rot, 0.08, 5, 100);
          Record rec;
          rec.op = "mla_decode";
          rec.precision = fp8 ? "fp8" : "bf16";
          rec.variant = vname;
          rec.check_key = fp8                                         ? "mla_decode_fp8kv"
                          : kernel == cuda::MlaDecodeKernel::kMmaSync ? "mla_decode"
                                                                      : "mla_decode/" + vname;
          const int splits = cuda::mla_decode_num_splits(c);
          JsonObject shape;
          shape.integer("batch", batch)
              .integer("kv_len", kv)
              .integer("heads", heads)
              .integer("kv_lora_rank", cuda::kMlaLatent)
              .integer("rope_dim", cuda::kMlaRope)
              .integer("page_size", cuda::kMlaPage)
              .integer("splits", splits);
          if (fp8) shape.integer("kv_scale_block", cuda::kMlaKvScaleBlock);
          rec.shape_json = shape.close();
          rec.t = t;
          rec.flops = point.flops();
          // Cache bytes as stored (e4m3 + the scales for the FP8 cache); q and out in bf16.
          rec.bytes = double(batch) * kv * row_bytes + double(batch) * heads * (cuda::kMlaDim + cuda::kMlaLatent) * 2;
          // The roofline cap: the bytes at the copy rate or the FLOPs at the dense GEMM's rate,
          // whichever takes longer; a term whose rate is unknown drops out.
          const double mem_s = copy_gbps > 0 ? rec.bytes / (copy_gbps * 1e9) : 0.0;
          const double dense_s = dense_rate > 0 ? rec.flops / dense_rate : 0.0;
          const double floor_s = std::max(mem_s, dense_s);
          if (dense_s > 0) rec.extra_json = "\"dense_same_flops_s\": " + json_number(dense_s);
          if (floor_s > 0)
            rec.extra_json +=
                (rec.extra_json.empty() ? "" : ", ") + std::string("\"floor_s\": ") + json_number(floor_s);
          st.record(rec);
          const double gbps = rec.bytes / t.median_s / 1e9;
          if (batch == 64 && kv == 4096) headline[heads][vname] = {t.median_s, gbps, mem_s, dense_s, dense_rate};
          std::printf("  mla_decode %-19s b=%-4d kv=%-5d h=%-3d splits=%-3d %8.1f us %8.1f GB/s %7.1f TFLOP/s | %s\n",
                      vname.c_str(), batch, kv, heads, splits, t.median_s * 1e6, gbps, rec.flops / t.median_s / 1e12,
                      cap_text(t.median_s, mem_s, dense_s).c_str());
        }
      } catch (const std::exception& e) {
        st.skip(what, e.what());
      }
    }
  for (const auto& [heads, variants] : headline)
    for (const auto& [vname, h] : variants) {
      char copy_part[96], dense_part[64], line[400];
      if (copy_gbps > 0)
        std::snprintf(copy_part, sizeof copy_part, " = %3.0f%% of copy (%.1f GB/s)", 100.0 * h.gbps / copy_gbps,
                      copy_gbps);
      else
        std::snprintf(copy_part, sizeof copy_part,
                      ", %% of copy unknown: COPY RATE MISSING (the copy stage did not run)");
      if (h.dense_rate > 0)
        std::snprintf(dense_part, sizeof dense_part, "dense %.1f TFLOP/s", h.dense_rate / 1e12);
      else
        std::snprintf(dense_part, sizeof dense_part, "dense GEMM rate missing");
      std::snprintf(line, sizeof line,
                    "MLA decode b=64 kv=4096 h=%-3d %-19s: %7.1f GB/s%s; %s (%s); target >= 70%% of copy", heads,
                    vname.c_str(), h.gbps, copy_part, cap_text(h.t_s, h.mem_s, h.dense_s).c_str(), dense_part);
      st.summary(line);
    }
  // FP8 against bf16 cache, both on the mma.sync kernel, at 128 heads.
  const auto& h128 = headline[128];
  const auto bf16_mma = h128.find(cuda::mla_decode_variant_name(cuda::MlaDecodeKernel::kMmaSync));
  const auto fp8_mma = h128.find(fp8_vname);
  if (bf16_mma != h128.end() && fp8_mma != h128.end()) {
    char line[220];
    std::snprintf(line, sizeof line,
                  "MLA decode b=64 kv=4096 h=128 FP8 cache %s %.1f us vs bf16 cache %s %.1f us (%.2fx)",
                  fp8_vname.c_str(), fp8_mma->second.t_s * 1e6, bf16_mma->first.c_str(), bf16_mma->second.t_s * 1e6,
                  bf16_mma->second.t_s / fp8_mma->second.t_s);
    st.summary(line);
  }
}

namespace {

// One timed prefill point; returns achieved TFLOP/s.
double prefill_point(Stage& st, const std::string& model, int tokens, int heads, int kv_heads, int d_rope) {
  const int d_qk = 128 + d_rope, dv = 128;
  const bool mla = d_rope > 0;
  // Buffers laid out as the projection GEMMs write them (see checks.cu and layers.cu).
  const std::size_t q_elems = std::size_t(tokens) * heads * d_qk;
  const std::size_t kv_elems = mla ? std::size_t(tokens) * heads * 256 : std::size_t(tokens) * kv_heads * 256;
  const std::size_t rope_elems = mla ? std::size_t(tokens) * 576 : 8;
  DevBuf<std::uint16_t> q(q_elems), kv(kv_elems), kr(rope_elems), out(std::size_t(tokens) * heads * dv);
  cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(q.get()), q.size(), 7001, -1, 1, nullptr);
  cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(kv.get()), kv.size(), 7002, -1, 1, nullptr);
  cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(kr.get()), kr.size(), 7003, -1, 1, nullptr);
  cuda::AttentionPrefillArgs a;
  a.tokens = tokens;
  a.heads = heads;
  a.heads_per_kv = heads / kv_heads;
  a.d_rope = d_rope;
  a.q = reinterpret_cast<cuda::bf16*>(q.get());
  a.q_ts = long(heads) * d_qk;
  a.q_hs = d_qk;
  a.k_nope = reinterpret_cast<cuda::bf16*>(kv.get());
  a.k_ts = long(kv_heads) * 256;
  a.k_hs = 256;
  a.v = a.k_nope + 128;
  a.v_ts = a.k_ts;
  a.v_hs = 256;
  if (mla) {
    a.k_rope = reinterpret_cast<cuda::bf16*>(kr.get()) + 512;
    a.kr_ts = 576;
  }
  a.out = reinterpret_cast<cuda::bf16*>(out.get());
  a.o_ts = long(heads) * dv;
  a.o_hs = dv;
  a.softmax_scale = 1.0f / std::sqrt(float(d_qk));
  const Timing t = st.time([&](int) { cuda::attention_prefill(a, nullptr); }, 1, 0.1, 3, 30);
  Record rec;
  rec.op = mla ? "mla_prefill" : "attention_prefill";
  rec.variant = "flash_mma";
  rec.shape_json = JsonObject()
                       .integer("tokens", tokens)
                       .integer("heads", heads)
                       .integer("kv_heads", kv_heads)
                       .integer("d_qk", d_qk)
                       .integer("d_v", dv)
                       .boolean("causal", true)
                       .str("model", model)
                       .close();
  rec.t = t;
  rec.flops = 2.0 * heads * (d_qk + dv) * (double(tokens) * (tokens + 1) / 2);
  rec.bytes = 2.0 * (double(q_elems) + double(tokens) * kv_heads * (d_qk + dv) + double(tokens) * heads * dv);
  st.record(rec);
  const double tflops = rec.flops / t.median_s / 1e12;
  std::printf("  %s %-10s T=%-6d %8.3f ms %7.1f TFLOP/s\n", rec.op.c_str(), model.c_str(), tokens, t.median_s * 1e3,
              tflops);
  return tflops;
}

}  // namespace

void stage_mla_prefill(const Options& opt) {
  Stage st(opt, "mla_prefill", opt.quick ? 6 : 20);
  std::vector<int> lens = opt.quick ? std::vector<int>{4096} : std::vector<int>{1024, 2048, 4096, 8192};
  double at4096 = 0, llama = 0;
  for (const int t : lens) {
    if (st.over_budget()) {
      st.skip("mla_prefill T=" + std::to_string(t), "stage time budget spent");
      continue;
    }
    try {
      const double v = prefill_point(st, "dsv3", t, 128, 128, 64);
      if (t == 4096) at4096 = v;
    } catch (const std::exception& e) {
      st.skip("mla_prefill T=" + std::to_string(t), e.what());
    }
  }
  try {
    if (!st.over_budget()) llama = prefill_point(st, "llama3_8b", 4096, 32, 8, 0);
  } catch (const std::exception& e) {
    st.skip("attention_prefill llama3_8b", e.what());
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "Prefill attention T=4096: MLA %.1f TFLOP/s, Llama-3-8B GQA %.1f TFLOP/s (causal FLOPs)", at4096,
                llama);
  st.summary(line);
}

}  // namespace gwsim::calib
