#pragma once
// The shapes of ops whose speed depends on more than their FLOPs and bytes: what the workloads
// state about an op, and what the profile's shape-aware entries (gemm_tiles.h, AttentionTable in
// profile.h) read. Unknown shapes (zeros) fall back to the size-only efficiency.

namespace gwsim {

// The problem one GEMM op solves: `batch` independent M x N x K products (attention heads, or 1).
struct GemmShape {
  double m = 0, n = 0, k = 0, batch = 1;
  bool known() const { return m > 0 && n > 0 && k > 0 && batch > 0; }
  double flops() const { return 2 * m * n * k * batch; }
};

// Attention kernels (FlashAttention-style) by shape. Their efficiency grows with the sequence (more
// key blocks per query block amortise the softmax rescaling and the output store) and with the head
// dimension (more FLOPs per loaded byte), and a causal mask costs the partly masked diagonal blocks.
struct AttentionShape {
  double seq_len = 0;   // keys each query attends over before masking (the sequence, or the context)
  double head_dim = 0;  // (qk + v head dims) / 2: MLA's 192 / 128 count as 160
  bool causal = false;
  bool known() const { return seq_len > 0 && head_dim > 0; }
};

}  // namespace gwsim
