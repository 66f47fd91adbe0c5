// MLA decode over the paged latent cache and causal prefill attention (MLA and GQA shapes).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "json_writer.hpp"
#include "ops.cuh"
#include "stages.cuh"

namespace gwsim::calib {

void stage_mla_decode(const Options& opt) {
  Stage st(opt, "mla_decode", opt.quick ? 8 : 25);
  const double copy_gbps = st.get_value("copy_gbps", 0.0);
  std::vector<int> batches = {1, 16, 64, 128}, kvs = {1024, 4096, 8192};
  if (opt.quick) {
    batches = {16, 64};
    kvs = {4096};
  }
  const int heads = 128;
  std::map<std::string, double> target_gbps;
  // The reference mma.sync kernel, then the wgmma kernels whose checks passed in the checks
  // stage (an unchecked Hopper kernel is not timed: a fault would end this stage's process).
  std::vector<cuda::MlaDecodeKernel> kernels = {cuda::MlaDecodeKernel::kMmaSync};
  for (const auto k : {cuda::MlaDecodeKernel::kWgmma, cuda::MlaDecodeKernel::kWgmmaPipe, cuda::MlaDecodeKernel::kWgmmaN64,
                       cuda::MlaDecodeKernel::kWgmmaWs}) {
    const std::string key = std::string("mla_decode/") + cuda::mla_decode_variant_name(k);
    if (st.check_passed(key))
      kernels.push_back(k);
    else
      st.skip("mla_decode " + std::string(cuda::mla_decode_variant_name(k)), "its check did not pass (or did not run)");
  }
  // The FP8-cache kernel (e4m3 latent + rope, a float scale per token per 64 channels), timed in
  // a second pass after every bf16 point, and only when its check passed.
  const bool fp8_ok = st.check_passed("mla_decode_fp8kv");
  if (!fp8_ok) st.skip("mla_decode split_kv_mma_fp8kv", "its check did not pass (or did not run)");
  const std::string fp8_vname = "split_kv_mma_fp8kv";
  std::map<std::string, double> target_us;
  // The headline point first, so the budget cannot skip it.
  std::vector<std::pair<int, int>> points = {{64, 4096}};
  for (const int b : batches)
    for (const int kv : kvs)
      if (!(b == 64 && kv == 4096)) points.push_back({b, kv});
  for (int pass = 0; pass < (fp8_ok ? 2 : 1); ++pass)
  for (const auto& point : points) {
    const bool fp8 = pass == 1;
    const int batch = point.first, kv = point.second;
    if (st.over_budget()) {
      st.skip(std::string("mla_decode ") + (fp8 ? "fp8 cache " : "") + "b=" + std::to_string(batch) + " kv=" + std::to_string(kv),
              "stage time budget spent");
      continue;
    }
    try {
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
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(tmp.get()), tmp.size(), 5000 + batch + kv, -1, 1, nullptr);
        cuda::quantize_fp8_row_blocks(reinterpret_cast<const cuda::bf16*>(tmp.get()), static_cast<int>(cache_rows), cuda::kMlaDim,
                                      cuda::kMlaKvScaleBlock, cache_fp8.get(), cache_scales.get(), nullptr);
        GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
      } else {
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(cache.get()), cache.size(), 5000 + batch + kv, -1, 1, nullptr);
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
        cuda::fill_uniform_bf16(reinterpret_cast<cuda::bf16*>(q.back().get()), q.back().size(), 6000 + r, -1, 1, nullptr);
      }
      cuda::MlaDecodeConfig c;
      c.batch = batch;
      c.heads = heads;
      c.max_pages = pages_per_seq;
      c.max_seq_len = kv;
      c.num_sms = st.prop().multiProcessorCount;
      c.softmax_scale = 1.0f / std::sqrt(192.0f);
      DevBuf<unsigned char> ws(std::max<std::size_t>(16, cuda::mla_decode_workspace_bytes(c)));
      const std::vector<cuda::MlaDecodeKernel> pass_kernels = fp8 ? std::vector<cuda::MlaDecodeKernel>{cuda::MlaDecodeKernel::kMmaSync} : kernels;
      for (const auto kernel : pass_kernels) {
        const std::string vname = fp8 ? fp8_vname : cuda::mla_decode_variant_name(kernel);
        const Timing t = st.time(
            [&](int r) {
              const int* tab = table.get() + std::size_t(r) * batch * pages_per_seq;
              if (fp8)
                cuda::mla_decode_fp8kv(c, reinterpret_cast<cuda::bf16*>(q[r].get()), cache_fp8.get(), cache_scales.get(), tab,
                                       lens.get(), reinterpret_cast<cuda::bf16*>(out[r].get()), ws.get(), nullptr);
              else
                cuda::mla_decode(c, reinterpret_cast<cuda::bf16*>(q[r].get()), reinterpret_cast<cuda::bf16*>(cache.get()), tab,
                                 lens.get(), reinterpret_cast<cuda::bf16*>(out[r].get()), ws.get(), nullptr, kernel);
            },
            rot, 0.08, 5, 100);
        Record rec;
        rec.op = "mla_decode";
        rec.precision = fp8 ? "fp8" : "bf16";
        rec.variant = vname;
        rec.check_key = fp8 ? "mla_decode_fp8kv" : kernel == cuda::MlaDecodeKernel::kMmaSync ? "mla_decode" : "mla_decode/" + vname;
        const int splits = cuda::mla_decode_num_splits(c);
        JsonObject shape;
        shape.integer("batch", batch).integer("kv_len", kv).integer("heads", heads).integer("kv_lora_rank", cuda::kMlaLatent)
            .integer("rope_dim", cuda::kMlaRope).integer("page_size", cuda::kMlaPage).integer("splits", splits);
        if (fp8) shape.integer("kv_scale_block", cuda::kMlaKvScaleBlock);
        rec.shape_json = shape.close();
        rec.t = t;
        rec.flops = 2.0 * batch * heads * double(kv) * (cuda::kMlaDim + cuda::kMlaLatent);
        // Cache bytes as stored (e4m3 + the scales for the FP8 cache); q and out in bf16.
        rec.bytes = double(batch) * kv * row_bytes + double(batch) * heads * (cuda::kMlaDim + cuda::kMlaLatent) * 2;
        st.record(rec);
        const double gbps = rec.bytes / t.median_s / 1e9;
        if (batch == 64 && kv == 4096) {
          target_gbps[vname] = gbps;
          target_us[vname] = t.median_s * 1e6;
        }
        std::printf("  mla_decode %-18s b=%-4d kv=%-5d splits=%-3d %8.1f us %8.1f GB/s %7.1f TFLOP/s\n", vname.c_str(), batch, kv,
                    splits, t.median_s * 1e6, gbps, rec.flops / t.median_s / 1e12);
      }
    } catch (const std::exception& e) {
      st.skip(std::string("mla_decode ") + (fp8 ? "fp8 cache " : "") + "b=" + std::to_string(batch) + " kv=" + std::to_string(kv),
              e.what());
    }
  }
  for (const auto& kv : target_gbps) {
    char line[220];
    std::snprintf(line, sizeof line, "MLA decode b=64 kv=4096 %-18s: %7.1f GB/s = %3.0f%% of copy (%.1f GB/s); target >= 70%%",
                  kv.first.c_str(), kv.second, copy_gbps > 0 ? 100.0 * kv.second / copy_gbps : 0.0, copy_gbps);
    st.summary(line);
  }
  const auto bf16_mma = target_us.find(cuda::mla_decode_variant_name(cuda::MlaDecodeKernel::kMmaSync));
  const auto fp8_mma = target_us.find(fp8_vname);
  if (bf16_mma != target_us.end() && fp8_mma != target_us.end()) {
    char line[220];
    std::snprintf(line, sizeof line, "MLA decode b=64 kv=4096 FP8 cache %s %.1f us vs bf16 cache %s %.1f us (%.2fx)", fp8_vname.c_str(),
                  fp8_mma->second, bf16_mma->first.c_str(), bf16_mma->second, bf16_mma->second / fp8_mma->second);
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
  a.q = reinterpret_cast<cuda::bf16*>(q.get()); a.q_ts = long(heads) * d_qk; a.q_hs = d_qk;
  a.k_nope = reinterpret_cast<cuda::bf16*>(kv.get()); a.k_ts = long(kv_heads) * 256; a.k_hs = 256;
  a.v = a.k_nope + 128; a.v_ts = a.k_ts; a.v_hs = 256;
  if (mla) {
    a.k_rope = reinterpret_cast<cuda::bf16*>(kr.get()) + 512;
    a.kr_ts = 576;
  }
  a.out = reinterpret_cast<cuda::bf16*>(out.get()); a.o_ts = long(heads) * dv; a.o_hs = dv;
  a.softmax_scale = 1.0f / std::sqrt(float(d_qk));
  const Timing t = st.time([&](int) { cuda::attention_prefill(a, nullptr); }, 1, 0.1, 3, 30);
  Record rec;
  rec.op = mla ? "mla_prefill" : "attention_prefill";
  rec.variant = "flash_mma";
  rec.shape_json = JsonObject().integer("tokens", tokens).integer("heads", heads).integer("kv_heads", kv_heads)
                       .integer("d_qk", d_qk).integer("d_v", dv).boolean("causal", true).str("model", model).close();
  rec.t = t;
  rec.flops = 2.0 * heads * (d_qk + dv) * (double(tokens) * (tokens + 1) / 2);
  rec.bytes = 2.0 * (double(q_elems) + double(tokens) * kv_heads * (d_qk + dv) + double(tokens) * heads * dv);
  st.record(rec);
  const double tflops = rec.flops / t.median_s / 1e12;
  std::printf("  %s %-10s T=%-6d %8.3f ms %7.1f TFLOP/s\n", rec.op.c_str(), model.c_str(), tokens, t.median_s * 1e3, tflops);
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
  std::snprintf(line, sizeof line, "Prefill attention T=4096: MLA %.1f TFLOP/s, Llama-3-8B GQA %.1f TFLOP/s (causal FLOPs)",
                at4096, llama);
  st.summary(line);
}

}  // namespace gwsim::calib
