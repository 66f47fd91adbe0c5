// Causal prefill attention (flash-attention style) for MLA in the non-absorbed form (q/k head
// dim 192 = 128 nope + 64 rope, the rope key shared by all heads, v head dim 128) and for GQA
// models (head dim 128, no separate rope part). Strided inputs let it read the projection GEMMs'
// outputs in place, without a rearranging copy.
//
// CTA = 64 query rows of one head, 4 warps x 16 rows. Q fragments stay in registers; K/V tiles
// of 64 tokens are double-buffered in shared memory with cp.async; S = Q K^T and O += P V run
// on mma.sync m16n8k16 (bf16, fp32 accumulate); the softmax is online in registers (each row's
// 64 scores live in one quad of lanes) and P goes from the S accumulators straight into A
// fragments, whose layout matches.
#include <cmath>
#include <stdexcept>

#include "cuda_check.h"
#include "mma.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kRows = 64, kThreads = 128, kNope = 128, kDv = 128, kVStride = kDv + 8;

template <int D_ROPE>
struct Layout {
  static constexpr int kDqk = kNope + D_ROPE;
  static constexpr int kStride = kDqk + 8;  // +16 B per row: conflict-free fragment loads
  static constexpr std::size_t kQBytes = std::size_t(kRows) * kStride * 2;
  static constexpr std::size_t kKBytes = std::size_t(2) * kRows * kStride * 2;
  static constexpr std::size_t kVBytes = std::size_t(2) * kRows * kVStride * 2;
  static constexpr std::size_t kSmem = kQBytes + kKBytes + kVBytes;
};

template <int D_ROPE>
__device__ __forceinline__ void load_kv_tile(const AttentionPrefillArgs& a, int kvh, int tok0, bf16* k_dst, bf16* v_dst,
                                             int tid) {
  using L = Layout<D_ROPE>;
  constexpr int kKChunks = L::kDqk / 8, kVChunks = kDv / 8;
  for (int c = tid; c < kRows * kKChunks; c += kThreads) {
    const int row = c / kKChunks, ch = c % kKChunks, t = tok0 + row;
    bf16* d = k_dst + row * L::kStride + ch * 8;
    if (t >= a.tokens) {
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
    } else if (ch < kNope / 8) {
      cp_async16(d, a.k_nope + t * a.k_ts + kvh * a.k_hs + ch * 8);
    } else {
      cp_async16(d, a.k_rope + t * a.kr_ts + (ch - kNope / 8) * 8);
    }
  }
  for (int c = tid; c < kRows * kVChunks; c += kThreads) {
    const int row = c / kVChunks, ch = c % kVChunks, t = tok0 + row;
    bf16* d = v_dst + row * kVStride + ch * 8;
    if (t >= a.tokens)
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
    else
      cp_async16(d, a.v + t * a.v_ts + kvh * a.v_hs + ch * 8);
  }
}

template <int D_ROPE>
__global__ void __launch_bounds__(kThreads) attention_prefill_kernel(const AttentionPrefillArgs a) {
  using L = Layout<D_ROPE>;
  constexpr int kKSteps = L::kDqk / 16;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* q_s = reinterpret_cast<bf16*>(smem);
  bf16* k_s = reinterpret_cast<bf16*>(smem + L::kQBytes);
  bf16* v_s = reinterpret_cast<bf16*>(smem + L::kQBytes + L::kKBytes);

  const int n_qb = (a.tokens + kRows - 1) / kRows;
  const int qb = n_qb - 1 - static_cast<int>(blockIdx.x);  // longest rows first: better tail
  const int h = blockIdx.y, kvh = h / a.heads_per_kv;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int q0 = qb * kRows;
  const float scale_log2 = a.softmax_scale * 1.4426950408889634f;

  for (int c = tid; c < kRows * (L::kDqk / 8); c += kThreads) {
    const int row = c / (L::kDqk / 8), ch = c % (L::kDqk / 8), t = q0 + row;
    bf16* d = q_s + row * L::kStride + ch * 8;
    if (t < a.tokens)
      cp_async16(d, a.q + t * a.q_ts + h * a.q_hs + ch * 8);
    else
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
  }
  load_kv_tile<D_ROPE>(a, kvh, 0, k_s, v_s, tid);
  cp_async_commit();

  uint32_t qf[kKSteps][4];
  float o[kDv / 8][4];
#pragma unroll
  for (int nt = 0; nt < kDv / 8; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) o[nt][c] = 0.0f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f};
  const int row_q[2] = {q0 + 16 * warp + g, q0 + 16 * warp + g + 8};

  const int n_kv = qb + 1;  // causal: key tiles up to the diagonal one
  for (int j = 0; j < n_kv; ++j) {
    if (j + 1 < n_kv) {
      load_kv_tile<D_ROPE>(a, kvh, (j + 1) * kRows, k_s + ((j + 1) & 1) * kRows * L::kStride,
                           v_s + ((j + 1) & 1) * kRows * kVStride, tid);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int ks = 0; ks < kKSteps; ++ks) {
        const bf16* qr = q_s + (16 * warp + g) * L::kStride + 16 * ks + 2 * t4;
        qf[ks][0] = lds32(qr);
        qf[ks][1] = lds32(qr + 8 * L::kStride);
        qf[ks][2] = lds32(qr + 8);
        qf[ks][3] = lds32(qr + 8 * L::kStride + 8);
      }
    }
    const bf16* kt = k_s + (j & 1) * kRows * L::kStride;
    const bf16* vt = v_s + (j & 1) * kRows * kVStride;

    float sacc[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) sacc[nt][c] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks)
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const bf16* kr = kt + (8 * nt + g) * L::kStride + 16 * ks + 2 * t4;
        mma_bf16_16816(sacc[nt], qf[ks], lds32(kr), lds32(kr + 8));
      }

    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int col = j * kRows + 8 * nt + 2 * t4 + (c & 1);
        const int r = c >> 1;
        const bool valid = col <= row_q[r] && col < a.tokens;
        sacc[nt][c] = valid ? sacc[nt][c] * scale_log2 : -INFINITY;
        mx[r] = fmaxf(mx[r], sacc[nt][c]);
      }
    float alpha[2], m_ref[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(m_run[r], mx[r]);
      m_ref[r] = m_new == -INFINITY ? 0.0f : m_new;
      alpha[r] = exp2f(m_run[r] - m_ref[r]);
      m_run[r] = m_new;
      l_run[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float pv = exp2f(sacc[nt][c] - m_ref[c >> 1]);
        sacc[nt][c] = pv;
        l_run[c >> 1] += pv;
      }
#pragma unroll
    for (int nt = 0; nt < kDv / 8; ++nt) {
      o[nt][0] *= alpha[0];
      o[nt][1] *= alpha[0];
      o[nt][2] *= alpha[1];
      o[nt][3] *= alpha[1];
    }
#pragma unroll
    for (int kk = 0; kk < kRows / 16; ++kk) {
      // C fragments of key columns 16kk..16kk+15 are exactly the A fragment of P for this k-step.
      uint32_t pa[4];
      pa[0] = pack_bf16x2(sacc[2 * kk][0], sacc[2 * kk][1]);
      pa[1] = pack_bf16x2(sacc[2 * kk][2], sacc[2 * kk][3]);
      pa[2] = pack_bf16x2(sacc[2 * kk + 1][0], sacc[2 * kk + 1][1]);
      pa[3] = pack_bf16x2(sacc[2 * kk + 1][2], sacc[2 * kk + 1][3]);
#pragma unroll
      for (int np = 0; np < kDv / 16; ++np) {
        const bf16* vr = vt + (16 * kk + (lane & 7) + ((lane >> 3) & 1) * 8) * kVStride + 16 * np + (lane >> 4) * 8;
        uint32_t r[4];
        ldmatrix_x4_trans(r, vr);
        mma_bf16_16816(o[2 * np], pa, r[0], r[1]);
        mma_bf16_16816(o[2 * np + 1], pa, r[2], r[3]);
      }
    }
    __syncthreads();  // the buffers of tile j are free for tile j + 2
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 1);
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (row_q[r] >= a.tokens) continue;
    const float inv = l_run[r] > 0.0f ? 1.0f / l_run[r] : 0.0f;
    bf16* dst = a.out + row_q[r] * a.o_ts + h * a.o_hs + 2 * t4;
#pragma unroll
    for (int nt = 0; nt < kDv / 8; ++nt)
      *reinterpret_cast<__nv_bfloat162*>(dst + 8 * nt) =
          __floats2bfloat162_rn(o[nt][2 * r] * inv, o[nt][2 * r + 1] * inv);
  }
}

template <int D_ROPE>
void launch(const AttentionPrefillArgs& a, cudaStream_t s) {
  using L = Layout<D_ROPE>;
  static bool attr_set = false;
  if (!attr_set) {
    GWSIM_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_kernel<D_ROPE>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(L::kSmem)));
    attr_set = true;
  }
  const dim3 grid((a.tokens + kRows - 1) / kRows, a.heads);
  attention_prefill_kernel<D_ROPE><<<grid, kThreads, L::kSmem, s>>>(a);
  GWSIM_LAUNCH_CHECK();
}

bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

}  // namespace

void attention_prefill(const AttentionPrefillArgs& a, cudaStream_t s) {
  const bool strides_ok = a.q_ts % 8 == 0 && a.q_hs % 8 == 0 && a.k_ts % 8 == 0 && a.k_hs % 8 == 0 &&
                          a.kr_ts % 8 == 0 && a.v_ts % 8 == 0 && a.v_hs % 8 == 0 && a.o_hs % 2 == 0 && a.o_ts % 2 == 0;
  const bool ptrs_ok =
      aligned16(a.q) && aligned16(a.k_nope) && aligned16(a.v) && (a.d_rope == 0 || aligned16(a.k_rope));
  if (!strides_ok || !ptrs_ok || a.heads <= 0 || a.heads_per_kv <= 0 || a.heads % a.heads_per_kv != 0)
    throw std::invalid_argument("attention_prefill: 16-byte aligned rows and heads % heads_per_kv == 0 needed");
  if (a.tokens <= 0) return;
  if (a.d_rope == 64)
    launch<64>(a, s);
  else if (a.d_rope == 0)
    launch<0>(a, s);
  else
    throw std::invalid_argument("attention_prefill: d_rope must be 0 or 64");
}

}  // namespace gwsim::cuda
