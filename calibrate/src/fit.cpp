// From measurements to a profile: α-β least squares (Eigen), efficiency curves, merge, derivation.
//
// The model, for every op class and collective:
//     measured time = overhead + ideal time / efficiency,   ideal time = work / peak
// where work is FLOPs (compute classes, peak = the catalogue's dense FLOP/s of the precision), bytes
// (memory-bound classes, peak = HBM bandwidth) or wire bytes (collectives, peak = the link's line
// rate, wire bytes by the nccl-tests bus-bandwidth convention). Writing b = 1 / efficiency makes it
// linear in (overhead, b), so ordinary least squares solves it.
#include "gwsim/calibrate/fit.h"
#include "gwsim/common/text_and_numbers.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "gwsim/common/input_error.h"
#include "gwsim/hwmodels/catalogue.h"

namespace gwsim::calibrate {

namespace {

std::string basename_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double rms_rel_error_of(const std::vector<FitPoint>& points, double overhead_s, double efficiency) {
  double sum = 0;
  for (const auto& p : points) {
    const double rel = (overhead_s + p.ideal_s / efficiency - p.measured_s) / p.measured_s;
    sum += rel * rel;
  }
  return points.empty() ? 0 : std::sqrt(sum / static_cast<double>(points.size()));
}

// How a measurement op (the sweep file's op name) enters the profile.
struct OpClassOf {
  std::optional<OpClass> op_class;  // none: not a compute/memory op
  bool bandwidth_bound = false;     // work = bytes over HBM bandwidth
};
OpClassOf class_of(const std::string& op) {
  if (op == "gemm") return {OpClass::gemm, false};
  if (op == "grouped_gemm") return {OpClass::grouped_gemm, false};
  if (op == "mla_prefill" || op == "attention_prefill") return {OpClass::attention, false};
  if (op == "mla_decode") return {OpClass::mla_decode, true};  // reads the whole latent cache: memory-bound
  if (op == "copy" || op == "moe_permute" || op == "moe_combine" || op == "moe_gating" || op == "swiglu")
    return {OpClass::memory_bound, true};
  return {std::nullopt, false};
}

// Points grouped under one profile entry, with the files they came from.
struct Group {
  std::vector<FitPoint> points;  // work: the curve's x (size, or FLOPs per byte)
  CurveAxis axis = CurveAxis::size;
  std::optional<OpClass> op_class;    // op groups: their class (none for collectives)
  std::set<std::string> files;        // basenames, sorted for a deterministic source text
  std::map<std::string, int> ops;     // "op/variant" -> points
  std::vector<TiledGemmPoint> tiled;  // dense GEMM records with their M, N, K (the tile model's points)
  std::optional<Precision> precision;
};

std::string fit_source(const Group& g) {
  std::vector<std::string> files(g.files.begin(), g.files.end());
  std::vector<std::string> ops;
  for (const auto& [name, n] : g.ops) ops.push_back(fmt::format("{} {}", name, n));
  return fmt::format("fit of {} point{} ({}) from {}", g.points.size(), g.points.size() == 1 ? "" : "s",
                     fmt::join(ops, ", "), fmt::join(files, ", "));
}

std::string op_variant(const Measurement& m) { return m.variant.empty() ? m.op : m.op + "/" + m.variant; }

// Records that time the same op on the same shape with different implementations (cublas_grouped
// and cublas_loop, copy kernel and cudaMemcpy) differ only in their variant.
// Records without a variant are never compared (a file without variants states no alternatives).
std::string same_shape_key(const std::string& file, const Measurement& m) {
  std::string key = fmt::format("{}|{}|{}|{}|{}", file, m.op, m.precision, m.flops, m.bytes);
  for (const auto& [k, v] : m.shape) key += fmt::format("|{}={}", k, v);
  for (const auto& [k, v] : m.shape_text) key += fmt::format("|{}={}", k, v);
  return key;
}

std::string describe_set(const MeasurementSet& set) {
  std::vector<std::string> parts;
  if (!set.device.name.empty()) parts.push_back(set.device.name);
  if (set.link) {
    parts.push_back(fmt::format("nccl-tests, {} ranks on {} at {} GB/s per direction", set.link->ranks,
                                to_string(set.link->link), set.link->line_rate_bps / 1e9));
  }
  if (!set.device.driver.empty()) parts.push_back("driver " + set.device.driver);
  if (!set.device.cuda_runtime.empty()) parts.push_back("CUDA " + set.device.cuda_runtime);
  if (!set.device.nccl.empty()) parts.push_back("NCCL " + set.device.nccl);
  if (!set.device.cublas.empty()) parts.push_back("cuBLAS " + set.device.cublas);
  if (!set.started_utc.empty()) parts.push_back(set.started_utc);
  return fmt::format("{} ({})", basename_of(set.file), fmt::join(parts, ", "));
}

bool names_gpu(const GpuSpec& gpu, const std::string& name) {
  if (to_lower(gpu.name) == to_lower(name)) return true;
  return std::any_of(gpu.aliases.begin(), gpu.aliases.end(),
                     [&](const std::string& a) { return to_lower(a) == to_lower(name); });
}

std::string ratio_text(double to, double from) {
  return (to > 0 && from > 0) ? fmt::format("{:.4g}", to / from) : std::string("unknown");
}

}  // namespace

AlphaBetaFit fit_alpha_beta(const std::vector<FitPoint>& points, double max_overhead_s) {
  if (points.empty()) throw InputError("alpha-beta fit: expected at least one measured point, got none");
  AlphaBetaFit fit;
  fit.points = points.size();
  const Eigen::Index n = static_cast<Eigen::Index>(points.size());

  // Row i: overhead / t_i + b * x_i / t_i = 1 (the model divided by the measured time t_i), so the
  // residuals are relative errors and every size counts the same.
  Eigen::MatrixXd a(n, 2);
  Eigen::VectorXd rhs = Eigen::VectorXd::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& p = points[static_cast<std::size_t>(i)];
    a(i, 0) = 1.0 / p.measured_s;
    a(i, 1) = p.ideal_s / p.measured_s;
  }
  // The columns differ by orders of magnitude (1/t ~ 1e5, x/t ~ 1); scale them to unit norm so the
  // rank decision of the QR does not depend on the units.
  Eigen::Vector2d scale = a.colwise().norm().transpose();
  for (int c = 0; c < 2; ++c)
    if (scale(c) == 0) scale(c) = 1;
  const Eigen::Vector2d solution =
      (a * scale.cwiseInverse().asDiagonal()).colPivHouseholderQr().solve(rhs).cwiseQuotient(scale);
  double overhead_s = solution(0);
  double b = solution(1);

  const double sum_x2 = a.col(1).squaredNorm();
  const double sum_x = a.col(1).sum();
  // One point, or a negative overhead (noise, or times that do not grow with work): refit the slope
  // alone with the overhead pinned at 0.
  if (n == 1 || !(overhead_s >= 0) || !(b > 0)) {
    overhead_s = 0;
    b = sum_x / sum_x2;
  }
  // An overhead above the cap is the size dependence of the efficiency (grouped GEMMs' grows with
  // tokens per expert), not a fixed cost per launch: pin it at the cap and refit the slope alone,
  // minimising sum(((cap + b x_i) / t_i - 1)^2) over b.
  if (overhead_s > max_overhead_s) {
    overhead_s = max_overhead_s;
    double num = 0;
    for (Eigen::Index i = 0; i < n; ++i) num += a(i, 1) * (1.0 - overhead_s * a(i, 0));
    b = num / sum_x2;
    if (!(b > 0)) {  // the cap alone overshoots every point: no overhead at all fits better
      overhead_s = 0;
      b = sum_x / sum_x2;
    }
  }
  // Faster than peak is impossible: pin efficiency at 1 and refit the overhead alone.
  if (b < 1) {
    b = 1;
    double num = 0;
    for (Eigen::Index i = 0; i < n; ++i) num += (1.0 - a(i, 1)) * a(i, 0);
    overhead_s = std::min(max_overhead_s, std::max(0.0, num / a.col(0).squaredNorm()));
  }
  // Stored as the file will hold it (microseconds, divided by 1e6 on reading), so that a fitted
  // profile written and read back is bit-identical.
  fit.overhead_s = (overhead_s * 1e6) / 1e6;
  fit.efficiency = 1.0 / b;
  fit.rms_rel_error = rms_rel_error_of(points, fit.overhead_s, fit.efficiency);
  return fit;
}

std::vector<EfficiencyPoint> efficiency_curve(const std::vector<FitPoint>& points, double overhead_s,
                                              double bin_decades) {
  if (!(bin_decades > 0))
    throw InputError(fmt::format("efficiency curve: bin width {} decades: expected > 0", bin_decades));
  // bin index -> (works, efficiencies); std::map keeps the bins sorted by work.
  std::map<long, std::pair<std::vector<double>, std::vector<double>>> bins;
  for (const auto& p : points) {
    const double net_s = p.measured_s - overhead_s;
    if (!(p.work > 0) || !(net_s > 0)) continue;
    const double eff = std::min(1.0, p.ideal_s / net_s);
    const long bin = static_cast<long>(std::floor(std::log10(p.work) / bin_decades));
    bins[bin].first.push_back(p.work);
    bins[bin].second.push_back(eff);
  }
  std::vector<EfficiencyPoint> curve;
  for (const auto& [bin, values] : bins) curve.push_back({median(values.first), median(values.second)});
  return curve;  // bins are disjoint ranges of log10(work), so work strictly increases
}

double rms_rel_error(const std::vector<FitPoint>& points, const OpEfficiency& op) {
  double sum = 0;
  for (const auto& p : points) {
    const double rel = (op.overhead_s + p.ideal_s / op.efficiency_at(p.work) - p.measured_s) / p.measured_s;
    sum += rel * rel;
  }
  return points.empty() ? 0 : std::sqrt(sum / static_cast<double>(points.size()));
}

const GpuSpec& resolve_gpu(const std::vector<MeasurementSet>& sets, const std::string& override_name) {
  if (!override_name.empty()) return find_gpu(override_name, "", "--gpu");
  const GpuSpec* found = nullptr;
  for (const auto& set : sets) {
    if (set.device.name.empty()) continue;
    const GpuSpec* gpu = nullptr;
    try {
      gpu = &find_gpu(set.device.name, set.file, "$.device.name");
    } catch (const InputError& e) {
      throw InputError(fmt::format("{} (name the catalogue GPU with --gpu)", e.what()));
    }
    if (found && found != gpu)
      throw InputError(set.file, "$.device.name",
                       fmt::format("measurements from different GPUs ({} and {}): fit one GPU type at a time",
                                   found->name, gpu->name));
    found = gpu;
  }
  if (!found) throw InputError("the measurements do not name their GPU: name the catalogue GPU with --gpu");
  return *found;
}

namespace {

// The usable records of a fit, grouped by the profile entry they fit, and the reasons for the rest.
struct GroupedRecords {
  std::map<std::string, Group> op_groups;                                  // profile op key
  std::map<std::pair<std::string, std::string>, Group> collective_groups;  // (link, collective)
  std::map<std::string, int> skipped;                                      // reason -> count
  // The sweep's own attention and MLA-decode kernels, not fitted (see FitOptions): key -> points.
  std::map<std::string, Group> reference_groups;
};

// Of the records that time one shape with several implementations, only the fastest is fitted:
// a framework picks the faster implementation (DeepSeek's grouped GEMM is neither, but the faster
// of the two cuBLAS ways is the better stand-in).
std::map<std::string, double> fastest_variants(const std::vector<MeasurementSet>& sets) {
  std::map<std::string, double> fastest;  // same_shape_key -> median_s
  for (const auto& set : sets) {
    const std::string file = basename_of(set.file);
    for (const auto& m : set.records) {
      if (m.variant.empty()) continue;
      auto [it, inserted] = fastest.emplace(same_shape_key(file, m), m.median_s);
      if (!inserted) it->second = std::min(it->second, m.median_s);
    }
  }
  return fastest;
}

// Why a record is not fitted at all, before its op is looked at; empty when it may be.
std::string unfitted_reason(const std::string& file, const Measurement& m,
                            const std::map<std::string, double>& fastest) {
  if (m.op == "layer_sequence")
    return fmt::format("{} {}: a whole layer, validation only (gwsim calibrate --check-layers)", file, m.op);
  if (m.variant == "layer_step")
    return fmt::format("{} {}/layer_step: held out of the fit for gwsim calibrate --check-layers", file, m.op);
  if (m.check_failed()) return fmt::format("{} {}: result check failed", file, op_variant(m));
  if (!m.checked && !m.library_call())
    return fmt::format("{} {}: no correctness check ran for this kernel", file, op_variant(m));
  if (!m.variant.empty() && m.median_s > fastest.at(same_shape_key(file, m)))
    return fmt::format("{} {}: a faster variant of the same shape was fitted", file, op_variant(m));
  return "";
}

// A collective record (`coll`: its collective) into its (link, collective) group.
void add_collective_record(const MeasurementSet& set, const std::string& file, const Measurement& m,
                           const std::string& coll, const GpuSpec& gpu, const FitOptions& options,
                           GroupedRecords& grouped) {
  LinkInfo link = set.link ? *set.link : options.sweep_link;
  if (link.line_rate_bps == 0) {
    if (link.link != LinkClass::scaleup)
      throw InputError(set.file, "", "collective records on scaleout need the NIC line rate (--line-rate-gbs)");
    link.line_rate_bps = gpu.scaleup_per_direction_bps();
  }
  int ranks = link.ranks;
  if (auto it = m.shape.find("ranks"); it != m.shape.end()) ranks = static_cast<int>(it->second);
  if (ranks == 0) ranks = set.device.gpu_count;
  if (coll != "p2p" && ranks < 2) {
    ++grouped.skipped[fmt::format("{} {}: fewer than 2 ranks", file, m.op)];
    return;
  }
  if (!(m.bytes > 0) || !(link.line_rate_bps > 0)) {
    ++grouped.skipped[fmt::format("{} {}: zero bytes", file, m.op)];
    return;
  }
  const double wire_bytes = m.bytes * wire_factor(coll, ranks);
  auto& g = grouped.collective_groups[{to_string(link.link), coll}];
  g.points.push_back({wire_bytes, wire_bytes / link.line_rate_bps, m.median_s});
  g.files.insert(file);
  ++g.ops[op_variant(m)];
}

// A compute or memory-bound record into its profile op group (or its reference group).
void add_op_record(const MeasurementSet& set, const std::string& file, const Measurement& m, const GpuSpec& gpu,
                   const FitOptions& options, GroupedRecords& grouped) {
  auto& skipped = grouped.skipped;
  const OpClassOf cls = class_of(m.op);
  if (!cls.op_class) {
    ++skipped[fmt::format("{} {}: not fitted (validation only)", file, m.op)];
    return;
  }
  const OpClass op_class = *cls.op_class;
  const auto precision = parse_precision(m.precision);
  std::string key = op_key(op_class);
  double work = 0, peak = 0;
  if (cls.bandwidth_bound) {
    // Bandwidth-bound classes are keyed by precision only where the profile format does so
    // (mla_decode.<precision>); memory_bound has one entry for all element types.
    if (op_class == OpClass::mla_decode && precision) key = op_key(op_class, *precision);
    work = m.bytes;
    peak = gpu.hbm_bandwidth_bps();
  } else {
    if (!precision) {
      ++skipped[fmt::format("{} {}: precision \"{}\" is not a compute precision", file, m.op, m.precision)];
      return;
    }
    if (!gpu.supports(*precision))
      throw InputError(
          set.file, "",
          fmt::format("{} records in {}, which {} does not support: wrong --gpu?", m.op, m.precision, gpu.name));
    key = op_key(op_class, *precision);
    work = m.flops;
    peak = gpu.peak_flops(*precision);
  }
  if (!(work > 0) || !(peak > 0)) {
    ++skipped[fmt::format("{} {}: no work or no catalogue peak", file, m.op)];
    return;
  }
  // Every expert's weights are read once, so a grouped GEMM's efficiency follows its tokens
  // per expert, which its FLOPs per byte track, not its total FLOPs: its curve is in intensity.
  const bool by_intensity = op_class == OpClass::grouped_gemm;
  if (by_intensity && !(m.bytes > 0)) {
    ++skipped[fmt::format("{} {}: no bytes, so no FLOPs per byte for the grouped-GEMM curve", file, op_variant(m))];
    return;
  }
  // Our own kernels stand in for what frameworks run (FA3, FlashMLA, DeepGEMM) and are far
  // slower: their records document the kernel, they do not set the profile. BF16 grouped GEMMs
  // are cuBLAS library calls and are fitted; the FP8 block-scaled grouped GEMM is our own.
  const bool own_kernel_class = op_class == OpClass::attention || op_class == OpClass::mla_decode ||
                                (op_class == OpClass::grouped_gemm && precision == Precision::fp8);
  const bool reference = own_kernel_class && !m.library_call();
  auto& g = (reference && !options.fit_reference_kernels) ? grouped.reference_groups[key] : grouped.op_groups[key];
  g.axis = by_intensity ? CurveAxis::flops_per_byte : CurveAxis::size;
  g.op_class = op_class;
  g.points.push_back({by_intensity ? m.flops / m.bytes : work, work / peak, m.median_s});
  g.precision = precision;
  const auto dim = [&](const char* d) { return m.shape.count(d) ? m.shape.at(d) : 0.0; };
  if (const GemmShape shape{dim("M"), dim("N"), dim("K")}; op_class == OpClass::gemm && shape.known())
    g.tiled.push_back({shape, m.bytes, m.median_s});
  g.files.insert(file);
  ++g.ops[op_variant(m)];
}

GroupedRecords group_records(const std::vector<MeasurementSet>& sets, const GpuSpec& gpu, const FitOptions& options) {
  GroupedRecords grouped;
  const std::map<std::string, double> fastest = fastest_variants(sets);
  for (const auto& set : sets) {
    const std::string file = basename_of(set.file);
    for (const auto& m : set.records) {
      if (const std::string reason = unfitted_reason(file, m, fastest); !reason.empty()) {
        ++grouped.skipped[reason];
        continue;
      }
      if (const std::string coll = collective_of(m.op); !coll.empty()) {
        add_collective_record(set, file, m, coll, gpu, options, grouped);
        continue;
      }
      add_op_record(set, file, m, gpu, options, grouped);
    }
  }
  return grouped;
}

// What the sweep's own kernel reached, for the record: median of achieved / peak.
std::string reference_note(const std::string& key, const Group& g) {
  std::vector<double> eff;
  for (const auto& pt : g.points) eff.push_back(pt.ideal_s / pt.measured_s);
  std::sort(eff.begin(), eff.end());
  // A plain loop, not a lambda: clang 14 (the fuzz build) cannot capture a structured binding.
  std::vector<std::string> names;
  for (const auto& [name, n] : g.ops) names.push_back(name);
  return fmt::format(
      "{}: not fitted from the sweep's own reference kernel{} ({}; {} points, {:.1f}-{:.1f} %, median "
      "{:.1f} %, of {}): frameworks run {}, which reaches far more, so the entry comes from a base profile "
      "(--base) unless --fit-reference-kernels",
      key, names.size() == 1 ? "" : "s", fmt::join(names, ", "), g.points.size(), 100 * eff.front(), 100 * eff.back(),
      100 * median(eff), g.op_class == OpClass::mla_decode ? "HBM bandwidth" : "peak FLOP/s",
      g.op_class == OpClass::mla_decode     ? "FlashMLA"
      : g.op_class == OpClass::grouped_gemm ? "DeepGEMM"
                                            : "FlashAttention-3");
}

// The profile's name and source: the measurement sets, the reference kernels left out, the rules.
void describe_profile(Profile& p, const GpuSpec& gpu, const std::vector<MeasurementSet>& sets,
                      const std::vector<std::string>& reference_notes) {
  p.name = to_lower(gpu.name) + "-measured";
  p.gpu_name = gpu.name;
  p.kind = ProfileKind::measured;
  std::vector<std::string> described;
  for (const auto& set : sets) described.push_back(describe_set(set));
  p.source = fmt::format("gwsim calibrate --fit of {}", fmt::join(described, "; "));
  if (!reference_notes.empty()) p.source += "; " + fmt::format("{}", fmt::join(reference_notes, "; "));
  p.source +=
      "; rules: records with a failed check, layer_sequence and layer_step records (held out for --check-layers) are "
      "not fitted; unchecked records only if they time a library call (cuBLAS, cudaMemcpy, NCCL); of several "
      "variants timing one shape the fastest is fitted";
}

void fit_op_groups(const std::map<std::string, Group>& op_groups, const FitOptions& options, FitResult& result) {
  for (const auto& [key, g] : op_groups) {
    const AlphaBetaFit fit = fit_alpha_beta(g.points, options.max_overhead_s);
    OpEfficiency op;
    op.efficiency = fit.efficiency;
    op.overhead_s = fit.overhead_s;
    op.curve = efficiency_curve(g.points, fit.overhead_s, options.curve_bin_decades);
    if (op.curve.size() < 2) op.curve.clear();  // one bin says no more than the constant
    op.curve_axis = op.curve.empty() ? CurveAxis::size : g.axis;
    // The error stored is that of the profile as the simulator will use it (with its curve).
    op.fit_rms_rel_error = rms_rel_error(g.points, op);
    op.source = fit_source(g);
    result.ops.push_back(
        {key, g.points.size(), fit.efficiency, fit.overhead_s, fit.rms_rel_error, op.fit_rms_rel_error});
    result.profile.ops[key] = std::move(op);
  }
}

// Dense GEMM entries whose records carry their shapes also get a tile model (gemm_tiles.h), fitted
// with the memory_bound entry of the same fit (a GEMM that streams more bytes than it can compute
// on is priced at that bandwidth). Without a fitted memory_bound entry there is none to use: noted.
void fit_tile_models(const std::map<std::string, Group>& op_groups, const GpuSpec& gpu, const FitOptions& options,
                     FitResult& result) {
  const auto memory = result.profile.ops.find(op_key(OpClass::memory_bound));
  for (const auto& [key, g] : op_groups) {
    if (g.tiled.empty() || !g.precision) continue;
    if (memory == result.profile.ops.end()) {
      result.notes.push_back(
          fmt::format("{}: no tile model (no memory_bound records in the fit to price its bytes)", key));
      continue;
    }
    const TiledGemmTarget target{gpu.peak_flops(*g.precision), gpu.sm_count.value, gpu.hbm_bandwidth_bps(),
                                 memory->second};
    GemmTileModel model = fit_gemm_tile_model(g.tiled, target, options.max_overhead_s);
    model.source = fmt::format("tile-model fit of {} shaped points from {}", g.tiled.size(), fmt::join(g.files, ", "));
    for (auto& report : result.ops)
      if (report.key == key) report.tile_rms_rel_error = model.fit_rms_rel_error;
    result.profile.ops[key].tile_model = std::move(model);
  }
}

void fit_collective_groups(const std::map<std::pair<std::string, std::string>, Group>& collective_groups,
                           FitResult& result) {
  for (const auto& [link_op, g] : collective_groups) {
    const AlphaBetaFit fit = fit_alpha_beta(g.points);
    result.profile.collectives[link_op.first][link_op.second] = {fit.overhead_s, fit.efficiency, fit_source(g)};
    result.ops.push_back(
        {link_op.first + " " + link_op.second, g.points.size(), fit.efficiency, fit.overhead_s, fit.rms_rel_error, 0});
  }
}

// The notes: op classes and collectives absent from the profile, reference kernels, skipped records.
void add_fit_notes(const GroupedRecords& grouped, const std::vector<std::string>& reference_notes, FitResult& result) {
  const Profile& p = result.profile;
  for (const OpClass c : kOpClasses) {
    if (c == OpClass::attention_backward) continue;  // the sweep does not time it apart
    const std::string& cls = op_key(c);
    const bool present = std::any_of(p.ops.begin(), p.ops.end(), [&](const auto& kv) {
      return kv.first == cls || kv.first.rfind(cls + ".", 0) == 0;
    });
    const bool reference =
        std::any_of(grouped.reference_groups.begin(), grouped.reference_groups.end(),
                    [&](const auto& kv) { return kv.first == cls || kv.first.rfind(cls + ".", 0) == 0; });
    if (!present && !reference)
      result.notes.push_back(fmt::format("{}: no usable records, absent from the profile", cls));
  }
  if (p.collectives.empty())
    result.notes.push_back(
        "collectives: no usable records, absent from the profile (merge with a base profile to copy them)");
  for (const auto& note : reference_notes) result.notes.push_back(note);
  for (const auto& [reason, count] : grouped.skipped)
    result.notes.push_back(fmt::format("skipped {} record(s): {}", count, reason));
}

}  // namespace

FitResult fit_profile(const std::vector<MeasurementSet>& sets, const GpuSpec& gpu, const FitOptions& options) {
  const GroupedRecords grouped = group_records(sets, gpu, options);
  std::vector<std::string> reference_notes;
  for (const auto& [key, g] : grouped.reference_groups) reference_notes.push_back(reference_note(key, g));
  FitResult result;
  describe_profile(result.profile, gpu, sets, reference_notes);
  fit_op_groups(grouped.op_groups, options, result);
  fit_tile_models(grouped.op_groups, gpu, options, result);
  fit_collective_groups(grouped.collective_groups, result);
  add_fit_notes(grouped, reference_notes, result);
  return result;
}

Profile merge_profiles(const Profile& measured, const Profile& base) {
  Profile out = measured;
  std::vector<std::string> from_base;
  for (const auto& [key, op] : base.ops) {
    if (out.ops.count(key)) continue;
    OpEfficiency copy = op;
    copy.source = fmt::format("from {}: {}", base.name, op.source);
    out.ops[key] = std::move(copy);
    from_base.push_back(key);
  }
  for (const auto& [link, per_op] : base.collectives) {
    for (const auto& [name, c] : per_op) {
      if (out.collectives[link].count(name)) continue;
      CollectiveEfficiency copy = c;
      copy.source = fmt::format("from {}: {}", base.name, c.source);
      out.collectives[link][name] = std::move(copy);
      from_base.push_back(link + "." + name);
    }
  }
  // operator[] above may have created empty link maps; drop them so the JSON stays clean.
  for (auto it = out.collectives.begin(); it != out.collectives.end();)
    it = it->second.empty() ? out.collectives.erase(it) : std::next(it);
  out.source =
      fmt::format("{}; merged with {} ({}), which supplied: {}", measured.source, base.name, to_string(base.kind),
                  from_base.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(from_base, ", ")));
  return out;
}

// Assumption (stated in every derived profile): an op's efficiency, as a fraction of the target's
// own peak, is the same on parts of one architecture. H100, H800 and H200 share the Hopper SM, its
// clocks and its count, so a GEMM reaches the same fraction of the same FLOP/s; H200 differs in HBM
// (4.8 vs 3.35 TB/s) and H800 in NVLink (400 vs 900 GB/s bidirectional). Because profile
// efficiencies are already relative to the catalogue peak that bounds each class (FLOP/s for compute
// classes, HBM bandwidth for memory_bound and mla_decode, link rate for collectives), carrying the
// numbers over unchanged moves the absolute speed with the target's peaks. The curve's work axis is
// kept: how well an op of a given size fills the SMs depends on its size, not on the memory speed.
// Scale-out collectives are carried as they are: the NIC fabric is not part of the GPU.
Profile derive_profile(const Profile& from, const GpuSpec& from_gpu, const GpuSpec& to_gpu) {
  if (!from.gpu_name.empty() && !names_gpu(from_gpu, from.gpu_name))
    throw InputError(fmt::format("profile \"{}\" is for {}, not {}", from.name, from.gpu_name, from_gpu.name));
  if (!from_gpu.architecture.empty() && !to_gpu.architecture.empty() &&
      to_lower(from_gpu.architecture) != to_lower(to_gpu.architecture))
    throw InputError("--to", "",
                     fmt::format("cannot derive a {} profile from {}: efficiencies carry over only within one "
                                 "architecture ({} vs {})",
                                 to_gpu.name, from_gpu.name, to_gpu.architecture, from_gpu.architecture));

  Profile out;
  out.name = to_lower(to_gpu.name) + "-derived-from-" + from.name;
  out.gpu_name = to_gpu.name;
  out.kind = ProfileKind::derived;
  out.source = from.source;

  std::set<Precision> precisions;
  std::vector<std::string> dropped;
  for (const auto& [key, op] : from.ops) {
    const auto dot = key.find('.');
    if (dot != std::string::npos) {
      const auto precision = parse_precision(key.substr(dot + 1));
      if (precision && !to_gpu.supports(*precision)) {
        dropped.push_back(key);
        continue;
      }
      if (precision) precisions.insert(*precision);
    }
    OpEfficiency copy = op;
    copy.source = fmt::format("derived from {}: {}", from.name, op.source);
    out.ops[key] = std::move(copy);
  }
  for (const auto& [link, per_op] : from.collectives) {
    for (const auto& [name, c] : per_op) {
      CollectiveEfficiency copy = c;
      copy.source = fmt::format("derived from {}: {}", from.name, c.source);
      out.collectives[link][name] = std::move(copy);
    }
  }

  std::vector<std::string> peak_ratios;
  for (Precision pr : precisions) {
    const double to = to_gpu.supports(pr) ? to_gpu.peak_dense_tflops.at(pr).value : 0;
    const double fr = from_gpu.supports(pr) ? from_gpu.peak_dense_tflops.at(pr).value : 0;
    peak_ratios.push_back(fmt::format("{} {}", to_string(pr), ratio_text(to, fr)));
  }
  out.derivation = fmt::format(
      "from profile {} ({}) for {}: HBM bandwidth ratio {} ({} / {} GB/s), scale-up ratio {} ({} / {} GB/s "
      "bidirectional), peak ratio {}; efficiencies carried over unchanged as fractions of {}'s catalogue peaks "
      "(assumes same-architecture parts reach the same fraction of their own peaks: compute classes of FLOP/s, "
      "memory_bound and mla_decode of HBM bandwidth, scale-up collectives of the line rate); scale-out collectives "
      "carried as measured (NIC, not GPU){}",
      from.name, from_gpu.name, to_gpu.name,
      ratio_text(to_gpu.hbm_bandwidth_gbs.value, from_gpu.hbm_bandwidth_gbs.value), to_gpu.hbm_bandwidth_gbs.value,
      from_gpu.hbm_bandwidth_gbs.value, ratio_text(to_gpu.scaleup_bidir_gbs.value, from_gpu.scaleup_bidir_gbs.value),
      to_gpu.scaleup_bidir_gbs.value, from_gpu.scaleup_bidir_gbs.value,
      peak_ratios.empty() ? std::string("none (no compute ops)") : fmt::format("{}", fmt::join(peak_ratios, ", ")),
      to_gpu.name,
      dropped.empty()
          ? std::string()
          : fmt::format("; dropped (precision unsupported on {}): {}", to_gpu.name, fmt::join(dropped, ", ")));
  return out;
}

bool fitted_entry(const std::string& source) {
  return source.rfind("fit of ", 0) == 0 || source.rfind("measured: ", 0) == 0;
}

Profile derive_profile_with_base(const Profile& from, const GpuSpec& from_gpu, const GpuSpec& to_gpu,
                                 const Profile& base) {
  if (!base.gpu_name.empty() && !names_gpu(to_gpu, base.gpu_name))
    throw InputError(
        fmt::format("base profile \"{}\" is for {}, not the target {}", base.name, base.gpu_name, to_gpu.name));
  Profile out = derive_profile(from, from_gpu, to_gpu);
  std::vector<std::string> derived_keys, base_keys;
  for (auto& [key, op] : out.ops) {
    const auto from_it = from.ops.find(key);
    const bool fitted = from_it != from.ops.end() && fitted_entry(from_it->second.source);
    const auto base_it = base.ops.find(key);
    if (!fitted && base_it != base.ops.end()) {
      op = base_it->second;
      op.source = fmt::format("from {}: {}", base.name, base_it->second.source);
      base_keys.push_back(key);
    } else {
      derived_keys.push_back(key);
    }
  }
  for (const auto& [key, op] : base.ops) {
    if (out.ops.count(key)) continue;
    OpEfficiency copy = op;
    copy.source = fmt::format("from {}: {}", base.name, op.source);
    out.ops[key] = std::move(copy);
    base_keys.push_back(key);
  }
  for (const auto& [link, per_op] : base.collectives) {
    for (const auto& [name, c] : per_op) {
      const auto from_link = from.collectives.find(link);
      const bool fitted = from_link != from.collectives.end() && from_link->second.count(name) &&
                          fitted_entry(from_link->second.at(name).source);
      if (fitted) continue;
      CollectiveEfficiency copy = c;
      copy.source = fmt::format("from {}: {}", base.name, c.source);
      out.collectives[link][name] = std::move(copy);
      base_keys.push_back(link + "." + name);
    }
  }
  for (const auto& [link, per_op] : out.collectives)
    for (const auto& [name, c] : per_op)
      if (c.source.rfind("derived from ", 0) == 0) derived_keys.push_back(link + "." + name);
  std::sort(derived_keys.begin(), derived_keys.end());
  std::sort(base_keys.begin(), base_keys.end());
  out.derivation += fmt::format(
      "; merged with the target's own profile {} ({}): entries fitted in {} are derived ({}); entries {} had only from "
      "a "
      "published source, or lacked, come from {} ({})",
      base.name, to_string(base.kind), from.name,
      derived_keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(derived_keys, ", ")), from.name,
      base.name, base_keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(base_keys, ", ")));
  out.source = fmt::format("{}; target entries from {}: {}", out.source, base.name, base.source);
  return out;
}

}  // namespace gwsim::calibrate
