#pragma once
// Calibration profile (hwmodels/profiles/*.json, schema "gwsim.profile/1"): how fast ops and
// collectives run on one GPU type, relative to the catalogue's peaks. The only place where
// "how fast is this op" lives. Written by hand (published), by `gwsim calibrate --fit` (measured)
// or by derivation from another profile (derived).
#include <array>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gwsim/hwmodels/cluster.h"
#include "gwsim/hwmodels/gemm_tiles.h"
#include "gwsim/hwmodels/gpu.h"
#include "gwsim/hwmodels/op_class.h"
#include "gwsim/hwmodels/op_shape.h"

namespace gwsim {

enum class ProfileKind { published, measured, derived };
std::string to_string(ProfileKind k);

// Op classes the workload layer emits (OpClass, op_class.h). Compute-bound classes use peak FLOP/s of the op's
// precision; memory-bound classes use HBM bandwidth.
//   gemm            dense GEMM (matmul of a linear layer)
//   grouped_gemm    MoE expert GEMMs over uneven token groups
//   attention       attention core (flash-style) forward+backward, prefill
//   attention_backward  its backward, where a profile times it apart (else the attention entry)
//   mla_decode      MLA decode over the latent cache: its bytes at this entry's share of HBM
//                   bandwidth, its FLOPs at the attention entry's rate, whichever is slower
//   memory_bound    elementwise / norm / permute / optimizer (bytes over HBM bandwidth)

// What a curve's x axis measures.
//   size            the op's work: FLOPs (compute-bound classes) or bytes (memory-bound classes)
//   flops_per_byte  its arithmetic intensity. A grouped GEMM's efficiency follows its tokens per
//                   expert (each expert's weights are read once), which this tracks whatever the
//                   total size: under expert parallelism a GPU holds fewer experts with more tokens
//                   each, so the same FLOPs run far more efficiently than on one GPU holding all.
enum class CurveAxis { size, flops_per_byte };
std::string to_string(CurveAxis a);

struct EfficiencyPoint {
  double work = 0;        // the curve's x: size or FLOPs per byte (OpEfficiency::curve_axis)
  double efficiency = 0;  // achieved / peak, in (0, 1]
};

// Efficiency at x on points sorted by strictly increasing x: linear in log(x) between points,
// clamped at both ends (outside the measured range no trend is extrapolated). Empty: 0.
double interpolate_log_x(const std::vector<EfficiencyPoint>& points, double x);

// Attention efficiency by shape (AttentionShape, op_shape.h): one series per (head dim, mask), each
// efficiency by sequence length.
struct AttentionSeries {
  double head_dim = 0;
  bool causal = false;
  std::vector<EfficiencyPoint> by_seq_len;  // work = sequence length
};
struct AttentionTable {
  std::vector<AttentionSeries> series;  // sorted by (causal, head_dim)
  std::string source;
  // The series of the shape's mask (of both masks when it has none): log-linear in the sequence
  // length within each, then linear in the head dimension between the two nearest; clamped.
  double efficiency(const AttentionShape& shape) const;
};

struct BlockScaledRate {
  double rate = 1;  // block-scaled over per-tensor-scaled throughput, (0, 1]
  std::string source;
};

struct OpEfficiency {
  double efficiency = 0;               // asymptotic fraction of peak (large ops)
  double overhead_s = 0;               // fixed cost per launch (α)
  std::vector<EfficiencyPoint> curve;  // optional: measured points, log-linear interpolation in x
  double fit_rms_rel_error = 0;        // from the fit, 0 for published constants
  std::string source;
  CurveAxis curve_axis = CurveAxis::size;  // what the curve's x measures
  // Dense GEMM entries only: time by shape (gemm_tiles.h) for ops that carry their shape. Ops
  // without a shape, and profiles without a tile model, use efficiency/curve/overhead_s above.
  std::optional<GemmTileModel> tile_model{};
  // Attention entries only: efficiency by shape for ops that carry one (AttentionShape); others use
  // efficiency/curve above.
  std::optional<AttentionTable> by_shape{};
  // Dense GEMM entries only: a block-scaled FP8 GEMM's rate (DeepSeek-V3's 1 x 128 / 128 x 128
  // scales) as a fraction of the per-tensor-scaled rate this entry prices. Ops marked
  // Op::block_scaled compute at peak x rate (memory traffic and fixed costs unchanged); without it
  // (no measurement) they are priced as per-tensor.
  std::optional<BlockScaledRate> block_scaled{};

  // Fraction of peak at this curve x (curve if present, else the constant).
  double efficiency_at(double x) const;
  // Fraction of peak an op reaches: `work` is its FLOPs (compute-bound classes) or bytes
  // (memory-bound classes); flops and bytes give its intensity for a flops_per_byte curve.
  double efficiency_for(double work, double flops, double bytes) const;
};

// α-β cost of a collective on one link class: time = alpha + bytes_on_wire / (link_bw * bus_efficiency)
struct CollectiveEfficiency {
  double alpha_s = 0;
  double bus_efficiency = 1;  // achieved bus bandwidth / link line rate
  std::string source;
};

// A profile's key for an op entry: "<class>.<precision>", or "<class>" without a precision. The
// reference stays valid for the program's life.
const std::string& op_key(OpClass op_class, std::optional<Precision> precision = std::nullopt);

// Profile::op's resolved look-ups, one slot per (op class, precision or none). op_time_s asks for
// every op it prices, and the planner prices millions: a slot is filled on first use (threads may
// race to fill it with the same pointer) and points into the owning profile's `ops`. A copy starts
// empty (its pointers would point into the other profile), and the cache clears itself when the
// number of entries in `ops` changes (an entry added after a look-up).
class OpLookupCache {
 public:
  static constexpr std::size_t kPrecisionSlots = static_cast<std::size_t>(Precision::fp4) + 2;  // + "none"
  OpLookupCache() = default;
  OpLookupCache(const OpLookupCache&) {}
  OpLookupCache& operator=(const OpLookupCache&) {
    clear();
    return *this;
  }
  std::atomic<const OpEfficiency*>& slot(OpClass c, std::optional<Precision> p, std::size_t entries) const;

 private:
  void clear() const;
  mutable std::array<std::atomic<const OpEfficiency*>, kOpClasses.size() * kPrecisionSlots> slots_{};
  mutable std::atomic<std::size_t> entries_{static_cast<std::size_t>(-1)};
};

struct Profile {
  std::string name;
  std::string gpu_name;
  ProfileKind kind = ProfileKind::published;
  std::string source;                       // overall provenance (measurement file, paper)
  std::string derivation;                   // for derived profiles: from which profile and by which ratios
  std::map<std::string, OpEfficiency> ops;  // key: "<class>.<precision>", e.g. "gemm.bf16", "memory_bound"
  std::map<std::string, std::map<std::string, CollectiveEfficiency>> collectives;  // [link class][op]

  // Lookups fall back from "gemm.fp8" to "gemm" when the precision-specific entry is absent, and
  // from attention_backward to attention; InputError when neither is there. They build no strings
  // (the keys are precomputed, op_key): the planners call them for every op they price.
  const OpEfficiency& op(OpClass op_class, Precision precision) const;
  // The precision-less entry ("memory_bound"), with the same fallbacks.
  const OpEfficiency& op(OpClass op_class) const;
  const CollectiveEfficiency& collective(LinkClass link, const std::string& op) const;

  OpLookupCache op_cache;  // Profile::op's resolved entries (not part of the profile's content)
};

}  // namespace gwsim
