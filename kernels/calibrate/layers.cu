// Whole-layer kernel sequences on one GPU, to validate the simulator's per-op sum against a
// measured layer: every kernel timed alone (one record each, with the layer and step) and the
// whole sequence timed end to end (one layer_sequence record). Norms, RoPE and residual adds are
// left out (memory-bound and small at these sizes); the sequence says so in its record.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "json_writer.h"
#include "ops.h"
#include "stages.h"

namespace gwsim::calib {
namespace {

struct Step {
  std::string name, op, shape_json;
  double flops, bytes;
  std::function<void()> run;
};

using Buf = DevBuf<std::uint16_t>;
cuda::bf16* bf(const Buf& b) { return reinterpret_cast<cuda::bf16*>(b.get()); }
Buf rand_buf(std::size_t n, std::uint64_t seed, float scale) {
  Buf b(n);
  cuda::fill_uniform_bf16(bf(b), n, seed, -scale, scale, nullptr);
  return b;
}

Step gemm_step(Stage& st, const std::string& name, int m, int n, int k, const Buf& x, int ldx, const Buf& w,
               const Buf& y) {
  Step s{name,
         "gemm",
         JsonObject().integer("M", m).integer("N", n).integer("K", k).close(),
         2.0 * m * n * k,
         2.0 * (double(m) * k + double(n) * k + double(m) * n),
         nullptr};
  s.run = [&st, m, n, k, xp = bf(x), ldx, wp = bf(w), yp = bf(y)] {
    cuda::gemm_bf16(st.cublas(), m, n, k, xp, ldx, wp, yp);
  };
  return s;
}

void run_layer(Stage& st, const std::string& layer, std::vector<Step>& steps, const std::string& notes) {
  double flops = 0, bytes = 0;
  for (auto& s : steps) {
    const Timing t = st.time([&](int) { s.run(); }, 1, 0.03, 5, 50);
    Record r;
    r.op = s.op;
    r.variant = "layer_step";
    r.check_key = s.op == "grouped_gemm" ? "grouped_gemm/cublas_grouped" : s.op;
    r.shape_json = s.shape_json;
    r.t = t;
    r.flops = s.flops;
    r.bytes = s.bytes;
    r.extra_json = "\"layer\": " + json_escape(layer) + ", \"step\": " + json_escape(s.name);
    st.record(r);
    flops += s.flops;
    bytes += s.bytes;
    std::printf("  %-18s %-22s %9.1f us\n", layer.c_str(), s.name.c_str(), t.median_s * 1e6);
  }
  const Timing total = st.time(
      [&](int) {
        for (auto& s : steps) s.run();
      },
      1, 0.2, 5, 30);
  Record r;
  r.op = "layer_sequence";
  r.variant = "sequential";
  r.shape_json = JsonObject()
                     .str("layer", layer)
                     .integer("tokens", 4096)
                     .integer("kernels", static_cast<long long>(steps.size()))
                     .close();
  r.t = total;
  r.flops = flops;
  r.bytes = bytes;
  r.check_key = "none";
  r.extra_json = "\"notes\": " + json_escape(notes);
  st.record(r);
  char line[200];
  std::snprintf(line, sizeof line, "LAYER %-16s %d kernels: %.3f ms (%.1f TFLOP/s overall)", layer.c_str(),
                static_cast<int>(steps.size()), total.median_s * 1e3, flops / total.median_s / 1e12);
  st.summary(line);
}

void deepseek_v3_moe_layer(Stage& st, int T) {
  constexpr int H = 7168, E = 256, K = 8, I = 2048, NH = 128;
  const float ws = 0.02f;  // weight scale: keeps activations O(1) through the chain
  Buf x = rand_buf(std::size_t(T) * H, 11, 1.0f);
  Buf w_qa = rand_buf(std::size_t(1536) * H, 12, ws), w_qb = rand_buf(std::size_t(NH * 192) * 1536, 13, ws);
  Buf w_kva = rand_buf(std::size_t(576) * H, 14, ws), w_kvb = rand_buf(std::size_t(NH * 256) * 512, 15, ws);
  Buf w_o = rand_buf(std::size_t(H) * NH * 128, 16, ws), w_router = rand_buf(std::size_t(E) * H, 17, ws);
  Buf w_gu = rand_buf(std::size_t(E) * 2 * I * H, 18, ws), w_down = rand_buf(std::size_t(E) * H * I, 19, ws);
  Buf w_sgu = rand_buf(std::size_t(2 * I) * H, 20, ws), w_sdown = rand_buf(std::size_t(H) * I, 21, ws);
  Buf qa(std::size_t(T) * 1536), q(std::size_t(T) * NH * 192), kva(std::size_t(T) * 576), kv(std::size_t(T) * NH * 256);
  Buf attn(std::size_t(T) * NH * 128), h(std::size_t(T) * H), xp(std::size_t(T) * K * H),
      gu(std::size_t(T) * K * 2 * I);
  Buf act(std::size_t(T) * K * I), y(std::size_t(T) * K * H), moe_out(std::size_t(T) * H);
  Buf sgu(std::size_t(T) * 2 * I), sact(std::size_t(T) * I), sout(std::size_t(T) * H);
  DevBuf<float> logits(std::size_t(T) * E), bias(E), topw(std::size_t(T) * K);
  cuda::fill_uniform_f32(bias.get(), E, 22, -0.1f, 0.1f, nullptr);
  DevBuf<int> topi(std::size_t(T) * K);
  const int A = T * K;
  DevBuf<int> chunk(cuda::moe_permute_chunk_count(A) * E), cnt(E), off(E + 1), rt(A), po(A);
  const cuda::MoePermuteWorkspace pws{chunk.get(), cnt.get(), off.get(), rt.get(), po.get()};

  std::vector<Step> steps;
  steps.push_back(gemm_step(st, "q_a", T, 1536, H, x, H, w_qa, qa));
  steps.push_back(gemm_step(st, "q_b", T, NH * 192, 1536, qa, 1536, w_qb, q));
  steps.push_back(gemm_step(st, "kv_a", T, 576, H, x, H, w_kva, kva));
  steps.push_back(gemm_step(st, "kv_b", T, NH * 256, 512, kva, 576, w_kvb, kv));
  cuda::AttentionPrefillArgs a;
  a.tokens = T;
  a.heads = NH;
  a.heads_per_kv = 1;
  a.d_rope = 64;
  a.q = bf(q);
  a.q_ts = NH * 192;
  a.q_hs = 192;
  a.k_nope = bf(kv);
  a.k_ts = NH * 256;
  a.k_hs = 256;
  a.k_rope = bf(kva) + 512;
  a.kr_ts = 576;
  a.v = bf(kv) + 128;
  a.v_ts = NH * 256;
  a.v_hs = 256;
  a.out = bf(attn);
  a.o_ts = NH * 128;
  a.o_hs = 128;
  a.softmax_scale = 1.0f / std::sqrt(192.0f);
  steps.push_back({"attention", "mla_prefill",
                   JsonObject()
                       .integer("tokens", T)
                       .integer("heads", NH)
                       .integer("d_qk", 192)
                       .integer("d_v", 128)
                       .boolean("causal", true)
                       .close(),
                   2.0 * NH * 320 * (double(T) * (T + 1) / 2), 2.0 * double(T) * (NH * 192 + NH * 256 + 64 + NH * 128),
                   [a] { cuda::attention_prefill(a, nullptr); }});
  steps.push_back(gemm_step(st, "o_proj", T, H, NH * 128, attn, NH * 128, w_o, h));
  steps.push_back({"router", "gemm", JsonObject().integer("M", T).integer("N", E).integer("K", H).close(),
                   2.0 * T * E * H, 2.0 * (double(T) * H + double(E) * H) + 4.0 * T * E,
                   [&st, T, hp = bf(h), wr = bf(w_router), lp = logits.get()] {
                     cuda::gemm_bf16_f32out(st.cublas(), T, E, H, hp, H, wr, lp);
                   }});
  steps.push_back({"gating", "moe_gating",
                   JsonObject().integer("tokens", T).integer("experts", E).integer("top_k", K).close(), 0,
                   4.0 * T * E + 8.0 * A, [T, lp = logits.get(), bp = bias.get(), ip = topi.get(), wp = topw.get()] {
                     cuda::moe_gating(T, lp, bp, 2.5f, ip, wp, nullptr);
                   }});
  steps.push_back(
      {"permute", "moe_permute",
       JsonObject().integer("tokens", T).integer("experts", E).integer("top_k", K).integer("hidden", H).close(), 0,
       2.0 * double(T) * H + 2.0 * double(A) * H,
       [T, A, ip = topi.get(), pws, hp = bf(h), rtp = rt.get(), xpp = bf(xp)] {
         cuda::moe_permute_index(T, K, E, ip, pws, nullptr);
         cuda::moe_gather(A, H, hp, rtp, xpp, nullptr);
       }});
  // Routing is data-dependent: run it once to learn the expert counts the grouped GEMMs need
  // (a real engine copies them to the host the same way); inputs do not change between repeats.
  for (auto& s : steps) s.run();
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<int> counts = cnt.download();
  int active = 0;
  for (int c : counts) active += c > 0;
  cuda::GroupedGemmPlan plan_gu(counts, 2 * I, H, bf(xp), bf(w_gu), bf(gu));
  cuda::GroupedGemmPlan plan_down(counts, H, I, bf(act), bf(w_down), bf(y));
  steps.push_back(
      {"experts_gate_up", "grouped_gemm",
       JsonObject().integer("rows", A).integer("N", 2 * I).integer("K", H).integer("active_experts", active).close(),
       2.0 * A * 2 * I * double(H), 2.0 * (double(active) * 2 * I * H + double(A) * H + double(A) * 2 * I),
       [&st, &plan_gu] { plan_gu.run_grouped(st.cublas()); }});
  steps.push_back({"experts_swiglu", "swiglu", JsonObject().integer("rows", A).integer("inter", I).close(), 0,
                   2.0 * A * 3.0 * I, [A, g = bf(gu), o = bf(act)] { cuda::swiglu(A, I, g, o, nullptr); }});
  steps.push_back(
      {"experts_down", "grouped_gemm",
       JsonObject().integer("rows", A).integer("N", H).integer("K", I).integer("active_experts", active).close(),
       2.0 * A * double(H) * I, 2.0 * (double(active) * H * I + double(A) * I + double(A) * H),
       [&st, &plan_down] { plan_down.run_grouped(st.cublas()); }});
  steps.push_back(
      {"combine", "moe_combine", JsonObject().integer("tokens", T).integer("top_k", K).integer("hidden", H).close(), 0,
       2.0 * double(A) * H + 2.0 * double(T) * H, [T, yp = bf(y), pp = po.get(), wp = topw.get(), op = bf(moe_out)] {
         cuda::moe_combine(T, K, H, yp, pp, wp, op, nullptr);
       }});
  steps.push_back(gemm_step(st, "shared_gate_up", T, 2 * I, H, h, H, w_sgu, sgu));
  steps.push_back({"shared_swiglu", "swiglu", JsonObject().integer("rows", T).integer("inter", I).close(), 0,
                   2.0 * T * 3.0 * I, [T, g = bf(sgu), o = bf(sact)] { cuda::swiglu(T, I, g, o, nullptr); }});
  steps.push_back(gemm_step(st, "shared_down", T, H, I, sact, I, w_sdown, sout));
  run_layer(st, "deepseek_v3_moe", steps,
            "one GPU holds all 256 experts; no norms, RoPE or residual adds; expert counts read once before timing");
}

void llama3_8b_layer(Stage& st, int T) {
  constexpr int H = 4096, NH = 32, NKV = 8, D = 128, I = 14336, QKV = (NH + 2 * NKV) * D;
  const float ws = 0.02f;
  Buf x = rand_buf(std::size_t(T) * H, 31, 1.0f);
  Buf w_qkv = rand_buf(std::size_t(QKV) * H, 32, ws), w_o = rand_buf(std::size_t(H) * H, 33, ws);
  Buf w_gu = rand_buf(std::size_t(2 * I) * H, 34, ws), w_down = rand_buf(std::size_t(H) * I, 35, ws);
  Buf qkv(std::size_t(T) * QKV), attn(std::size_t(T) * H), h(std::size_t(T) * H), gu(std::size_t(T) * 2 * I),
      act(std::size_t(T) * I), out(std::size_t(T) * H);
  std::vector<Step> steps;
  steps.push_back(gemm_step(st, "qkv", T, QKV, H, x, H, w_qkv, qkv));
  cuda::AttentionPrefillArgs a;
  a.tokens = T;
  a.heads = NH;
  a.heads_per_kv = NH / NKV;
  a.d_rope = 0;
  a.q = bf(qkv);
  a.q_ts = QKV;
  a.q_hs = D;
  a.k_nope = bf(qkv) + NH * D;
  a.k_ts = QKV;
  a.k_hs = D;
  a.v = bf(qkv) + (NH + NKV) * D;
  a.v_ts = QKV;
  a.v_hs = D;
  a.out = bf(attn);
  a.o_ts = H;
  a.o_hs = D;
  a.softmax_scale = 1.0f / std::sqrt(float(D));
  steps.push_back({"attention", "attention_prefill",
                   JsonObject()
                       .integer("tokens", T)
                       .integer("heads", NH)
                       .integer("kv_heads", NKV)
                       .integer("d_qk", D)
                       .integer("d_v", D)
                       .boolean("causal", true)
                       .close(),
                   2.0 * NH * 2 * D * (double(T) * (T + 1) / 2), 2.0 * double(T) * (QKV + H),
                   [a] { cuda::attention_prefill(a, nullptr); }});
  steps.push_back(gemm_step(st, "o_proj", T, H, H, attn, H, w_o, h));
  steps.push_back(gemm_step(st, "gate_up", T, 2 * I, H, h, H, w_gu, gu));
  steps.push_back({"swiglu", "swiglu", JsonObject().integer("rows", T).integer("inter", I).close(), 0,
                   2.0 * T * 3.0 * I, [T, g = bf(gu), o = bf(act)] { cuda::swiglu(T, I, g, o, nullptr); }});
  steps.push_back(gemm_step(st, "down", T, H, I, act, I, w_down, out));
  run_layer(st, "llama3_8b", steps, "no norms, RoPE or residual adds");
}

}  // namespace

void stage_layers(const Options& opt) {
  Stage st(opt, "layers", 60);
  const int T = 4096;
  try {
    deepseek_v3_moe_layer(st, T);
  } catch (const std::exception& e) {
    st.skip("layer deepseek_v3_moe", e.what());
  }
  try {
    llama3_8b_layer(st, T);
  } catch (const std::exception& e) {
    st.skip("layer llama3_8b", e.what());
  }
}

}  // namespace gwsim::calib
