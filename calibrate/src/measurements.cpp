// Reading raw measurements: the sweep's JSON (strict, like every gwsim input) and nccl-tests text.
#include "gwsim/calibrate/measurements.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"

namespace gwsim::calibrate {

namespace {

constexpr const char* kMeasurementsSchema = "gwsim.measurements/1";

const std::vector<std::string>& measurement_ops() {
  static const std::vector<std::string> ops = {"copy",
                                               "gemm",
                                               "grouped_gemm",
                                               "mla_decode",
                                               "mla_prefill",
                                               "attention_prefill",
                                               "swiglu",
                                               "moe_gating",
                                               "moe_permute",
                                               "moe_combine",
                                               "nccl_all_reduce",
                                               "nccl_all_gather",
                                               "nccl_reduce_scatter",
                                               "nccl_all_to_all",
                                               "nccl_sendrecv",
                                               "layer_sequence"};
  return ops;
}

DeviceInfo parse_device(const JsonObject& d) {
  DeviceInfo dev;
  dev.name = d.string("name");
  dev.sm_count = d.int_in_or("sm_count", 0, 1 << 16, 0);  // H200: 132; 2^16 is past any GPU
  dev.sm_clock_mhz = d.number_or("sm_clock_mhz", 0);
  dev.mem_clock_mhz = d.number_or("mem_clock_mhz", 0);
  dev.l2_bytes = d.integer_or("l2_bytes", 0);
  dev.hbm_bytes = d.integer_or("hbm_bytes", 0);
  dev.memory_bus_bits = d.int_in_or("memory_bus_bits", 0, 1 << 16, 0);  // H200: 6144
  dev.smem_per_block_optin_bytes = d.integer_or("smem_per_block_optin_bytes", 0);
  dev.compute_capability = d.string_or("compute_capability", "");
  dev.driver = d.string_or("driver", "");
  dev.driver_cuda = d.string_or("driver_cuda", "");
  dev.cuda_runtime = d.string_or("cuda_runtime", "");
  dev.nccl = d.string_or("nccl", "");
  dev.cublas = d.string_or("cublas", "");
  dev.gpu_count = d.int_in_or("gpu_count", 1, limits::kMaxGpus, 1);
  d.allow({"notes", "source", "description"});
  d.reject_unknown_keys();
  return dev;
}

Measurement parse_record(const JsonObject& r) {
  Measurement m;
  m.op = r.one_of("op", measurement_ops());
  m.precision = r.string("precision");
  m.variant = r.string_or("variant", "");
  const JsonObject shape = r.object("shape");
  for (auto it = shape.json().begin(); it != shape.json().end(); ++it) {
    // Sizes are numbers; a flag (causal) is a boolean, stored as 1/0; a name (name, model, layer,
    // proj, routing) is a string. Anything else (objects, arrays, null) is refused.
    if (it.value().is_boolean()) {
      m.shape[it.key()] = shape.boolean(it.key()) ? 1.0 : 0.0;
    } else if (it.value().is_string()) {
      m.shape_text[it.key()] = shape.string(it.key());
    } else if (it.key() == "ranks") {
      m.shape[it.key()] = shape.int_in(it.key(), 0, limits::kMaxGpus);  // the fit counts ranks in an int
    } else if (it.value().is_number()) {
      m.shape[it.key()] = shape.number(it.key());
    } else {
      shape.fail(it.key(), "expected a number (a size), a boolean (a flag) or a string (a name)");
    }
  }
  m.median_s = r.positive("median_s");
  m.min_s = r.has("min_s") ? r.positive("min_s") : (r.allow({"min_s"}), m.median_s);
  m.repeats = r.int_in_or("repeats", 1, 1 << 30, 1);
  m.flops = r.number("flops");
  if (m.flops < 0) r.fail("flops", fmt::format("expected a number >= 0, got {}", m.flops));
  m.bytes = r.number("bytes");
  if (m.bytes < 0) r.fail("bytes", fmt::format("expected a number >= 0, got {}", m.bytes));
  m.checked = r.boolean_or("checked", true);
  // The writer states max_rel_error exactly when a check covering this op ran; a record with
  // "checked": false and no max_rel_error was never checked (rather than checked and wrong).
  m.check_ran = m.checked || r.has("max_rel_error");
  m.max_rel_error = r.number_or("max_rel_error", 0);
  if (m.max_rel_error < 0) r.fail("max_rel_error", fmt::format("expected a number >= 0, got {}", m.max_rel_error));
  m.layer = r.string_or("layer", "");
  m.step = r.string_or("step", "");
  if (m.layer.empty() != m.step.empty())
    r.fail(m.layer.empty() ? "layer" : "step",
           "expected \"layer\" and \"step\" together (a layer_step record names both)");
  m.dense_same_flops_s = r.number_or("dense_same_flops_s", 0);
  if (m.dense_same_flops_s < 0)
    r.fail("dense_same_flops_s", fmt::format("expected a number >= 0, got {}", m.dense_same_flops_s));
  m.floor_s = r.number_or("floor_s", 0);
  if (m.floor_s < 0) r.fail("floor_s", fmt::format("expected a number >= 0, got {}", m.floor_s));
  m.algbw_gbs = r.number_or("algbw_gbs", 0);
  m.busbw_gbs = r.number_or("busbw_gbs", 0);
  m.notes = r.string_or("notes", "");
  if (m.op == "layer_sequence" && !m.shape_text.count("layer"))
    r.fail("shape", "expected a \"layer\" name in a layer_sequence record's shape (the layer its steps name)");
  r.allow({"source", "description"});
  r.reject_unknown_keys();
  return m;
}

SweepStage parse_stage(const JsonObject& o) {
  SweepStage st;
  st.stage = o.string("stage");
  st.status = o.string("status");
  st.wall_s = o.number_or("wall_s", 0);
  o.allow({"notes", "source", "description"});
  o.reject_unknown_keys();
  return st;
}

SweepSkip parse_skip(const JsonObject& o) {
  SweepSkip sk;
  sk.stage = o.string("stage");
  sk.what = o.string_or("what", "");
  sk.reason = o.string("reason");
  o.allow({"notes", "source", "description"});
  o.reject_unknown_keys();
  return sk;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "", "cannot open file: expected a readable file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> split_ws(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  return tokens;
}

bool parse_double(const std::string& s, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(s, &used);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

// "all_reduce_perf" / "all_reduce_perf_mpi" / "alltoall_perf" -> measurement op name.
std::string op_from_test_name(const std::string& name) {
  static const std::vector<std::pair<std::string, std::string>> names = {{"all_reduce", "nccl_all_reduce"},
                                                                         {"allreduce", "nccl_all_reduce"},
                                                                         {"all_gather", "nccl_all_gather"},
                                                                         {"allgather", "nccl_all_gather"},
                                                                         {"reduce_scatter", "nccl_reduce_scatter"},
                                                                         {"reducescatter", "nccl_reduce_scatter"},
                                                                         {"alltoall", "nccl_all_to_all"},
                                                                         {"all_to_all", "nccl_all_to_all"},
                                                                         {"sendrecv", "nccl_sendrecv"}};
  for (const auto& [pattern, op] : names)
    if (name.find(pattern) != std::string::npos) return op;
  return "";
}

}  // namespace

bool Measurement::library_call() const {
  const auto starts = [&](const char* prefix) { return variant.rfind(prefix, 0) == 0; };
  if (variant == "layer_step" || variant == "sequential") return false;
  return starts("cublas") || starts("cudaMemcpy") || starts("nccl") || op.rfind("nccl_", 0) == 0;
}

std::string collective_of(const std::string& measurement_op) {
  if (measurement_op == "nccl_all_reduce") return "all_reduce";
  if (measurement_op == "nccl_all_gather") return "all_gather";
  if (measurement_op == "nccl_reduce_scatter") return "reduce_scatter";
  if (measurement_op == "nccl_all_to_all") return "all_to_all";
  if (measurement_op == "nccl_sendrecv") return "p2p";
  return "";
}

double wire_factor(const std::string& collective, int ranks) {
  if (collective == "p2p") return 1.0;
  if (ranks < 2)
    throw InputError(fmt::format("collective {} over {} rank(s): expected at least 2 ranks", collective, ranks));
  const double n = ranks;
  if (collective == "all_reduce") return 2.0 * (n - 1) / n;
  if (collective == "all_gather" || collective == "reduce_scatter" || collective == "all_to_all") return (n - 1) / n;
  throw InputError(fmt::format(
      "unknown collective \"{}\": expected all_reduce|all_gather|reduce_scatter|all_to_all|p2p", collective));
}

MeasurementSet parse_measurements(const JsonObject& root) {
  const std::string schema = root.string("schema");
  if (schema != kMeasurementsSchema)
    root.fail("schema", fmt::format("expected \"{}\", got \"{}\"", kMeasurementsSchema, schema));
  MeasurementSet set;
  set.file = root.file();
  set.device = parse_device(root.object("device"));
  set.started_utc = root.string_or("started_utc", "");
  set.generator = root.string_or("generator", "");
  set.quick = root.boolean_or("quick", false);
  if (root.has("stages"))
    for (const auto& o : root.array_of_objects("stages")) set.stages.push_back(parse_stage(o));
  if (root.has("skipped"))
    for (const auto& o : root.array_of_objects("skipped")) set.skipped.push_back(parse_skip(o));
  for (const auto& r : root.array_of_objects("records")) set.records.push_back(parse_record(r));
  root.allow({"notes", "source", "description"});
  root.reject_unknown_keys();
  return set;
}

MeasurementSet load_measurements_file(const std::string& path) {
  const nlohmann::json root = parse_json_file(path);
  return parse_measurements(JsonObject(root, path, "$"));
}

MeasurementSet parse_nccl_tests_text(const std::string& text, const std::string& origin,
                                     const NcclTestsOptions& options) {
  if (!(options.link.line_rate_bps > 0))
    throw InputError(origin, "", "nccl-tests output needs the link's line rate (--line-rate-gbs): expected > 0");
  MeasurementSet set;
  set.file = origin;
  set.link = options.link;

  std::string op;
  int rank_lines = 0;
  std::istringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto tokens = split_ws(line);
    if (tokens.empty()) continue;
    if (tokens[0] == "#" || tokens[0][0] == '#') {
      // "# Collective test starting: all_reduce_perf"
      if (auto pos = line.find("Collective test starting:"); pos != std::string::npos) {
        const auto name = split_ws(line.substr(pos + 25));
        if (!name.empty()) op = op_from_test_name(name[0]);
      }
      // "#  Rank  0 Group  0 Pid  1234 on  node01 device  0 [0x18] NVIDIA H200"
      if (tokens.size() > 2 && tokens[1] == "Rank") {
        ++rank_lines;
        if (auto bracket = line.find(']'); bracket != std::string::npos && set.device.name.empty()) {
          std::string name = line.substr(bracket + 1);
          name.erase(0, name.find_first_not_of(' '));
          name.erase(name.find_last_not_of(' ') + 1);
          set.device.name = name;
        }
      }
      // "# nccl-tests version 2.13.8 nccl-headers=22204 nccl-library=22204"
      if (auto pos = line.find("nccl-library="); pos != std::string::npos) {
        set.device.nccl = split_ws(line.substr(pos + 13)).at(0);
      }
      continue;
    }
    // A table row: size count type [redop] [root] time algbw busbw #wrong time algbw busbw #wrong.
    // Older nccl-tests leave out redop/root for some tests, so the out-of-place time is found by
    // counting from the end: the last 8 tokens are the two (time algbw busbw #wrong) groups.
    double size_bytes = 0;
    // Lines that do not start with a number are not table rows (NCCL INFO logs, warnings): skip.
    if (!parse_double(tokens[0], size_bytes)) continue;
    if (tokens.size() < 3 + 8) {
      throw InputError(origin, "",
                       fmt::format("line {}: expected an nccl-tests table row "
                                   "(size count type redop root time algbw busbw #wrong ...), got \"{}\"",
                                   line_no, line));
    }
    const std::size_t oop = tokens.size() - 8;
    // algbw and busbw are checked to be numbers (a sanity check on the column count) but not kept:
    // the fit recomputes bandwidth from size and time with the same convention.
    double time_us = 0, algbw_gbs = 0, busbw_gbs = 0;
    if (!parse_double(tokens[oop], time_us) || !parse_double(tokens[oop + 1], algbw_gbs) ||
        !parse_double(tokens[oop + 2], busbw_gbs) || !(time_us > 0))
      throw InputError(origin, "",
                       fmt::format("line {}: expected positive out-of-place time, algbw and busbw numbers, got \"{}\"",
                                   line_no, line));
    if (size_bytes <= 0) continue;  // nccl-tests prints 0-byte rows for some ops: no information
    Measurement m;
    m.precision = tokens[2];  // the element type (float, half, bfloat16 ...)
    m.shape["bytes"] = size_bytes;
    m.median_s = time_us * 1e-6;
    m.min_s = m.median_s;
    m.bytes = size_bytes;
    set.records.push_back(std::move(m));
  }

  if (op.empty()) op = op_from_test_name(std::filesystem::path(origin).filename().string());
  if (op.empty())
    throw InputError(origin, "",
                     "cannot tell which collective this is: expected a line \"# Collective test starting: "
                     "<name>_perf\" or a file name containing all_reduce, all_gather, reduce_scatter, "
                     "alltoall or sendrecv");
  if (set.records.empty()) throw InputError(origin, "", "expected nccl-tests table rows, found none");
  const int ranks = options.link.ranks > 0 ? options.link.ranks : rank_lines;
  if (ranks < 2 && op != "nccl_sendrecv")
    throw InputError(origin, "",
                     fmt::format("found {} rank line(s): expected at least 2 ranks (state them with --ranks)", ranks));
  set.link->ranks = ranks;
  set.device.gpu_count = std::max(ranks, 1);
  for (auto& m : set.records) {
    m.op = op;
    m.shape["ranks"] = ranks;
  }
  return set;
}

MeasurementSet load_nccl_tests_file(const std::string& path, const NcclTestsOptions& options) {
  return parse_nccl_tests_text(read_text_file(path), path, options);
}

}  // namespace gwsim::calibrate
