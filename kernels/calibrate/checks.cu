// Correctness checks: every GPU kernel against its CPU reference, on fresh random inputs (a
// fixed seed per check, a different one for each), with outputs poisoned to NaN first so an
// unwritten element fails. Bounds are on ||out - ref|| / ||ref||; NaN never passes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include <cuda_fp8.h>

#include "gwsim/kernels/refs.h"
#include "json_writer.h"
#include "ops.h"
#include "stages.h"

namespace gwsim::calib {
namespace {

namespace ref = kernels::ref;
using cuda::bf16;
constexpr double kBf16Bound = 1e-2;

bf16* as_bf16(DevBuf<std::uint16_t>& b) { return reinterpret_cast<bf16*>(b.get()); }

DevBuf<std::uint16_t> upload_bf16(const std::vector<float>& v) {
  DevBuf<std::uint16_t> d(v.size());
  d.upload(to_bf16(v));
  return d;
}

std::vector<float> download_bf16(const DevBuf<std::uint16_t>& d) { return from_bf16(d.download()); }

template <class F>
void guarded(Stage& st, const std::string& key, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    st.check(key, "{}", INFINITY, 0, false, std::string("exception: ") + e.what());
  }
}

void check_copy(Stage& st) {
  const std::size_t bytes = (1u << 20) + 4096;
  const auto src_h = random_bf16_values(bytes / 2, 101, -1, 1);
  auto src = upload_bf16(src_h);
  DevBuf<std::uint16_t> dst(bytes / 2);
  for (const std::string variant : {"kernel", "cudaMemcpy"}) {
    cuda::poison_bf16(as_bf16(dst), dst.size(), nullptr);
    if (variant == "kernel")
      cuda::copy_kernel(dst.get(), src.get(), bytes, nullptr);
    else
      GWSIM_CUDA_CHECK(cudaMemcpy(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice));
    GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
    const auto out = download_bf16(dst);
    const double err = ref::rel_l2_error(out.data(), src_h.data(), out.size());
    st.check("copy/" + variant, JsonObject().integer("bytes", bytes).close(), err, 0.0, err == 0.0);
  }
}

void check_gemm(Stage& st) {
  const int m = 192, n = 160, k = 328;
  const auto x = random_bf16_values(std::size_t(m) * k, 201, -1, 1);
  const auto w = random_bf16_values(std::size_t(n) * k, 202, -1, 1);
  std::vector<float> want(std::size_t(m) * n);
  ref::gemm_ref(m, n, k, x.data(), w.data(), want.data());
  auto dx = upload_bf16(x), dw = upload_bf16(w);
  DevBuf<std::uint16_t> dy(want.size());
  cuda::poison_bf16(as_bf16(dy), dy.size(), nullptr);
  cuda::gemm_bf16(st.cublas(), m, n, k, as_bf16(dx), k, as_bf16(dw), as_bf16(dy));
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dy);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("gemm", JsonObject().integer("M", m).integer("N", n).integer("K", k).close(), err, kBf16Bound,
           err <= kBf16Bound);
  // fp32-output variant (router logits): bound set by bf16 inputs only.
  DevBuf<float> dyf(want.size());
  cuda::poison_f32(dyf.get(), dyf.size(), nullptr);
  cuda::gemm_bf16_f32out(st.cublas(), m, n, k, as_bf16(dx), k, as_bf16(dw), dyf.get());
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto outf = dyf.download();
  const double errf = ref::rel_l2_error(outf.data(), want.data(), outf.size());
  st.check("gemm/f32out", JsonObject().integer("M", m).integer("N", n).integer("K", k).close(), errf, 1e-3,
           errf <= 1e-3);
}

void check_grouped(Stage& st) {
  const int experts = 12, n = 136, k = 264;
  std::mt19937 rng(301);
  std::vector<int> counts(experts);
  for (auto& c : counts) c = static_cast<int>(rng() % 41);
  counts[3] = 0;  // an expert with no tokens must be skipped, not break the call
  counts[7] = 1;
  const int rows = std::accumulate(counts.begin(), counts.end(), 0);
  const auto x = random_bf16_values(std::size_t(rows) * k, 302, -1, 1);
  const auto w = random_bf16_values(std::size_t(experts) * n * k, 303, -1, 1);
  std::vector<float> want(std::size_t(rows) * n);
  ref::grouped_gemm_ref(experts, counts.data(), n, k, x.data(), w.data(), want.data());
  auto dx = upload_bf16(x), dw = upload_bf16(w);
  DevBuf<std::uint16_t> dy(want.size());
  cuda::GroupedGemmPlan plan(counts, n, k, as_bf16(dx), as_bf16(dw), as_bf16(dy));
  const std::string shape =
      JsonObject().integer("experts", experts).integer("rows", rows).integer("N", n).integer("K", k).close();
  const cuda::StreamPool pool(3);
  for (const std::string variant : {"cublas_grouped", "cublas_loop", "cublas_streams"}) {
    guarded(st, "grouped_gemm/" + variant, [&] {
      cuda::poison_bf16(as_bf16(dy), dy.size(), nullptr);
      if (variant == "cublas_grouped")
        plan.run_grouped(st.cublas());
      else if (variant == "cublas_loop")
        plan.run_loop(st.cublas());
      else
        plan.run_streams(pool, nullptr);
      GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
      const auto out = download_bf16(dy);
      const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
      st.check("grouped_gemm/" + variant, shape, err, kBf16Bound, err <= kBf16Bound);
    });
  }
}

void check_gemm_fp8(Stage& st) {
  // FP8 E4M3 operands with per-tensor scales; the reference uses the exact FP8 values.
  const int m = 192, n = 160, k = 336;
  const float sx = 0.5f, sw = 0.125f;
  std::mt19937_64 rng(251);
  std::uniform_real_distribution<float> d(-400.0f, 400.0f);
  std::vector<unsigned char> xq(std::size_t(m) * k), wq(std::size_t(n) * k);
  std::vector<float> xf(xq.size()), wf(wq.size());
  for (std::size_t i = 0; i < xq.size(); ++i) {
    const __nv_fp8_e4m3 v(d(rng));
    xq[i] = v.__x;
    xf[i] = float(v) * sx;
  }
  for (std::size_t i = 0; i < wq.size(); ++i) {
    const __nv_fp8_e4m3 v(d(rng));
    wq[i] = v.__x;
    wf[i] = float(v) * sw;
  }
  std::vector<float> want(std::size_t(m) * n);
  ref::gemm_ref(m, n, k, xf.data(), wf.data(), want.data());
  DevBuf<unsigned char> dx(xq.size()), dw(wq.size());
  dx.upload(xq);
  dw.upload(wq);
  DevBuf<float> scales(128);  // sx at [0], sw at [64]: each scale pointer 256-byte aligned
  std::vector<float> sv(128, 0.0f);
  sv[0] = sx;
  sv[64] = sw;
  scales.upload(sv);
  DevBuf<std::uint16_t> dy(want.size());
  cuda::poison_bf16(as_bf16(dy), dy.size(), nullptr);
  cuda::Fp8Gemm g;
  g.run(m, n, k, dx.get(), dw.get(), scales.get(), scales.get() + 64, as_bf16(dy), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dy);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("gemm_fp8", JsonObject().integer("M", m).integer("N", n).integer("K", k).close(), err, kBf16Bound,
           err <= kBf16Bound);
}

void check_gating_permute_combine(Stage& st) {
  const int tokens = 1000, experts = 256, top_k = 8, hidden = 256;
  ref::MoeGatingConfig cfg;
  std::mt19937_64 rng(401);
  std::uniform_real_distribution<float> dl(-4.0f, 4.0f), db(-0.1f, 0.1f);
  std::vector<float> logits(std::size_t(tokens) * experts), bias(experts);
  for (auto& v : logits) v = dl(rng);
  for (auto& v : bias) v = db(rng);
  std::vector<int> idx_ref(std::size_t(tokens) * top_k);
  std::vector<float> w_ref(idx_ref.size());
  ref::moe_gating_ref(tokens, cfg, logits.data(), bias.data(), idx_ref.data(), w_ref.data());

  DevBuf<float> dlog(logits.size()), dbias(bias.size()), dw(w_ref.size());
  DevBuf<int> didx(idx_ref.size());
  dlog.upload(logits);
  dbias.upload(bias);
  GWSIM_CUDA_CHECK(cudaMemset(didx.get(), 0xff, didx.bytes()));
  cuda::poison_f32(dw.get(), dw.size(), nullptr);
  cuda::moe_gating(tokens, dlog.get(), dbias.get(), cfg.routed_scaling, didx.get(), dw.get(), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto idx = didx.download();
  const auto w = dw.download();
  // Tokens whose selection differs (possible only at near-ties, where GPU and CPU expf may
  // round differently) are counted; weights are compared on the tokens that agree.
  int mismatched = 0;
  std::vector<float> w_ok, w_ref_ok;
  for (int t = 0; t < tokens; ++t) {
    bool same = true;
    for (int j = 0; j < top_k; ++j)
      same = same && idx[std::size_t(t) * top_k + j] == idx_ref[std::size_t(t) * top_k + j];
    if (!same) {
      ++mismatched;
      continue;
    }
    for (int j = 0; j < top_k; ++j) {
      w_ok.push_back(w[std::size_t(t) * top_k + j]);
      w_ref_ok.push_back(w_ref[std::size_t(t) * top_k + j]);
    }
  }
  const double werr = w_ok.empty() ? INFINITY : ref::rel_l2_error(w_ok.data(), w_ref_ok.data(), w_ok.size());
  const bool ok = mismatched <= tokens / 1000 && werr <= 1e-5;
  st.check("moe_gating",
           JsonObject().integer("tokens", tokens).integer("experts", experts).integer("top_k", top_k).close(), werr,
           1e-5, ok, "tokens with a different selection: " + std::to_string(mismatched));

  // Permute: indices must match the reference exactly (both are stable); the gather bitwise.
  const int assign = tokens * top_k;
  std::vector<int> counts_ref(experts), offsets_ref(experts + 1), row_token_ref(assign), pos_of_ref(assign);
  ref::moe_permute_ref(tokens, top_k, experts, idx_ref.data(), counts_ref.data(), offsets_ref.data(),
                       row_token_ref.data(), pos_of_ref.data());
  DevBuf<int> didx_ref(idx_ref.size());
  didx_ref.upload(idx_ref);
  DevBuf<int> chunk(cuda::moe_permute_chunk_count(assign) * experts), cnt(experts), off(experts + 1), rt(assign),
      po(assign);
  for (DevBuf<int>* b : {&cnt, &off, &rt, &po}) GWSIM_CUDA_CHECK(cudaMemset(b->get(), 0xff, b->bytes()));
  const cuda::MoePermuteWorkspace ws{chunk.get(), cnt.get(), off.get(), rt.get(), po.get()};
  cuda::moe_permute_index(tokens, top_k, experts, didx_ref.get(), ws, nullptr);
  const auto x = random_bf16_values(std::size_t(tokens) * hidden, 402, -1, 1);
  auto dx = upload_bf16(x);
  DevBuf<std::uint16_t> dxp(std::size_t(assign) * hidden);
  cuda::poison_bf16(as_bf16(dxp), dxp.size(), nullptr);
  cuda::moe_gather(assign, hidden, as_bf16(dx), rt.get(), as_bf16(dxp), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const bool idx_ok = cnt.download() == counts_ref && off.download() == offsets_ref && rt.download() == row_token_ref &&
                      po.download() == pos_of_ref;
  std::vector<float> xp_ref(std::size_t(assign) * hidden);
  for (int p = 0; p < assign; ++p)
    std::copy_n(x.begin() + std::size_t(row_token_ref[p]) * hidden, hidden, xp_ref.begin() + std::size_t(p) * hidden);
  const auto xp = download_bf16(dxp);
  const double gerr = ref::rel_l2_error(xp.data(), xp_ref.data(), xp.size());
  st.check("moe_permute",
           JsonObject()
               .integer("tokens", tokens)
               .integer("experts", experts)
               .integer("top_k", top_k)
               .integer("hidden", hidden)
               .close(),
           gerr, 0.0, idx_ok && gerr == 0.0, idx_ok ? "" : "index arrays differ from the reference");

  // Combine on random expert outputs with the reference routing.
  const auto y = random_bf16_values(std::size_t(assign) * hidden, 403, -1, 1);
  auto dy = upload_bf16(y);
  DevBuf<float> dwr(w_ref.size());
  dwr.upload(w_ref);
  DevBuf<int> dpo(assign);
  dpo.upload(pos_of_ref);
  DevBuf<std::uint16_t> dout(std::size_t(tokens) * hidden);
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  cuda::moe_combine(tokens, top_k, hidden, as_bf16(dy), dpo.get(), dwr.get(), as_bf16(dout), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> want(std::size_t(tokens) * hidden);
  ref::moe_combine_ref(tokens, top_k, hidden, y.data(), pos_of_ref.data(), w_ref.data(), want.data());
  const auto out = download_bf16(dout);
  const double cerr = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("moe_combine",
           JsonObject().integer("tokens", tokens).integer("top_k", top_k).integer("hidden", hidden).close(), cerr,
           kBf16Bound, cerr <= kBf16Bound);
}

void check_skewed_permute(Stage& st) {
  // All tokens on few experts, chunk boundaries crossing runs: the scan and ranks must hold.
  const int tokens = 777, experts = 256, top_k = 8;
  std::mt19937 rng(451);
  std::vector<int> idx(std::size_t(tokens) * top_k);
  for (auto& e : idx) e = (rng() % 4 == 0) ? static_cast<int>(rng() % experts) : static_cast<int>(rng() % 3);
  const int assign = tokens * top_k;
  std::vector<int> counts_ref(experts), offsets_ref(experts + 1), row_token_ref(assign), pos_of_ref(assign);
  ref::moe_permute_ref(tokens, top_k, experts, idx.data(), counts_ref.data(), offsets_ref.data(), row_token_ref.data(),
                       pos_of_ref.data());
  DevBuf<int> didx(idx.size());
  didx.upload(idx);
  DevBuf<int> chunk(cuda::moe_permute_chunk_count(assign) * experts), cnt(experts), off(experts + 1), rt(assign),
      po(assign);
  for (DevBuf<int>* b : {&cnt, &off, &rt, &po}) GWSIM_CUDA_CHECK(cudaMemset(b->get(), 0xff, b->bytes()));
  cuda::moe_permute_index(tokens, top_k, experts, didx.get(), {chunk.get(), cnt.get(), off.get(), rt.get(), po.get()},
                          nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const bool ok = cnt.download() == counts_ref && off.download() == offsets_ref && rt.download() == row_token_ref &&
                  po.download() == pos_of_ref;
  st.check("moe_permute",
           JsonObject().integer("tokens", tokens).integer("experts", experts).str("routing", "skewed").close(),
           ok ? 0.0 : 1.0, 0.0, ok);
}

void check_swiglu(Stage& st) {
  const int rows = 100, inter = 256;
  const auto gu = random_bf16_values(std::size_t(rows) * 2 * inter, 501, -4, 4);
  std::vector<float> want(std::size_t(rows) * inter);
  ref::swiglu_ref(rows, inter, gu.data(), want.data());
  auto dgu = upload_bf16(gu);
  DevBuf<std::uint16_t> dout(want.size());
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  cuda::swiglu(rows, inter, as_bf16(dgu), as_bf16(dout), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dout);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("swiglu", JsonObject().integer("rows", rows).integer("inter", inter).close(), err, kBf16Bound,
           err <= kBf16Bound);
}

// A paged KV cache's block table with the pages in shuffled order, so a kernel that ignores the
// table reads the wrong pages; 3 spare pages no sequence references (the checks fill them with
// values that must not leak into the output). perm[0, used) are the referenced pages.
struct ShuffledPageTable {
  int max_len = 0, max_pages = 0, total_pages = 0, used = 0;
  std::vector<int> perm, table;  // table: [batch][max_pages]
};

ShuffledPageTable shuffled_page_table(int batch, const std::vector<int>& seq_lens, int page, std::uint64_t seed) {
  ShuffledPageTable p;
  for (int l : seq_lens) {
    p.max_len = std::max(p.max_len, l);
    p.total_pages += (l + page - 1) / page;
  }
  p.max_pages = (p.max_len + page - 1) / page;
  p.total_pages += 3;
  std::mt19937 rng(static_cast<unsigned>(seed));
  p.perm.resize(p.total_pages);
  std::iota(p.perm.begin(), p.perm.end(), 0);
  std::shuffle(p.perm.begin(), p.perm.end(), rng);
  p.table.assign(std::size_t(batch) * p.max_pages, 0);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < (seq_lens[b] + page - 1) / page; ++i)
      p.table[std::size_t(b) * p.max_pages + i] = p.perm[p.used++];
  return p;
}

// The decode launch configuration both MLA decode checks (BF16 and FP8 KV cache) use.
cuda::MlaDecodeConfig decode_config(int batch, int heads, int max_pages, int max_len, int num_sms, float scale) {
  cuda::MlaDecodeConfig c;
  c.batch = batch;
  c.heads = heads;
  c.max_pages = max_pages;
  c.max_seq_len = max_len;
  c.num_sms = num_sms;
  c.softmax_scale = scale;
  return c;
}

void check_mla_decode_case(Stage& st, int batch, std::vector<int> seq_lens, int num_sms, std::uint64_t seed,
                           cuda::MlaDecodeKernel kernel = cuda::MlaDecodeKernel::kMmaSync) {
  const int heads = 128, d = cuda::kMlaDim, page = cuda::kMlaPage;
  const auto pages = shuffled_page_table(batch, seq_lens, page, seed);
  const int max_len = pages.max_len, max_pages = pages.max_pages, total_pages = pages.total_pages, next = pages.used;
  const auto& perm = pages.perm;
  const auto& table = pages.table;
  auto cache = random_bf16_values(std::size_t(total_pages) * page * d, seed + 1, -1, 1);
  for (int i = next; i < total_pages; ++i)
    std::fill_n(cache.begin() + std::size_t(perm[i]) * page * d, std::size_t(page) * d, 1000.0f);
  const auto q = random_bf16_values(std::size_t(batch) * heads * d, seed + 2, -1, 1);
  const float scale = 1.0f / std::sqrt(192.0f);
  std::vector<float> want(std::size_t(batch) * heads * cuda::kMlaLatent);
  ref::mla_decode_ref(batch, heads, cuda::kMlaLatent, cuda::kMlaRope, page, max_pages, q.data(), cache.data(),
                      table.data(), seq_lens.data(), scale, want.data());
  auto dq = upload_bf16(q), dc = upload_bf16(cache);
  DevBuf<int> dt(table.size()), dl(seq_lens.size());
  dt.upload(table);
  dl.upload(seq_lens);
  const auto c = decode_config(batch, heads, max_pages, max_len, num_sms, scale);
  DevBuf<unsigned char> ws(std::max<std::size_t>(16, cuda::mla_decode_workspace_bytes(c)));
  DevBuf<std::uint16_t> dout(want.size());
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  const bool wgmma = kernel != cuda::MlaDecodeKernel::kMmaSync;
  DevBuf<float> dbg(wgmma ? 4096 + 4096 + 64 * 512 : 1);
  if (wgmma) cuda::poison_f32(dbg.get(), dbg.size(), nullptr);
  cuda::mla_decode(c, as_bf16(dq), as_bf16(dc), dt.get(), dl.get(), as_bf16(dout), ws.get(), nullptr, kernel,
                   wgmma ? dbg.get() : nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dout);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  const int splits = cuda::mla_decode_num_splits(c);
  std::string note = "splits " + std::to_string(splits);
  if (wgmma) {
    // Stage-wise diagnosis from CTA (0,0,0), tile 0 (sequence 0, heads 0-63, its first page):
    // S against Q K^T, and O against the kernel's own P times V.
    const auto d = dbg.download();
    const int valid = std::min(64, seq_lens[0]);
    const float* kv = cache.data() + std::size_t(table[0]) * page * cuda::kMlaDim;
    std::vector<float> s_got, s_ref, o_ref(64 * 512, 0.0f);
    for (int r = 0; r < 64; ++r)
      for (int t = 0; t < valid; ++t) {
        double acc = 0;
        for (int i = 0; i < cuda::kMlaDim; ++i)
          acc += double(q[std::size_t(r) * cuda::kMlaDim + i]) * kv[std::size_t(t) * cuda::kMlaDim + i];
        s_ref.push_back(static_cast<float>(acc));
        s_got.push_back(d[r * 64 + t]);
      }
    for (int r = 0; r < 64; ++r)
      for (int n = 0; n < 512; ++n) {
        double acc = 0;
        for (int t = 0; t < valid; ++t) acc += double(d[4096 + r * 64 + t]) * kv[std::size_t(t) * cuda::kMlaDim + n];
        o_ref[std::size_t(r) * 512 + n] = static_cast<float>(acc);
      }
    const double es = ref::rel_l2_error(s_got.data(), s_ref.data(), s_got.size());
    const double eo = ref::rel_l2_error(d.data() + 8192, o_ref.data(), o_ref.size());
    char buf[160];
    std::snprintf(buf, sizeof buf, "; %s tile0: S vs QK^T %.3g, O vs P.V %.3g (valid %d)",
                  cuda::mla_decode_variant_name(kernel), es, eo, valid);
    note += buf;
  }
  const std::string key =
      wgmma ? std::string("mla_decode/") + cuda::mla_decode_variant_name(kernel) : std::string("mla_decode");
  st.check(key,
           JsonObject()
               .integer("batch", batch)
               .integer("heads", heads)
               .integer("max_kv_len", max_len)
               .integer("splits", splits)
               .close(),
           err, kBf16Bound, err <= kBf16Bound, note);
}

void check_mla_prefill(Stage& st) {
  // MLA shapes, strided exactly as the layer reads them: q[T][H][192] from q_b, k_nope and v
  // interleaved per head in kv_b's output [T][H][256], the rope key at column 512 of kv_a's [T][576].
  const int tokens = 200, heads = 3, nope = 128, rope = 64, dv = 128;
  const auto q = random_bf16_values(std::size_t(tokens) * heads * 192, 601, -1, 1);
  const auto kv = random_bf16_values(std::size_t(tokens) * heads * 256, 602, -1, 1);
  const auto kva = random_bf16_values(std::size_t(tokens) * 576, 603, -1, 1);
  std::vector<float> k_nope(std::size_t(tokens) * heads * nope), v(std::size_t(tokens) * heads * dv),
      k_rope(std::size_t(tokens) * rope);
  for (int t = 0; t < tokens; ++t) {
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < 128; ++i) {
        k_nope[(std::size_t(t) * heads + h) * nope + i] = kv[(std::size_t(t) * heads + h) * 256 + i];
        v[(std::size_t(t) * heads + h) * dv + i] = kv[(std::size_t(t) * heads + h) * 256 + 128 + i];
      }
    for (int i = 0; i < rope; ++i) k_rope[std::size_t(t) * rope + i] = kva[std::size_t(t) * 576 + 512 + i];
  }
  const float scale = 1.0f / std::sqrt(192.0f);
  std::vector<float> want(std::size_t(tokens) * heads * dv);
  ref::mla_prefill_ref(tokens, heads, nope, rope, dv, q.data(), k_nope.data(), k_rope.data(), v.data(), scale,
                       want.data());
  auto dq = upload_bf16(q), dkv = upload_bf16(kv), dkva = upload_bf16(kva);
  DevBuf<std::uint16_t> dout(want.size());
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  cuda::AttentionPrefillArgs a;
  a.tokens = tokens;
  a.heads = heads;
  a.heads_per_kv = 1;
  a.d_rope = rope;
  a.q = as_bf16(dq);
  a.q_ts = heads * 192;
  a.q_hs = 192;
  a.k_nope = as_bf16(dkv);
  a.k_ts = heads * 256;
  a.k_hs = 256;
  a.k_rope = as_bf16(dkva) + 512;
  a.kr_ts = 576;
  a.v = as_bf16(dkv) + 128;
  a.v_ts = heads * 256;
  a.v_hs = 256;
  a.out = as_bf16(dout);
  a.o_ts = heads * dv;
  a.o_hs = dv;
  a.softmax_scale = scale;
  cuda::attention_prefill(a, nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dout);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("mla_prefill", JsonObject().integer("tokens", tokens).integer("heads", heads).close(), err, kBf16Bound,
           err <= kBf16Bound);
}

void check_gqa_prefill(Stage& st) {
  // Llama layout: one fused qkv row per token [H*128 | HKV*128 | HKV*128].
  const int tokens = 130, heads = 8, kvh = 2, d = 128, row = (heads + 2 * kvh) * d;
  const auto qkv = random_bf16_values(std::size_t(tokens) * row, 701, -1, 1);
  std::vector<float> q(std::size_t(tokens) * heads * d), k(std::size_t(tokens) * kvh * d), v(k.size());
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < heads * d; ++i) q[std::size_t(t) * heads * d + i] = qkv[std::size_t(t) * row + i];
    for (int i = 0; i < kvh * d; ++i) {
      k[std::size_t(t) * kvh * d + i] = qkv[std::size_t(t) * row + heads * d + i];
      v[std::size_t(t) * kvh * d + i] = qkv[std::size_t(t) * row + (heads + kvh) * d + i];
    }
  }
  const float scale = 1.0f / std::sqrt(128.0f);
  std::vector<float> want(std::size_t(tokens) * heads * d);
  ref::attention_prefill_ref(tokens, heads, kvh, d, d, q.data(), k.data(), v.data(), scale, true, want.data());
  auto dqkv = upload_bf16(qkv);
  DevBuf<std::uint16_t> dout(want.size());
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  cuda::AttentionPrefillArgs a;
  a.tokens = tokens;
  a.heads = heads;
  a.heads_per_kv = heads / kvh;
  a.d_rope = 0;
  a.q = as_bf16(dqkv);
  a.q_ts = row;
  a.q_hs = d;
  a.k_nope = as_bf16(dqkv) + heads * d;
  a.k_ts = row;
  a.k_hs = d;
  a.v = as_bf16(dqkv) + (heads + kvh) * d;
  a.v_ts = row;
  a.v_hs = d;
  a.out = as_bf16(dout);
  a.o_ts = heads * d;
  a.o_hs = d;
  a.softmax_scale = scale;
  cuda::attention_prefill(a, nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dout);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  st.check("attention_prefill",
           JsonObject().integer("tokens", tokens).integer("heads", heads).integer("kv_heads", kvh).close(), err,
           kBf16Bound, err <= kBf16Bound);
}

// ---- FP8 (E4M3) ----

// GPU quantisers against the CPU reference: bytes and scales must be bit-identical (both compute
// amax / 448 and x / scale in IEEE float and round with RNE + saturation).
void check_fp8_quantize(Stage& st) {
  // Activations: 37 rows x 320 columns (two full 128-blocks and a short one), magnitudes spread
  // over 2^-12 .. 2^8 so subnormal codes, saturation-free large values and exact 448s all occur;
  // one all-zero block, one outlier.
  const int rows = 37, cols = 320;
  auto x = random_bf16_values(std::size_t(rows) * cols, 1101, -1, 1);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      x[std::size_t(r) * cols + c] = ref::bf16_round(std::ldexp(x[std::size_t(r) * cols + c], r % 21 - 12));
  for (int c = 128; c < 256; ++c) x[std::size_t(5) * cols + c] = 0.0f;
  x[std::size_t(9) * cols + 3] = 3000.0f;
  auto dx = upload_bf16(x);
  std::size_t mismatched = 0, total = 0;
  for (const int block : {128, 64}) {
    const int nb = (cols + block - 1) / block;
    std::vector<std::uint8_t> q_ref(x.size());
    std::vector<float> s_ref(std::size_t(rows) * nb);
    ref::quantize_e4m3_row_blocks(rows, cols, block, x.data(), q_ref.data(), s_ref.data());
    DevBuf<std::uint8_t> dq(q_ref.size());
    DevBuf<float> ds(s_ref.size());
    GWSIM_CUDA_CHECK(cudaMemset(dq.get(), 0x7f, dq.bytes()));  // e4m3 NaN
    cuda::poison_f32(ds.get(), ds.size(), nullptr);
    cuda::quantize_fp8_row_blocks(as_bf16(dx), rows, cols, block, dq.get(), ds.get(), nullptr);
    GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
    const auto q = dq.download();
    const auto sc = ds.download();
    for (std::size_t i = 0; i < q.size(); ++i) mismatched += q[i] != q_ref[i];
    for (std::size_t i = 0; i < sc.size(); ++i) mismatched += !(sc[i] == s_ref[i]);
    total += q.size() + sc.size();
  }
  // Weights: 3 matrices of 200 x 300 in 128 x 128 blocks (short edge blocks), fp32 input.
  const int mats = 3, wr = 200, wc = 300;
  std::vector<float> w(std::size_t(mats) * wr * wc);
  std::mt19937_64 rng(1102);
  std::uniform_real_distribution<float> du(-1.0f, 1.0f);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::ldexp(du(rng), static_cast<int>(i / wc % 13) - 6);
  std::vector<std::uint8_t> wq_ref(w.size());
  std::vector<float> ws_ref(std::size_t(mats) * 2 * 3);
  ref::quantize_e4m3_tile_blocks(mats, wr, wc, 128, w.data(), wq_ref.data(), ws_ref.data());
  DevBuf<float> dw(w.size());
  dw.upload(w);
  DevBuf<std::uint8_t> dwq(w.size());
  DevBuf<float> dws(ws_ref.size());
  GWSIM_CUDA_CHECK(cudaMemset(dwq.get(), 0x7f, dwq.bytes()));
  cuda::poison_f32(dws.get(), dws.size(), nullptr);
  cuda::quantize_fp8_128x128(dw.get(), mats, wr, wc, dwq.get(), dws.get(), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto wq = dwq.download();
  const auto wsc = dws.download();
  for (std::size_t i = 0; i < wq.size(); ++i) mismatched += wq[i] != wq_ref[i];
  for (std::size_t i = 0; i < wsc.size(); ++i) mismatched += !(wsc[i] == ws_ref[i]);
  total += wq.size() + wsc.size();
  const double frac = double(mismatched) / double(total);
  st.check("fp8_quantize",
           JsonObject().integer("rows", rows).integer("cols", cols).str("blocks", "1x128, 1x64, 128x128").close(), frac,
           0.0, mismatched == 0, "bytes and scales differing from the CPU reference: " + std::to_string(mismatched));
}

// The data of the grouped FP8 check, shared by its two kernels: quantised on the CPU (the GEMM is
// judged on its own, whatever the GPU quantiser does), reference = the exact dequantised product.
struct GroupedFp8Case {
  int experts = 12, n = 256, k = 768, rows = 0;  // 6 K blocks: both kernels' stage rings wrap
  std::vector<int> counts;
  std::vector<std::uint8_t> xq, wq;
  std::vector<float> xs, ws, want, want_unquantised;
};

const GroupedFp8Case& grouped_fp8_case() {
  static const GroupedFp8Case c = [] {
    GroupedFp8Case g;
    std::mt19937 rng(1201);
    g.counts.resize(std::size_t(g.experts));
    for (auto& v : g.counts) v = static_cast<int>(rng() % 200);
    g.counts[2] = 0;     // no tokens: no tile, nothing written
    g.counts[5] = 1;     // one row: a tile of 1
    g.counts[8] = 300;   // three 128-row tiles, the last of 44
    g.counts[11] = 128;  // exactly one full tile
    g.rows = std::accumulate(g.counts.begin(), g.counts.end(), 0);
    auto x = random_bf16_values(std::size_t(g.rows) * g.k, 1202, -1, 1);
    for (int r = 0; r < g.rows; ++r)  // per-row magnitudes 2^-3 .. 2^3: the row scales matter
      for (int kk = 0; kk < g.k; ++kk) x[std::size_t(r) * g.k + kk] *= std::ldexp(1.0f, r % 7 - 3);
    auto w = random_bf16_values(std::size_t(g.experts) * g.n * g.k, 1203, -0.05f, 0.05f);
    for (int e = 0; e < g.experts; ++e)  // per-expert magnitudes, and one block with an outlier
      for (std::size_t i = 0; i < std::size_t(g.n) * g.k; ++i) w[std::size_t(e) * g.n * g.k + i] *= float(1 + e % 4);
    w[std::size_t(3) * g.n * g.k + 5] = 2.0f;
    const int kb = g.k / 128, nb = g.n / 128;
    g.xq.resize(x.size());
    g.xs.resize(std::size_t(g.rows) * kb);
    g.wq.resize(w.size());
    g.ws.resize(std::size_t(g.experts) * nb * kb);
    ref::quantize_e4m3_row_blocks(g.rows, g.k, 128, x.data(), g.xq.data(), g.xs.data());
    ref::quantize_e4m3_tile_blocks(g.experts, g.n, g.k, 128, w.data(), g.wq.data(), g.ws.data());
    g.want.resize(std::size_t(g.rows) * g.n);
    ref::grouped_gemm_fp8_blockscaled_ref(g.experts, g.counts.data(), g.n, g.k, g.xq.data(), g.xs.data(), g.wq.data(),
                                          g.ws.data(), g.want.data());
    g.want_unquantised.resize(g.want.size());
    ref::grouped_gemm_ref(g.experts, g.counts.data(), g.n, g.k, x.data(), w.data(), g.want_unquantised.data());
    return g;
  }();
  return c;
}

void check_grouped_fp8(Stage& st, cuda::Fp8GroupedKernel kernel) {
  const auto& g = grouped_fp8_case();
  DevBuf<std::uint8_t> dxq(g.xq.size()), dwq(g.wq.size());
  DevBuf<float> dxs(g.xs.size()), dws(g.ws.size());
  dxq.upload(g.xq);
  dwq.upload(g.wq);
  dxs.upload(g.xs);
  dws.upload(g.ws);
  DevBuf<std::uint16_t> dy(g.want.size());
  const cuda::Fp8GroupedGemmPlan plan(g.counts, g.n, g.k);
  const std::string key = std::string("grouped_gemm_fp8/") + cuda::fp8_grouped_variant_name(kernel);
  // Twice, poisoned before each run: a result that depends on leftovers would differ.
  double worst = 0.0;
  std::vector<float> first;
  bool same = true;
  for (int rep = 0; rep < 2; ++rep) {
    cuda::poison_bf16(as_bf16(dy), dy.size(), nullptr);
    plan.run(dxq.get(), dxs.get(), dwq.get(), dws.get(), as_bf16(dy), nullptr, kernel);
    GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
    const auto out = download_bf16(dy);
    worst = std::max(worst, ref::rel_l2_error(out.data(), g.want.data(), out.size()));
    if (rep == 0)
      first = out;
    else
      same = std::equal(out.begin(), out.end(), first.begin(),
                        [](float a, float b) { return a == b || (a != a && b != b); });
  }
  const double vs_bf16 = ref::rel_l2_error(first.data(), g.want_unquantised.data(), first.size());
  char note[200];
  std::snprintf(note, sizeof note, "m_tiles %d; vs the unquantised bf16 product %.3g (the e4m3 quantisation itself)%s",
                plan.m_tiles(), vs_bf16, same ? "" : "; the two runs differ");
  st.check(key,
           JsonObject()
               .integer("experts", g.experts)
               .integer("rows", g.rows)
               .integer("N", g.n)
               .integer("K", g.k)
               .integer("scale_block", 128)
               .close(),
           worst, kBf16Bound, worst <= kBf16Bound && same, note);
}

// MLA decode over an FP8 cache (per token per 64 channels) against the reference on the
// dequantised cache. Unreferenced pages and the rows past each sequence's end in its last page
// hold e4m3 NaN codes (and NaN scales): reading any of them would make the output NaN.
void check_mla_decode_fp8kv_case(Stage& st, int batch, std::vector<int> seq_lens, int num_sms, std::uint64_t seed) {
  const int heads = 128, d = cuda::kMlaDim, page = cuda::kMlaPage, nsc = cuda::kMlaKvScales;
  const auto pages = shuffled_page_table(batch, seq_lens, page, seed);
  const int max_len = pages.max_len, max_pages = pages.max_pages, total_pages = pages.total_pages, next = pages.used;
  const auto& perm = pages.perm;
  const auto& table = pages.table;
  // Per-token magnitudes 2^-2 .. 2^2 (and the rope block 4x the latent's) so the scales differ.
  auto cache = random_bf16_values(std::size_t(total_pages) * page * d, seed + 1, -1, 1);
  for (std::size_t t = 0; t < std::size_t(total_pages) * page; ++t)
    for (int i = 0; i < d; ++i) cache[t * d + i] *= std::ldexp(1.0f, int(t % 5) - 2 + (i >= cuda::kMlaLatent ? 2 : 0));
  std::vector<std::uint8_t> cq(cache.size());
  std::vector<float> cs(std::size_t(total_pages) * page * nsc);
  ref::quantize_e4m3_row_blocks(total_pages * page, d, cuda::kMlaKvScaleBlock, cache.data(), cq.data(), cs.data());
  auto poison_row = [&](std::size_t tok) {
    std::fill_n(cq.begin() + tok * d, d, std::uint8_t(0x7f));
    std::fill_n(cs.begin() + tok * nsc, nsc, std::numeric_limits<float>::quiet_NaN());
  };
  for (int i = next; i < total_pages; ++i)
    for (int r = 0; r < page; ++r) poison_row(std::size_t(perm[i]) * page + r);
  for (int b = 0; b < batch; ++b) {
    const int len = seq_lens[b];
    if (len % page == 0) continue;
    const int last = table[std::size_t(b) * max_pages + len / page];
    for (int r = len % page; r < page; ++r) poison_row(std::size_t(last) * page + r);
  }
  const auto q = random_bf16_values(std::size_t(batch) * heads * d, seed + 2, -1, 1);
  const float scale = 1.0f / std::sqrt(192.0f);
  std::vector<float> want(std::size_t(batch) * heads * cuda::kMlaLatent), want_bf16(want.size());
  ref::mla_decode_fp8kv_ref(batch, heads, cuda::kMlaLatent, cuda::kMlaRope, page, max_pages, total_pages,
                            cuda::kMlaKvScaleBlock, q.data(), cq.data(), cs.data(), table.data(), seq_lens.data(),
                            scale, want.data());
  ref::mla_decode_ref(batch, heads, cuda::kMlaLatent, cuda::kMlaRope, page, max_pages, q.data(), cache.data(),
                      table.data(), seq_lens.data(), scale, want_bf16.data());
  auto dq = upload_bf16(q);
  DevBuf<std::uint8_t> dc(cq.size());
  dc.upload(cq);
  DevBuf<float> dcs(cs.size());
  dcs.upload(cs);
  DevBuf<int> dt(table.size()), dl(seq_lens.size());
  dt.upload(table);
  dl.upload(seq_lens);
  const auto c = decode_config(batch, heads, max_pages, max_len, num_sms, scale);
  DevBuf<unsigned char> ws(std::max<std::size_t>(16, cuda::mla_decode_workspace_bytes(c)));
  DevBuf<std::uint16_t> dout(want.size());
  cuda::poison_bf16(as_bf16(dout), dout.size(), nullptr);
  cuda::mla_decode_fp8kv(c, as_bf16(dq), dc.get(), dcs.get(), dt.get(), dl.get(), as_bf16(dout), ws.get(), nullptr);
  GWSIM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto out = download_bf16(dout);
  const double err = ref::rel_l2_error(out.data(), want.data(), out.size());
  const double vs_bf16 = ref::rel_l2_error(out.data(), want_bf16.data(), out.size());
  const int splits = cuda::mla_decode_num_splits(c);
  char note[160];
  std::snprintf(note, sizeof note, "splits %d; vs the bf16-cache reference %.3g (the e4m3 cache itself)", splits,
                vs_bf16);
  st.check("mla_decode_fp8kv",
           JsonObject()
               .integer("batch", batch)
               .integer("heads", heads)
               .integer("max_kv_len", max_len)
               .integer("splits", splits)
               .integer("kv_scale_block", cuda::kMlaKvScaleBlock)
               .close(),
           err, kBf16Bound, err <= kBf16Bound, note);
}

}  // namespace

void stage_checks(const Options& opt) {
  Stage st(opt, "checks", 90);
  // Library paths first, our own kernels after: a fault in one of ours poisons the context for
  // everything after it in this process (the timing stages run in fresh processes).
  guarded(st, "copy", [&] { check_copy(st); });
  guarded(st, "gemm", [&] { check_gemm(st); });
  guarded(st, "grouped_gemm", [&] { check_grouped(st); });
  guarded(st, "swiglu", [&] { check_swiglu(st); });
  guarded(st, "moe_gating", [&] { check_gating_permute_combine(st); });
  guarded(st, "moe_permute", [&] { check_skewed_permute(st); });
  // Split path (3 sequences, uneven, one of a single token) and the single-split path.
  guarded(st, "mla_decode", [&] { check_mla_decode_case(st, 3, {1, 100, 700}, st.prop().multiProcessorCount, 801); });
  guarded(st, "mla_decode", [&] { check_mla_decode_case(st, 1, {333}, 2, 802); });
  guarded(st, "mla_decode", [&] { check_mla_decode_case(st, 2, {64, 2048}, st.prop().multiProcessorCount, 803); });
  guarded(st, "mla_prefill", [&] { check_mla_prefill(st); });
  guarded(st, "attention_prefill", [&] { check_gqa_prefill(st); });
  guarded(st, "gemm_fp8", [&] { check_gemm_fp8(st); });
  // The Hopper wgmma MLA kernels last: a fault there would poison this process's context.
  for (const auto k : {cuda::MlaDecodeKernel::kWgmmaN64, cuda::MlaDecodeKernel::kWgmma,
                       cuda::MlaDecodeKernel::kWgmmaPipe, cuda::MlaDecodeKernel::kWgmmaWs}) {
    const std::string key = std::string("mla_decode/") + cuda::mla_decode_variant_name(k);
    guarded(st, key, [&] { check_mla_decode_case(st, 2, {64, 2048}, st.prop().multiProcessorCount, 813, k); });
    guarded(st, key, [&] { check_mla_decode_case(st, 3, {1, 100, 700}, st.prop().multiProcessorCount, 811, k); });
    guarded(st, key, [&] { check_mla_decode_case(st, 1, {333}, 2, 812, k); });
    guarded(st, key, [&] {
      check_mla_decode_case(st, 4, {4096, 130, 4000, 64}, st.prop().multiProcessorCount, 814, k);
    });
  }
  // The FP8 kernels (new; their first GPU run is still to come) after every earlier check, so a
  // fault in one cannot cost the kernels above their checks; among them, least new code first (a
  // sticky fault makes every later check fail with the same error: read the first failure): the
  // quantisers, MLA decode over an FP8 cache (the checked mma.sync kernel with new tile loads),
  // the mma.sync grouped GEMM, and the wgmma (sm_90a) grouped GEMM last of all.
  guarded(st, "fp8_quantize", [&] { check_fp8_quantize(st); });
  guarded(st, "mla_decode_fp8kv", [&] {
    check_mla_decode_fp8kv_case(st, 3, {1, 100, 700}, st.prop().multiProcessorCount, 1301);
  });
  guarded(st, "mla_decode_fp8kv", [&] { check_mla_decode_fp8kv_case(st, 1, {333}, 2, 1302); });
  guarded(st, "mla_decode_fp8kv", [&] {
    check_mla_decode_fp8kv_case(st, 2, {64, 2048}, st.prop().multiProcessorCount, 1303);
  });
  const std::string fp8_mma_key =
      std::string("grouped_gemm_fp8/") + cuda::fp8_grouped_variant_name(cuda::Fp8GroupedKernel::kMmaSync);
  guarded(st, fp8_mma_key, [&] { check_grouped_fp8(st, cuda::Fp8GroupedKernel::kMmaSync); });
  const std::string fp8_wgmma_key =
      std::string("grouped_gemm_fp8/") + cuda::fp8_grouped_variant_name(cuda::Fp8GroupedKernel::kWgmma);
  guarded(st, fp8_wgmma_key, [&] { check_grouped_fp8(st, cuda::Fp8GroupedKernel::kWgmma); });
}

}  // namespace gwsim::calib
