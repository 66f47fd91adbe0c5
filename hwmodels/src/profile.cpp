// Calibration profiles (schema "gwsim.profile/1"): the GPU-independent parts of profile.h and the
// profile half of catalogue.h (parse, load, write). Reading is strict, like every gwsim input: an
// unknown key, a missing field or an impossible value stops with the file and JSON path.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/profile.h"

namespace gwsim {

namespace {

constexpr const char* kProfileSchema = "gwsim.profile/1";

// The op classes (op_class.h) and collectives a profile may name (docs/formats.md). Anything else is a typo.
std::string op_class_names() {
  std::vector<std::string> names;
  for (OpClass c : kOpClasses) names.push_back(to_string(c));
  return fmt::format("{}", fmt::join(names, "|"));
}
const std::vector<std::string>& collective_ops() {
  static const std::vector<std::string> ops = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "p2p"};
  return ops;
}
const std::vector<std::string>& link_names() {
  static const std::vector<std::string> links = {"scaleup", "scaleout"};
  return links;
}

// The file stores microseconds, the program seconds. Dividing by 1e6 on read is the one conversion;
// on write we pick the microsecond value whose division gives back exactly the same double, so that
// parse(to_json(p)) reproduces p bit for bit (x * 1e6 / 1e6 != x for a few doubles). Every value read
// from a file has such a microsecond value; a few doubles set in code have none (quotients of
// neighbouring doubles skip some doubles) and come back within one unit in the last place.
double us_to_s(double us) { return us / 1e6; }
double s_to_us_exact(double s) {
  const double us = s * 1e6;
  if (us_to_s(us) == s) return us;
  double up = us, down = us;
  for (int step = 0; step < 8; ++step) {
    up = std::nextafter(up, INFINITY);
    if (us_to_s(up) == s) return up;
    down = std::nextafter(down, -INFINITY);
    if (us_to_s(down) == s) return down;
  }
  return us;  // no exact microsecond value exists: off by one unit in the last place
}

// Reads a non-negative number (overheads, latencies, errors).
double non_negative(const JsonObject& obj, const std::string& key) {
  const double x = obj.number(key);
  if (x < 0) obj.fail(key, fmt::format("expected a number >= 0, got {}", x));
  return x;
}

// "gemm.bf16" or "memory_bound": the class must be known and the precision one gwsim has.
void check_op_key(const JsonObject& ops, const std::string& key) {
  const auto dot = key.find('.');
  const std::string op_class = key.substr(0, dot);
  if (!parse_op_class(op_class))
    ops.fail(key, fmt::format("unknown op class \"{}\": expected one of {} optionally followed by .<precision>",
                              op_class, op_class_names()));
  if (dot != std::string::npos && !parse_precision(key.substr(dot + 1)))
    ops.fail(key, fmt::format("unknown precision \"{}\": expected fp64|fp32|tf32|bf16|fp16|fp8|int8|fp4",
                              key.substr(dot + 1)));
}

AttentionTable parse_attention_table(const JsonObject& obj) {
  AttentionTable table;
  table.source = obj.string("source");
  for (const auto& s : obj.array_of_objects("series")) {
    AttentionSeries series;
    series.head_dim = s.positive("head_dim");
    series.causal = s.boolean("causal");
    for (const auto& p : s.array_of_objects("points")) {
      EfficiencyPoint point{p.positive("seq_len"), p.fraction("efficiency")};
      if (!series.by_seq_len.empty() && !(point.work > series.by_seq_len.back().work))
        p.fail("seq_len", fmt::format("expected points sorted by strictly increasing seq_len, got {} after {}",
                                      point.work, series.by_seq_len.back().work));
      p.reject_unknown_keys();
      series.by_seq_len.push_back(point);
    }
    if (series.by_seq_len.empty()) s.fail("points", "expected at least one point");
    for (const auto& other : table.series)
      if (other.head_dim == series.head_dim && other.causal == series.causal)
        s.fail("head_dim", fmt::format("a second series for head_dim {} and causal {}", series.head_dim,
                                       series.causal ? "true" : "false"));
    s.allow({"notes"});
    s.reject_unknown_keys();
    table.series.push_back(std::move(series));
  }
  if (table.series.empty()) obj.fail("series", "expected at least one series");
  std::sort(table.series.begin(), table.series.end(), [](const AttentionSeries& a, const AttentionSeries& b) {
    return a.causal != b.causal ? b.causal : a.head_dim < b.head_dim;
  });
  obj.allow({"notes"});
  obj.reject_unknown_keys();
  return table;
}

GemmTileModel parse_tile_model(const JsonObject& obj) {
  GemmTileModel m;
  m.tile_efficiency = obj.fraction("tile_efficiency");
  m.tile_overhead_s = us_to_s(non_negative(obj, "tile_overhead_us"));
  m.launch_overhead_s = us_to_s(non_negative(obj, "launch_overhead_us"));
  const std::int64_t split = obj.positive_integer("max_split_k");
  if (split > 64) obj.fail("max_split_k", fmt::format("expected a whole number from 1 to 64, got {}", split));
  m.max_split_k = static_cast<int>(split);
  if (obj.has("fit_rms_rel_error"))
    m.fit_rms_rel_error = non_negative(obj, "fit_rms_rel_error");
  else
    obj.allow({"fit_rms_rel_error"});
  m.source = obj.string("source");
  obj.allow({"notes"});
  obj.reject_unknown_keys();
  return m;
}

OpEfficiency parse_op(const JsonObject& obj, OpClass op_class) {
  OpEfficiency op;
  op.efficiency = obj.fraction("efficiency");
  op.overhead_s = us_to_s(non_negative(obj, "overhead_us"));
  op.source = obj.string("source");
  if (obj.has("fit_rms_rel_error"))
    op.fit_rms_rel_error = non_negative(obj, "fit_rms_rel_error");
  else
    obj.allow({"fit_rms_rel_error"});
  if (obj.has("curve")) {
    if (obj.has("curve_axis")) {
      const std::string axis = obj.string("curve_axis");
      if (axis == "flops_per_byte")
        op.curve_axis = CurveAxis::flops_per_byte;
      else if (axis != "size")
        obj.fail("curve_axis", fmt::format("expected size|flops_per_byte, got \"{}\"", axis));
    }
    const auto points = obj.array_of_objects("curve");
    for (const auto& p : points) {
      EfficiencyPoint point;
      point.work = p.positive("work");
      point.efficiency = p.fraction("efficiency");
      // Interpolation needs strictly increasing work; equal work would divide by zero.
      if (!op.curve.empty() && !(point.work > op.curve.back().work))
        p.fail("work", fmt::format("expected curve points sorted by strictly increasing work, got {} after {}",
                                   point.work, op.curve.back().work));
      p.allow({"source", "notes"});
      p.reject_unknown_keys();
      op.curve.push_back(point);
    }
    if (op.curve.empty()) obj.fail("curve", "expected at least one point (or leave the curve out)");
  } else {
    if (obj.has("curve_axis")) obj.fail("curve_axis", "expected only beside a curve (it names the curve's x axis)");
    obj.allow({"curve"});
  }
  if (obj.has("by_shape")) {
    if (op_class != OpClass::attention && op_class != OpClass::attention_backward)
      obj.fail("by_shape", "expected only in an attention or attention_backward entry");
    op.by_shape = parse_attention_table(obj.object("by_shape"));
  } else {
    obj.allow({"by_shape"});
  }
  if (obj.has("tile_model")) {
    if (op_class != OpClass::gemm) obj.fail("tile_model", "expected only in a dense gemm entry");
    op.tile_model = parse_tile_model(obj.object("tile_model"));
  } else {
    obj.allow({"tile_model"});
  }
  if (obj.has("block_scaled")) {
    if (op_class != OpClass::gemm) obj.fail("block_scaled", "expected only in a dense gemm entry");
    const auto b = obj.object("block_scaled");
    op.block_scaled = BlockScaledRate{b.fraction("rate"), b.string("source")};
    b.reject_unknown_keys();
  } else {
    obj.allow({"block_scaled"});
  }
  obj.allow({"notes", "description"});
  obj.reject_unknown_keys();
  return op;
}

CollectiveEfficiency parse_collective(const JsonObject& obj) {
  CollectiveEfficiency c;
  c.alpha_s = us_to_s(non_negative(obj, "alpha_us"));
  c.bus_efficiency = obj.fraction("bus_efficiency");
  c.source = obj.string("source");
  obj.allow({"notes", "description"});
  obj.reject_unknown_keys();
  return c;
}

}  // namespace

std::string to_string(ProfileKind k) {
  switch (k) {
    case ProfileKind::published:
      return "published";
    case ProfileKind::measured:
      return "measured";
    case ProfileKind::derived:
      return "derived";
  }
  return "unknown";
}

std::string to_string(CurveAxis a) { return a == CurveAxis::flops_per_byte ? "flops_per_byte" : "size"; }

double OpEfficiency::efficiency_for(double work, double flops, double bytes) const {
  if (curve_axis == CurveAxis::size || curve.empty()) return efficiency_at(work);
  // No bytes: an op without memory traffic is as intense as it gets (the curve's top end).
  return efficiency_at(bytes > 0 ? flops / bytes : INFINITY);
}

double interpolate_log_x(const std::vector<EfficiencyPoint>& points, double x) {
  if (points.empty()) return 0;
  // Clamped at both ends: outside the measured range we do not extrapolate a trend.
  if (!(x > points.front().work)) return points.front().efficiency;
  if (!(x < points.back().work)) return points.back().efficiency;
  // First point with x above the query; the previous one is at or below it.
  const auto hi =
      std::upper_bound(points.begin(), points.end(), x, [](double w, const EfficiencyPoint& p) { return w < p.work; });
  const auto lo = hi - 1;
  // Linear in log(x): efficiency ramps with the order of magnitude of the op, not its size.
  const double t = (std::log(x) - std::log(lo->work)) / (std::log(hi->work) - std::log(lo->work));
  return lo->efficiency + t * (hi->efficiency - lo->efficiency);
}

double OpEfficiency::efficiency_at(double work) const {
  return curve.empty() ? efficiency : interpolate_log_x(curve, work);
}

double AttentionTable::efficiency(const AttentionShape& shape) const {
  const bool has_mask =
      std::any_of(series.begin(), series.end(), [&](const AttentionSeries& s) { return s.causal == shape.causal; });
  // The series of this mask (sorted by head dim: the parser sorts them) that bracket the head dim.
  const AttentionSeries *lo = nullptr, *hi = nullptr;
  for (const auto& s : series) {
    if (has_mask && s.causal != shape.causal) continue;
    if (s.head_dim <= shape.head_dim) lo = &s;
    if (s.head_dim >= shape.head_dim && !hi) hi = &s;
  }
  if (!lo && !hi) return 0;
  // Clamped outside the table's head dims; each series read at this length.
  if (!lo || !hi || lo == hi || hi->head_dim == lo->head_dim)
    return interpolate_log_x((lo ? lo : hi)->by_seq_len, shape.seq_len);
  const double e_lo = interpolate_log_x(lo->by_seq_len, shape.seq_len);
  const double e_hi = interpolate_log_x(hi->by_seq_len, shape.seq_len);
  const double t = (shape.head_dim - lo->head_dim) / (hi->head_dim - lo->head_dim);
  return e_lo + t * (e_hi - e_lo);
}

const std::string& op_key(OpClass op_class, std::optional<Precision> precision) {
  // keys[class][precision], and keys[class][kPrecisions] for the class alone: built once. (fp4 is
  // the last Precision, gpu.h.)
  constexpr std::size_t kPrecisions = static_cast<std::size_t>(Precision::fp4) + 1;
  using Row = std::array<std::string, kPrecisions + 1>;
  static const std::array<Row, kOpClasses.size()> keys = [] {
    std::array<Row, kOpClasses.size()> k;
    for (OpClass c : kOpClasses) {
      Row& row = k[static_cast<std::size_t>(c)];
      for (std::size_t p = 0; p < kPrecisions; ++p)
        row[p] = fmt::format("{}.{}", to_string(c), to_string(static_cast<Precision>(p)));
      row[kPrecisions] = to_string(c);
    }
    return k;
  }();
  return keys[static_cast<std::size_t>(op_class)][precision ? static_cast<std::size_t>(*precision) : kPrecisions];
}

namespace {

const OpEfficiency& find_op(const Profile& p, OpClass op_class, std::optional<Precision> precision) {
  const std::string& specific = op_key(op_class, precision);
  if (auto it = p.ops.find(specific); it != p.ops.end()) return it->second;
  const std::string& generic = op_key(op_class);
  if (auto it = p.ops.find(generic); it != p.ops.end()) return it->second;
  // Profiles without a separate attention-backward figure use the forward one.
  if (op_class == OpClass::attention_backward) return find_op(p, OpClass::attention, precision);
  throw InputError(
      fmt::format("profile \"{}\": no entry for op \"{}\" (nor the fallback \"{}\"): add it to the "
                  "profile's \"ops\"",
                  p.name, specific, generic));
}

}  // namespace

std::atomic<const OpEfficiency*>& OpLookupCache::slot(OpClass c, std::optional<Precision> p,
                                                      std::size_t entries) const {
  if (entries_.load(std::memory_order_acquire) != entries) {
    clear();
    entries_.store(entries, std::memory_order_release);
  }
  const std::size_t column = p ? static_cast<std::size_t>(*p) : kPrecisionSlots - 1;
  return slots_[static_cast<std::size_t>(c) * kPrecisionSlots + column];
}

void OpLookupCache::clear() const {
  for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
}

namespace {

const OpEfficiency& cached_op(const Profile& p, OpClass op_class, std::optional<Precision> precision) {
  auto& slot = p.op_cache.slot(op_class, precision, p.ops.size());
  if (const OpEfficiency* hit = slot.load(std::memory_order_acquire)) return *hit;
  const OpEfficiency& found = find_op(p, op_class, precision);  // throws for a missing entry: nothing cached
  slot.store(&found, std::memory_order_release);
  return found;
}

}  // namespace

const OpEfficiency& Profile::op(OpClass op_class, Precision precision) const {
  return cached_op(*this, op_class, precision);
}

const OpEfficiency& Profile::op(OpClass op_class) const { return cached_op(*this, op_class, std::nullopt); }

const CollectiveEfficiency& Profile::collective(LinkClass link, const std::string& op_name) const {
  const std::string link_name = to_string(link);
  if (auto l = collectives.find(link_name); l != collectives.end()) {
    if (auto it = l->second.find(op_name); it != l->second.end()) return it->second;
  }
  throw InputError(
      fmt::format("profile \"{}\": no entry for collective \"{}\" on link \"{}\": add "
                  "collectives.{}.{} to the profile",
                  name, op_name, link_name, link_name, op_name));
}

Profile parse_profile(const JsonObject& obj) {
  const std::string schema = obj.string("schema");
  if (schema != kProfileSchema) obj.fail("schema", fmt::format("expected \"{}\", got \"{}\"", kProfileSchema, schema));
  Profile p;
  p.name = obj.string("name");
  p.gpu_name = obj.string("gpu");
  const std::string kind = obj.one_of("kind", {"published", "measured", "derived"});
  p.kind = kind == "published"  ? ProfileKind::published
           : kind == "measured" ? ProfileKind::measured
                                : ProfileKind::derived;
  p.source = obj.string("source");
  // A derived profile must say how it was derived; others may not pretend to be.
  if (p.kind == ProfileKind::derived) {
    p.derivation = obj.string("derivation");
  } else if (obj.has("derivation")) {
    obj.fail("derivation", "only allowed when kind is \"derived\"");
  } else {
    obj.allow({"derivation"});
  }
  // SMs for communication kernels are a framework's choice, not a hardware fact (DeepSeek reserves
  // 20; others let NCCL pick): they belong to the scenario's training.comm_sms.
  if (obj.has("comm_sms"))
    obj.fail("comm_sms", "not a hardware fact: set training.comm_sms (or training.framework) in the scenario instead");
  obj.allow({"comm_sms"});

  const JsonObject ops = obj.object("ops");
  for (auto it = ops.json().begin(); it != ops.json().end(); ++it) {
    check_op_key(ops, it.key());
    p.ops[it.key()] = parse_op(ops.object(it.key()), *parse_op_class(it.key().substr(0, it.key().find('.'))));
  }

  if (obj.has("collectives")) {
    const JsonObject links = obj.object("collectives");
    for (auto l = links.json().begin(); l != links.json().end(); ++l) {
      if (std::find(link_names().begin(), link_names().end(), l.key()) == link_names().end())
        links.fail(l.key(), "unknown link class: expected scaleup|scaleout");
      const JsonObject per_op = links.object(l.key());
      auto& out = p.collectives[l.key()];
      for (auto c = per_op.json().begin(); c != per_op.json().end(); ++c) {
        if (std::find(collective_ops().begin(), collective_ops().end(), c.key()) == collective_ops().end())
          per_op.fail(c.key(), fmt::format("unknown collective: expected one of {}", fmt::join(collective_ops(), "|")));
        out[c.key()] = parse_collective(per_op.object(c.key()));
      }
    }
  } else {
    obj.allow({"collectives"});
  }
  obj.allow({"notes", "description"});
  obj.reject_unknown_keys();
  return p;
}

Profile load_profile_file(const std::string& path) {
  const nlohmann::json root = parse_json_file(path);
  return parse_profile(JsonObject(root, path, "$"));
}

nlohmann::json profile_to_json(const Profile& p) {
  // nlohmann::json objects are sorted maps, so the key order is deterministic; doubles are printed
  // with the shortest representation that reads back to the same value.
  nlohmann::json j;
  j["schema"] = kProfileSchema;
  j["name"] = p.name;
  j["gpu"] = p.gpu_name;
  j["kind"] = to_string(p.kind);
  j["source"] = p.source;
  if (p.kind == ProfileKind::derived) j["derivation"] = p.derivation;
  j["ops"] = nlohmann::json::object();
  for (const auto& [key, op] : p.ops) {
    nlohmann::json o;
    o["efficiency"] = op.efficiency;
    o["overhead_us"] = s_to_us_exact(op.overhead_s);
    o["source"] = op.source;
    if (op.fit_rms_rel_error != 0) o["fit_rms_rel_error"] = op.fit_rms_rel_error;
    if (!op.curve.empty()) {
      nlohmann::json curve = nlohmann::json::array();
      for (const auto& point : op.curve) curve.push_back({{"work", point.work}, {"efficiency", point.efficiency}});
      o["curve"] = std::move(curve);
      if (op.curve_axis != CurveAxis::size) o["curve_axis"] = to_string(op.curve_axis);
    }
    if (op.tile_model) {
      const GemmTileModel& m = *op.tile_model;
      nlohmann::json t = {{"tile_efficiency", m.tile_efficiency},
                          {"tile_overhead_us", s_to_us_exact(m.tile_overhead_s)},
                          {"launch_overhead_us", s_to_us_exact(m.launch_overhead_s)},
                          {"max_split_k", m.max_split_k},
                          {"source", m.source}};
      if (m.fit_rms_rel_error != 0) t["fit_rms_rel_error"] = m.fit_rms_rel_error;
      o["tile_model"] = std::move(t);
    }
    if (op.block_scaled) o["block_scaled"] = {{"rate", op.block_scaled->rate}, {"source", op.block_scaled->source}};
    if (op.by_shape) {
      nlohmann::json series = nlohmann::json::array();
      for (const auto& s : op.by_shape->series) {
        nlohmann::json points = nlohmann::json::array();
        for (const auto& p : s.by_seq_len) points.push_back({{"seq_len", p.work}, {"efficiency", p.efficiency}});
        series.push_back({{"head_dim", s.head_dim}, {"causal", s.causal}, {"points", std::move(points)}});
      }
      o["by_shape"] = {{"source", op.by_shape->source}, {"series", std::move(series)}};
    }
    j["ops"][key] = std::move(o);
  }
  if (!p.collectives.empty()) {
    nlohmann::json links = nlohmann::json::object();
    for (const auto& [link, per_op] : p.collectives) {
      nlohmann::json ops = nlohmann::json::object();
      for (const auto& [name, c] : per_op) {
        ops[name] = {
            {"alpha_us", s_to_us_exact(c.alpha_s)}, {"bus_efficiency", c.bus_efficiency}, {"source", c.source}};
      }
      links[link] = std::move(ops);
    }
    j["collectives"] = std::move(links);
  }
  return j;
}

}  // namespace gwsim
