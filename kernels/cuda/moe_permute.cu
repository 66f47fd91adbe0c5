// MoE dispatch order on the GPU, deterministic and equal to the CPU reference: assignments
// (t, j) sorted by expert, then by t*top_k + j. Three small kernels over chunks of 256
// assignments (per-chunk expert histograms, a scan, per-chunk stable ranks), then a gather of
// token rows into expert-contiguous order.
#include <stdexcept>

#include "cuda_check.h"
#include "ops.h"

namespace gwsim::cuda {
namespace {

constexpr int kChunk = 256;

__global__ void __launch_bounds__(kChunk)
    chunk_histogram_kernel(int assignments, int experts, const int* __restrict__ topk_idx,
                           int* __restrict__ chunk_counts) {
  extern __shared__ int hist[];
  for (int e = threadIdx.x; e < experts; e += blockDim.x) hist[e] = 0;
  __syncthreads();
  const int a = blockIdx.x * kChunk + threadIdx.x;
  if (a < assignments) atomicAdd(&hist[topk_idx[a]], 1);
  __syncthreads();
  for (int e = threadIdx.x; e < experts; e += blockDim.x)
    chunk_counts[static_cast<std::size_t>(blockIdx.x) * experts + e] = hist[e];
}

// One block, one thread per expert: totals, exclusive scan over experts, then each chunk's base
// position per expert (written over chunk_counts).
__global__ void scan_kernel(int chunks, int experts, int* __restrict__ chunk_counts, int* __restrict__ counts,
                            int* __restrict__ offsets) {
  extern __shared__ int totals[];
  const int e = threadIdx.x;
  int total = 0;
  if (e < experts)
    for (int c = 0; c < chunks; ++c) total += chunk_counts[static_cast<std::size_t>(c) * experts + e];
  if (e < experts) totals[e] = total;
  __syncthreads();
  if (e == 0) {  // 256 additions: cheaper than a parallel scan's barriers at this size
    int run = 0;
    for (int i = 0; i < experts; ++i) {
      const int t = totals[i];
      totals[i] = run;
      run += t;
    }
    offsets[experts] = run;
  }
  __syncthreads();
  if (e < experts) {
    counts[e] = total;
    offsets[e] = totals[e];
    int run = totals[e];
    for (int c = 0; c < chunks; ++c) {
      int* cc = chunk_counts + static_cast<std::size_t>(c) * experts + e;
      const int n = *cc;
      *cc = run;
      run += n;
    }
  }
}

__global__ void __launch_bounds__(kChunk)
    chunk_rank_kernel(int assignments, int experts, int top_k, const int* __restrict__ topk_idx,
                      const int* __restrict__ chunk_base, int* __restrict__ row_token, int* __restrict__ pos_of) {
  __shared__ int ex[kChunk];
  const int i = threadIdx.x;
  const int a = blockIdx.x * kChunk + i;
  ex[i] = a < assignments ? topk_idx[a] : -1;
  __syncthreads();
  if (a >= assignments) return;
  const int e = ex[i];
  int rank = 0;
  for (int j = 0; j < i; ++j) rank += ex[j] == e ? 1 : 0;  // earlier assignments of e in the chunk
  const int pos = chunk_base[static_cast<std::size_t>(blockIdx.x) * experts + e] + rank;
  pos_of[a] = pos;
  row_token[pos] = a / top_k;
}

__global__ void __launch_bounds__(128)
    gather_rows_kernel(int hidden_vec, const uint4* __restrict__ x, const int* __restrict__ row_token,
                       uint4* __restrict__ x_perm) {
  const int p = blockIdx.x;
  const uint4* src = x + static_cast<std::size_t>(row_token[p]) * hidden_vec;
  uint4* dst = x_perm + static_cast<std::size_t>(p) * hidden_vec;
  for (int i = threadIdx.x; i < hidden_vec; i += blockDim.x) dst[i] = src[i];
}

}  // namespace

std::size_t moe_permute_chunk_count(int assignments) {
  return static_cast<std::size_t>((assignments + kChunk - 1) / kChunk);
}

void moe_permute_index(int tokens, int top_k, int experts, const int* topk_idx, const MoePermuteWorkspace& ws,
                       cudaStream_t s) {
  if (experts <= 0 || experts > 1024) throw std::invalid_argument("moe_permute: experts in 1..1024");
  const int assignments = tokens * top_k;
  const int chunks = static_cast<int>(moe_permute_chunk_count(assignments));
  if (chunks == 0) return;
  const std::size_t shm = static_cast<std::size_t>(experts) * sizeof(int);
  chunk_histogram_kernel<<<chunks, kChunk, shm, s>>>(assignments, experts, topk_idx, ws.chunk_counts);
  GWSIM_LAUNCH_CHECK();
  const int threads = ((experts + 31) / 32) * 32;
  scan_kernel<<<1, threads, shm, s>>>(chunks, experts, ws.chunk_counts, ws.counts, ws.offsets);
  GWSIM_LAUNCH_CHECK();
  chunk_rank_kernel<<<chunks, kChunk, 0, s>>>(assignments, experts, top_k, topk_idx, ws.chunk_counts, ws.row_token,
                                              ws.pos_of);
  GWSIM_LAUNCH_CHECK();
}

void moe_gather(int rows, int hidden, const bf16* x, const int* row_token, bf16* x_perm, cudaStream_t s) {
  if (hidden % 8 != 0) throw std::invalid_argument("moe_gather: hidden % 8 != 0");
  if (rows <= 0) return;
  gather_rows_kernel<<<rows, 128, 0, s>>>(hidden / 8, reinterpret_cast<const uint4*>(x), row_token,
                                          reinterpret_cast<uint4*>(x_perm));
  GWSIM_LAUNCH_CHECK();
}

}  // namespace gwsim::cuda
