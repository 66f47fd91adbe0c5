// Host entry points of the CUDA kernels. Every launcher checks its launch (throws on error);
// none synchronises. Tensors are row-major, bf16 unless the name says otherwise.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

namespace gwsim::cuda {

using bf16 = __nv_bfloat16;

// ---- fill.cu: deterministic pseudo-random device data (never zeros for timing) ----
void fill_uniform_bf16(bf16* dst, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s);
void fill_uniform_f32(float* dst, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s);
// Marks every element unwritten: bf16 NaN (0x7fff) / float NaN.
void poison_bf16(bf16* dst, std::size_t n, cudaStream_t s);
void poison_f32(float* dst, std::size_t n, cudaStream_t s);

// ---- copy.cu: device-to-device copy kernel (16-byte vectors) ----
void copy_kernel(void* dst, const void* src, std::size_t bytes, cudaStream_t s);

// ---- gemm_cublas.cu: y[M][N] = x[M][K] w[N][K]^T, bf16 in/out, fp32 accumulate ----
// ldx is x's row stride in elements (k for a packed x).
void gemm_bf16(cublasHandle_t h, int m, int n, int k, const bf16* x, int ldx, const bf16* w, bf16* y);
// Same with fp32 output (the router's logits).
void gemm_bf16_f32out(cublasHandle_t h, int m, int n, int k, const bf16* x, int ldx, const bf16* w, float* y);

// ---- gemm_fp8.cu: y[M][N] (bf16) = (sx * x[M][K]) (sw * w[N][K])^T, x and w FP8 E4M3 (one
//      byte each, K-major: cuBLASLt's only FP8 form on sm_90, "TN"), sx and sw device floats,
//      fp32 accumulate, through cuBLASLt. K % 16 == 0. Plans are cached per (M, N, K). ----
class Fp8Gemm {
 public:
  Fp8Gemm();
  ~Fp8Gemm();
  Fp8Gemm(const Fp8Gemm&) = delete;
  Fp8Gemm& operator=(const Fp8Gemm&) = delete;
  void run(int m, int n, int k, const void* x, const void* w, const float* scale_x, const float* scale_w, bf16* y,
           cudaStream_t s);

 private:
  static constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;
  struct Plan {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
  };
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  std::map<std::tuple<int, int, int>, Plan> plans_;
};
// dst[i] = fp8_e4m3(src[i] * inv_scale), saturating.
void convert_bf16_to_fp8_e4m3(const bf16* src, void* dst, std::size_t n, float inv_scale, cudaStream_t s);

// Several streams, each with its own cuBLAS handle (a handle's workspace must not be shared by
// concurrent kernels), and the events to fork from and join back to an origin stream.
class StreamPool {
 public:
  explicit StreamPool(int n);
  ~StreamPool();
  StreamPool(const StreamPool&) = delete;
  StreamPool& operator=(const StreamPool&) = delete;
  int size() const { return static_cast<int>(streams_.size()); }
  cudaStream_t stream(int i) const { return streams_[i]; }
  cublasHandle_t handle(int i) const { return handles_[i]; }
  void fork(cudaStream_t origin) const;  // every stream waits for the origin's work so far
  void join(cudaStream_t origin) const;  // the origin waits for every stream's work so far

 private:
  std::vector<cudaStream_t> streams_;
  std::vector<cublasHandle_t> handles_;
  std::vector<cudaEvent_t> done_;
  cudaEvent_t start_ = nullptr;
};

// ---- grouped_gemm.cu: per expert e with counts[e] > 0,
//      y[off_e : off_e + counts[e]][N] = x[off_e : ...][K] * w_e[N][K]^T ----
class GroupedGemmPlan {
 public:
  // counts are host values; w holds experts consecutive N x K matrices.
  GroupedGemmPlan(const std::vector<int>& counts, int n, int k, const bf16* x, const bf16* w, bf16* y);
  ~GroupedGemmPlan();
  GroupedGemmPlan(const GroupedGemmPlan&) = delete;
  GroupedGemmPlan& operator=(const GroupedGemmPlan&) = delete;
  void run_grouped(cublasHandle_t h) const;  // one cublasGemmGroupedBatchedEx call
  void run_loop(cublasHandle_t h) const;     // one cublasGemmEx per expert
  // One cublasGemmEx per expert, spread over the pool's streams (largest first, each to the
  // least-loaded stream), forked from and joined back to origin.
  void run_streams(const StreamPool& pool, cudaStream_t origin) const;
  int active_experts() const { return static_cast<int>(m_.size()); }

 private:
  std::vector<int> m_, n_, k_, lda_, ldb_, ldc_, group_size_;
  std::vector<cublasOperation_t> ta_, tb_;
  std::vector<float> alpha_, beta_;
  std::vector<const void*> a_host_, b_host_;
  std::vector<void*> c_host_;
  const void** a_dev_ = nullptr;
  const void** b_dev_ = nullptr;
  void** c_dev_ = nullptr;
};

// ---- fp8_quant.cu: DeepSeek-V3 fine-grained FP8 (E4M3) quantisation. A block's scale is
//      amax / 448 (1 for an all-zero block) and q = e4m3(x / scale), round to nearest even,
//      saturating: bit-exact with kernels::ref::quantize_e4m3_row_blocks / _tile_blocks. ----
// Per row, per `block` consecutive columns (block % 32 == 0; the last block may be short):
// q[rows][cols], scales[rows][ceil(cols / block)]. Activations: block 128; MLA KV cache: 64.
void quantize_fp8_row_blocks(const bf16* x, int rows, int cols, int block, std::uint8_t* q, float* scales,
                             cudaStream_t s);
void quantize_fp8_row_blocks(const float* x, int rows, int cols, int block, std::uint8_t* q, float* scales,
                             cudaStream_t s);
// `matrices` consecutive [rows][cols] matrices in 128 x 128 blocks (edge blocks may be smaller):
// scales[matrices][ceil(rows / 128)][ceil(cols / 128)]. Expert weights.
void quantize_fp8_128x128(const bf16* x, int matrices, int rows, int cols, std::uint8_t* q, float* scales,
                          cudaStream_t s);
void quantize_fp8_128x128(const float* x, int matrices, int rows, int cols, std::uint8_t* q, float* scales,
                          cudaStream_t s);

// ---- grouped_gemm_fp8.cu: grouped GEMM over experts with DeepSeek-V3 block scaling. Per expert e
//      with counts[e] > 0, y[off_e : off_e + counts[e]][N] (bf16) = dequant(xq rows) * dequant(w_e)^T,
//      xq[rows][K] e4m3 with x_scales[rows][K/128] (1 x 128 tiles), wq[experts][N][K] e4m3 with
//      w_scales[experts][N/128][K/128] (128 x 128 blocks). Each 128-wide K block is multiplied
//      on the tensor cores into a fresh FP32 partial, which is then promoted into the FP32
//      accumulator times x_scale(row, kb) * w_scale(n block, kb) (V3 report, Sec. 3.3.2).
//      N % 128 == 0 and K % 128 == 0; 128 x 128 output tiles; experts with 0 rows get none. ----
// kMmaSync: mma.sync m16n8k32 e4m3 (sm_89+), 3-stage cp.async pipeline, 8 warps of 64 x 32.
// kWgmma: Hopper wgmma m64n128k32 e4m3 (sm_90a), 4-stage cp.async pipeline, 2 warpgroups of 64 x 128.
enum class Fp8GroupedKernel { kMmaSync, kWgmma };
const char* fp8_grouped_variant_name(Fp8GroupedKernel k);
class Fp8GroupedGemmPlan {
 public:
  // counts are host values (the grouped layout: expert e's rows follow expert e-1's).
  Fp8GroupedGemmPlan(const std::vector<int>& counts, int n, int k);
  ~Fp8GroupedGemmPlan();
  Fp8GroupedGemmPlan(const Fp8GroupedGemmPlan&) = delete;
  Fp8GroupedGemmPlan& operator=(const Fp8GroupedGemmPlan&) = delete;
  void run(const std::uint8_t* xq, const float* x_scales, const std::uint8_t* wq, const float* w_scales, bf16* y,
           cudaStream_t s, Fp8GroupedKernel kernel = Fp8GroupedKernel::kMmaSync) const;
  int rows() const { return rows_; }
  int m_tiles() const { return m_tiles_; }

 private:
  int n_ = 0, k_ = 0, rows_ = 0, m_tiles_ = 0;
  int4* tiles_ = nullptr;  // per 128-row tile: {expert, first row, rows in the tile, 0}
};

// ---- mla_decode.cu: MLA decode over the paged latent cache (absorbed form) ----
// q[B][H][576], cache[pages][64][576], block_table[B][max_pages], seq_lens[B] (device),
// out[B][H][512]. heads must be a multiple of 64. Work space comes from MlaDecodeWorkspace.
struct MlaDecodeConfig {
  int batch = 0, heads = 128, max_pages = 0, max_seq_len = 0, num_sms = 132;
  float softmax_scale = 0.0f;
};
constexpr int kMlaLatent = 512, kMlaRope = 64, kMlaDim = 576, kMlaPage = 64;
int mla_decode_num_splits(const MlaDecodeConfig& c);
std::size_t mla_decode_workspace_bytes(const MlaDecodeConfig& c);
// kMmaSync: the reference kernel (mma.sync m16n8k16, 32-token tiles). kWgmma: Hopper wgmma
// (sm_90a), 64-token tiles, P.V as one m64n256k16 per k-step; kWgmmaN64: the same with four
// m64n64k16 (a layout-safe fallback); kWgmmaPipe: kWgmma with the next tile's S issued behind
// this tile's P.V (software-pipelined). debug (wgmma only, may be null): 4096 + 4096 + 32768
// floats; CTA (0,0,0) writes tile 0's raw S = Q K^T [64][64], its P [64][64] (bf16 values) and
// O = P V after tile 0 [64][512], for diagnosing a wrong result.
// kWgmmaWs (mla_decode_pipelined.cu): warp-specialised; WG0 does S, softmax and P.V of the left
// 256 columns, WG1 P.V of the right half and the cp.async loads into a 2-stage mbarrier ring.
enum class MlaDecodeKernel { kMmaSync, kWgmma, kWgmmaN64, kWgmmaPipe, kWgmmaWs };
const char* mla_decode_variant_name(MlaDecodeKernel k);
void mla_decode(const MlaDecodeConfig& c, const bf16* q, const bf16* cache, const int* block_table, const int* seq_lens,
                bf16* out, void* workspace, cudaStream_t s, MlaDecodeKernel kernel = MlaDecodeKernel::kMmaSync,
                float* debug = nullptr);

// MLA decode over an FP8 latent cache (mla_decode.cu, the mma.sync kernel with its tile loads
// swapped): cache_fp8[pages][64][576] e4m3, cache_scales[pages][64][9] float, one scale per token
// per 64 channels (8 latent blocks, then the rope block), as quantize_fp8_row_blocks(.., 576, 64, ..)
// writes them. Each 32-token tile is copied (cp.async) into a staging buffer, dequantised
// (e4m3 * scale, rounded to bf16) into the bf16 tile the unchanged S / softmax / P.V code reads;
// the next tile's copy overlaps this tile's math. Same workspace and splits as mla_decode.
constexpr int kMlaKvScaleBlock = 64, kMlaKvScales = kMlaDim / kMlaKvScaleBlock;
void mla_decode_fp8kv(const MlaDecodeConfig& c, const bf16* q, const std::uint8_t* cache_fp8, const float* cache_scales,
                      const int* block_table, const int* seq_lens, bf16* out, void* workspace, cudaStream_t s);

// ---- attention_prefill.cu: causal flash attention with strided q/k/v ----
// Head h reads q[t*q_ts + h*q_hs + 0:d_nope+d_rope], key [k_nope[t*k_ts + kvh*k_hs + 0:d_nope],
// k_rope[t*kr_ts + 0:d_rope]] (rope part shared by all heads), v[t*v_ts + kvh*v_hs + 0:128],
// kvh = h / heads_per_kv; writes out[t*o_ts + h*o_hs + 0:128]. d_nope = 128, d_rope in {0, 64}.
struct AttentionPrefillArgs {
  int tokens = 0, heads = 0, heads_per_kv = 1, d_rope = 0;
  const bf16* q = nullptr;
  long q_ts = 0, q_hs = 0;
  const bf16* k_nope = nullptr;
  long k_ts = 0, k_hs = 0;
  const bf16* k_rope = nullptr;
  long kr_ts = 0;
  const bf16* v = nullptr;
  long v_ts = 0, v_hs = 0;
  bf16* out = nullptr;
  long o_ts = 0, o_hs = 0;
  float softmax_scale = 0.0f;
};
void attention_prefill(const AttentionPrefillArgs& a, cudaStream_t s);

// ---- moe_gating.cu: DeepSeek-V3 routing (sigmoid, bias, 8 groups -> top-4 groups -> top-8) ----
// logits[T][256] fp32, bias[256] -> topk_idx[T][8], topk_weight[T][8].
void moe_gating(int tokens, const float* logits, const float* bias, float routed_scaling, int* topk_idx,
                float* topk_weight, cudaStream_t s);

// ---- moe_permute.cu: dispatch order (expert-contiguous, stable) and token gather ----
struct MoePermuteWorkspace {
  int* chunk_counts = nullptr;  // [chunks][experts]
  int* counts = nullptr;        // [experts]
  int* offsets = nullptr;       // [experts + 1]
  int* row_token = nullptr;     // [T*k]
  int* pos_of = nullptr;        // [T*k]
};
std::size_t moe_permute_chunk_count(int assignments);
void moe_permute_index(int tokens, int top_k, int experts, const int* topk_idx, const MoePermuteWorkspace& ws,
                       cudaStream_t s);
// x_perm[p][hidden] = x[row_token[p]][hidden]; hidden % 8 == 0.
void moe_gather(int rows, int hidden, const bf16* x, const int* row_token, bf16* x_perm, cudaStream_t s);

// ---- moe_combine.cu: out[t] = sum_j w[t][j] * y_perm[pos_of[t*k+j]] (fp32 sum, bf16 out) ----
void moe_combine(int tokens, int top_k, int hidden, const bf16* y_perm, const int* pos_of, const float* topk_weight,
                 bf16* out, cudaStream_t s);

// ---- swiglu.cu: out[r][i] = silu(gu[r][i]) * gu[r][inter + i]; inter % 8 == 0 ----
void swiglu(int rows, int inter, const bf16* gate_up, bf16* out, cudaStream_t s);

}  // namespace gwsim::cuda
