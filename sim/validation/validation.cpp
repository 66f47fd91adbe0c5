#include "gwsim/sim/validation/validation.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/cost/collective_cost.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/hwmodels/fabric_sizing.h"
#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"
#include "gwsim/sim/requests/simulator.h"
#include "gwsim/workloads/model.h"
#include "gwsim/workloads/training_plan.h"

namespace gwsim {

std::string PublishedFigure::text() const {
  if (is_lower_bound()) return fmt::format(">{:.5g}", low);
  if (is_range()) return fmt::format("{:.5g}-{:.5g}", low, high);
  return fmt::format("{:.5g}", low);
}

double ValidationRow::error_pct() const {
  if (predicted < published.low) return 100.0 * (predicted - published.low) / published.low;
  if (predicted > published.high) return 100.0 * (predicted - published.high) / published.high;
  return 0;  // on the figure, or inside its bound or range
}

namespace {

std::string scenario_path(const std::string& name) {
  return (std::filesystem::path(data_dir()) / "scenarios" / (name + ".json")).string();
}

// The number at text[i] (digits first: no sign, no "inf"), with a "k"/"M" multiplier written right
// after it ("14.8k"); advances i past both.
std::optional<double> number_at(const std::string& text, std::size_t& i) {
  if (i >= text.size() || !(std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str() + i, &end);
  if (end == text.c_str() + i) return std::nullopt;
  i = static_cast<std::size_t>(end - text.c_str());
  double scale = 1;
  if (i < text.size() && (text[i] == 'k' || text[i] == 'K'))
    scale = 1e3, ++i;
  else if (i < text.size() && text[i] == 'M')
    scale = 1e6, ++i;
  return v * scale;
}

// Published figures are often strings: "989 (MegaScale-MoE Table 4)", "~480 (algbw ~275)",
// "~14.8k output tokens/s", ">90%" (a lower bound), "46-48 (issue #290)" (a range). The figure is
// the leading number, bound or range; whatever follows it is commentary.
std::optional<PublishedFigure> parse_figure(const std::string& text) {
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && text[i] == ' ') ++i;
  };
  skip_spaces();
  bool lower_bound = false;
  if (text.compare(i, 3, "\u2265") == 0)
    lower_bound = true, i += 3;
  else if (text.compare(i, 2, ">=") == 0)
    lower_bound = true, i += 2;
  else if (text.compare(i, 1, ">") == 0)
    lower_bound = true, i += 1;
  skip_spaces();
  if (i < text.size() && text[i] == '~') ++i;
  skip_spaces();
  auto low = number_at(text, i);
  if (!low) return std::nullopt;
  std::optional<double> high;
  if (!lower_bound && i + 1 < text.size() && text[i] == '-' && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
    ++i;
    high = number_at(text, i);
    if (!high || *high <= *low) return std::nullopt;
  }
  const double unit = i < text.size() && text[i] == '%' ? 0.01 : 1;
  if (lower_bound) return PublishedFigure::at_least(*low * unit);
  if (high) return PublishedFigure::between(*low * unit, *high * unit);
  return PublishedFigure(*low * unit);
}

// The published figure at o.key: an error, never 0, when it is missing or is not a positive number.
PublishedFigure figure(const JsonObject& o, const std::string& key) {
  const auto& v = o.raw(key);
  std::optional<PublishedFigure> f;
  if (v.is_number())
    f = PublishedFigure(v.get<double>());
  else if (v.is_string())
    f = parse_figure(v.get<std::string>());
  if (!f || !(f->low > 0) || !std::isfinite(f->low))
    o.fail(key,
           "expected a positive published figure: a number, or a string starting with one (\"~480\", "
           "\">90%\", \"46-48\", \"14.8k\"), got " +
               v.dump());
  return *f;
}

// o.key as a table of numbers ([[m, n, k, tflops, ...], ...]), each row at least `width` positive numbers.
std::vector<std::vector<double>> number_rows(const JsonObject& o, const std::string& key, std::size_t width) {
  const auto& v = o.raw(key);
  if (!v.is_array()) o.fail(key, "expected an array of rows of numbers");
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& row = v[i];
    const std::string path = fmt::format("{}[{}]", o.path_of(key), i);
    if (!row.is_array() || row.size() < width)
      throw InputError(o.file(), path, fmt::format("expected an array of at least {} numbers", width));
    std::vector<double> values;
    for (std::size_t j = 0; j < width; ++j) {
      if (!row[j].is_number() || !(row[j].get<double>() > 0))
        throw InputError(o.file(), fmt::format("{}[{}]", path, j), "expected a positive number");
      values.push_back(row[j].get<double>());
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

std::string describe(const std::string& scenario) { return "scenarios/" + scenario + ".json"; }

// A training scenario run with the validation's backend, and the region it covers.
struct ScenarioRun {
  nlohmann::json training;
  nlohmann::json goodput;
  ValidationRegion region;
  std::string scenario;
};

ScenarioRun run_scenario(const std::string& name, const std::string& backend) {
  const auto sc = load_scenario(scenario_path(name));
  auto report = run_training(sc, backend).report;
  return {report["training"], report["goodput"], region_of(sc), describe(name)};
}

// The rows of a validation, added case by case.
struct Rows {
  std::vector<ValidationRow> list;

  // A row of a case that does not run a training scenario.
  void add_row(const std::string& id, const std::string& metric, const PublishedFigure& published, double predicted,
               const std::string& scenario, const std::string& note) {
    ValidationRow r;
    r.case_id = id, r.metric = metric, r.published = published, r.predicted = predicted;
    r.scenario = scenario, r.note = note;
    list.push_back(std::move(r));
  }
  // A row predicted by a training scenario; `sense` marks the one row per published run that states
  // its speed ("step_time" or "throughput"), which error bands use.
  void add_run_row(const ScenarioRun& run, const std::string& id, const std::string& metric,
                   const PublishedFigure& published, double predicted, const std::string& note,
                   const std::string& sense = "") {
    ValidationRow r{id, metric, published, predicted, run.scenario, note, "training", run.region, sense};
    list.push_back(std::move(r));
  }
};

// The rows of cases dsv3-pretrain-2048xH800 and dsv3-step-breakdown-mpft-vs-mrft.
void dsv3_training_rows(const JsonObject& c, const std::string& id, const std::string& backend, Rows& rows) {
  const auto run = run_scenario("deepseek-v3-pretrain-2048xh800", backend);
  const auto& t = run.training;
  const auto meas = c.object("measured");
  if (id == "dsv3-pretrain-2048xH800") {
    rows.add_run_row(run, id, "gpu_hours_per_trillion_tokens", figure(meas, "gpu_hours_per_trillion_tokens"),
                     t["gpu_hours_per_trillion_tokens"].get<double>(), "", "step_time");
  } else {
    const auto m = meas.object("MPFT");
    rows.add_run_row(run, id, "step_time_s", figure(m, "time_per_step_s"), t["step_time_s"].get<double>(), "MPFT row",
                     "step_time");
    rows.add_run_row(run, id, "model_tflops_per_gpu (non-causal)", figure(m, "TFLOPS_non_causal"),
                     t["model_tflops_per_gpu"].get<double>(), "paper's non-causal convention");
    rows.add_run_row(run, id, "model_tflops_per_gpu (causal)", figure(m, "TFLOPS_causal"),
                     t["model_tflops_per_gpu_causal"].get<double>(), "paper's causal convention");
    rows.add_run_row(run, id, "bubble_s", figure(m, "bubble_s"), t["breakdown_s"]["bubble"].get<double>(),
                     "DualPipe bubble");
    // Table 4's six phases (1F, bubble, 1B, 1W, 1F1B, opt) add up to the step time, so whatever
    // runs after the last backward and before the next step, the data-parallel gradient
    // reduce-scatter and parameter all-gather that did not overlap included, is inside "opt".
    // gwsim's counterpart is the optimizer pass plus the exposed DP communication (all of it at
    // the step's end here: ZeRO-1, no per-micro-batch DP traffic).
    rows.add_run_row(run, id, "step_end_s (optimizer + exposed DP sync)", figure(m, "opt_s"),
                     t["breakdown_s"]["optimizer"].get<double>() + t["breakdown_s"]["exposed_comm_dp"].get<double>(),
                     "Table 4 opt");
  }
}

// The rows of cases llama3-405b-8k-8192gpu and llama3-405b-8k-16384gpu.
void llama3_throughput_rows(const JsonObject& c, const std::string& id, const std::string& backend, Rows& rows) {
  const auto gpus = c.object("hardware").positive_integer("gpus");
  const auto run = run_scenario(fmt::format("llama3-405b-{}xh100", gpus), backend);
  const auto meas = c.object("measured");
  rows.add_run_row(run, id, "model_tflops_per_gpu", figure(meas, "TFLOPs_per_GPU"),
                   run.training["model_tflops_per_gpu"].get<double>(), "non-causal 6N+attention convention",
                   "throughput");
  rows.add_run_row(run, id, "mfu", figure(meas, "BF16_MFU"), run.training["mfu"].get<double>(), "");
}

// The rows of case llama3-405b-reliability.
void llama3_reliability_rows(const JsonObject& c, const std::string& id, const std::string& backend, Rows& rows) {
  // The failure model's rates come from this very record (Table 5 over the window), so the MTBF
  // row checks the arithmetic; the goodput row checks the checkpoint/restart model against ">90%".
  const auto run = run_scenario("llama3-405b-16384xh100", backend);
  const auto meas = c.object("measured");
  rows.add_run_row(run, id, "job_mtbf_h (unexpected interruptions)",
                   meas.positive("window_days") * 24 / meas.positive("unexpected"),
                   run.goodput["job_mtbf_h"].get<double>(), "rates taken from this record (circular)");
  rows.add_run_row(run, id, "effective_training_time (published: >90%)", figure(meas, "effective_training_time"),
                   run.goodput["goodput_fraction"].get<double>(),
                   "published figure is a lower bound; restart time is an estimate (10 min)");
}

// The rows of case deepep-normal-h800.
void deepep_normal_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // DeepEP's "bottleneck bandwidth": bytes over the bottleneck link per GPU / time. The profile's
  // all-to-all efficiencies were read off this case, so these rows check the mechanics (which link
  // limits, how node-limited routing splits the bytes), not the efficiency.
  const auto feb = c.object("measured").object("feb_2025");
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  auto profile = find_profile("h800-sxm-derived", "");
  const double bytes = 4096.0 * 8 * 7168;  // 4096 tokens, top-8, hidden 7168, FP8 dispatch
  auto intra = collective_cost({"all_to_all", bytes, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  rows.add_row(id, "EP8 intranode dispatch GB/s (NVLink)", figure(feb.object("intranode_EP8"), "dispatch_GBps_nvlink"),
               bytes * 7.0 / 8 / intra.time_s / 1e9, "gwsim collective model, deepseek-h800-2048",
               "profile efficiency read off this case (circular)");
  for (int ep : {16, 32, 64}) {
    const double out_frac = dispatch_scaleout_fraction(ep, 8, 8, 4);  // DeepSeek-V3: top-8, at most 4 nodes
    auto inter = collective_cost({"all_to_all", bytes, ep, LinkClass::scaleout, 8, out_frac}, cluster, profile);
    const auto row = feb.object(fmt::format("internode_EP{}", ep));
    rows.add_row(id, fmt::format("EP{} internode dispatch GB/s (RDMA)", ep),
                 figure(row, row.has("dispatch") ? "dispatch" : "dispatch_GBps_rdma"),
                 bytes * out_frac / inter.time_s / 1e9, "gwsim collective model, deepseek-h800-2048",
                 "profile efficiency read off this case (circular)");
  }
}

// The rows of case dsv3-mpft-network.
void mpft_network_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // Switch and link counts of ISCA'25 Table 3 from the fat-tree sizing (no cost: the per-switch
  // and per-link prices in hwmodels/data/costs.json were solved from two of these rows).
  struct Fabric {
    const char* key;
    int planes, tiers;
  };
  const auto table = c.object("measured").object("network_cost_table3");
  for (const auto& f : {Fabric{"FT2", 1, 2}, Fabric{"MPFT", 8, 2}, Fabric{"FT3", 1, 3}}) {
    const auto pub = table.object(f.key);
    FabricRequest req;
    req.endpoints = pub.positive_integer("endpoints");
    req.switch_radix = 64;
    req.planes = f.planes;
    req.tiers = f.tiers;
    auto sizing = size_fabric(req, 0, 0, id);
    rows.add_row(id, fmt::format("{} switches ({} endpoints)", f.key, req.endpoints), figure(pub, "switches"),
                 static_cast<double>(sizing.switches), "hwmodels fabric sizing, radix 64", "");
    rows.add_row(id, fmt::format("{} links", f.key), figure(pub, "links"),
                 static_cast<double>(sizing.inter_switch_links), "hwmodels fabric sizing, radix 64",
                 "inter-switch links");
  }
}

// The rows of case megatron-sc21-weak-scaling.
void megatron_weak_scaling_rows(const JsonObject& c, const std::string& id, const std::string& backend, Rows& rows) {
  for (const auto& row : c.object("measured").array_of_objects("rows")) {
    const double params_b = row.positive("params_B");
    std::string tag = fmt::format("{:g}b", params_b);
    for (auto& ch : tag)
      if (ch == '.') ch = 'p';
    const auto run = run_scenario(fmt::format("megatron-sc21-{}-{}xa100", tag, row.positive_integer("GPUs")), backend);
    // SC21 counts FLOPs with Eq. 3, which includes the recomputed forward pass: compare with the
    // hardware FLOPs gwsim executes under full recomputation.
    rows.add_run_row(run, id + fmt::format(" {:g}B", params_b), "tflops_per_gpu (SC21 Eq. 3, recompute counted)",
                     figure(row, "TFLOPs_per_GPU"), run.training["hardware_tflops_per_gpu"].get<double>(), "",
                     "throughput");
  }
}

// The rows of case dsv3-kv-cache-and-train-flops-per-token.
void kv_cache_and_flops_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // ISCA'25 Tables 1 and 2, keyed by the paper's model names.
  const auto kv_table = c.object("model").object("kv_cache_per_token_bf16");
  const auto flops_table = c.object("model").object("training_flops_per_token_seq4096");
  auto v3 = find_model("deepseek-v3", "");
  auto l405 = find_model("llama3-405b", "");
  auto kv_kb = [](const ModelSpec& m) {
    return static_cast<double>(m.attention.kv_cache_elems_per_token()) * m.layers * 2 / 1000.0;
  };
  rows.add_row(id, "kv_cache_kb_per_token DeepSeek-V3", figure(kv_table, "DeepSeek-V3 (MLA)"), kv_kb(v3),
               "workloads/models/deepseek-v3.json", "bf16");
  rows.add_row(id, "kv_cache_kb_per_token Llama-3.1 405B", figure(kv_table, "LLaMA-3.1 405B (GQA)"), kv_kb(l405),
               "workloads/models/llama3-405b.json", "bf16");
  for (const auto& [name, model, paper_key] : {std::tuple{"DeepSeek-V3", "deepseek-v3", "DeepSeek-V3 MoE 671B"},
                                               std::tuple{"DeepSeek-V2", "deepseek-v2", "DeepSeek-V2 MoE 236B"},
                                               std::tuple{"LLaMa-405B", "llama3-405b", "LLaMa-405B dense"}}) {
    // Per-token training FLOPs at sequence 4096, causal attention, main model without MTP.
    auto m = find_model(model, "");
    m.mtp_depth = 0;
    m.seq_len = 4096;
    TrainingSettings t;
    t.seq_len = 4096;
    t.causal_mask = true;
    Parallelism single;
    double f = 0;
    for (int l = 0; l < m.layers; ++l)
      for (const auto& op : layer_forward_ops(m, l, single, t, 4096.0)) f += op.flops * op.count;
    f += 2.0 * 4096 * m.vocab * m.hidden;
    rows.add_row(id, fmt::format("train_gflops_per_token {} (seq 4096)", name), figure(flops_table, paper_key),
                 3 * f / 4096 / 1e9, std::string("workloads/models/") + model + ".json",
                 "3 x forward, causal attention, no MTP");
  }
}

// The rows of case deepgemm-h800.
void deepgemm_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // FP8 GEMMs with the H800 profile against DeepGEMM's tables. The dense entry (gemm.fp8) is our
  // cuBLASLt E4M3 measurement on the H200 (per-tensor scales) with cuBLASLt's measured block-scaled
  // rate (DeepGEMM's kernels are block-scaled, 1 x 128 / 128 x 128), derived to the H800: out of
  // sample for DeepGEMM's kernels. The grouped entry (grouped_gemm.fp8) is the mean
  // of DeepGEMM's four contiguous rows, so those rows are circular; the masked rows (fewer tokens
  // per expert, as in decode) are not.
  const auto meas = c.object("measured");
  const auto& gpu = find_gpu("H800-SXM");
  auto profile = find_profile("h800-sxm-derived", "");
  const std::string file = "hwmodels/profiles/h800-sxm-derived.json";
  for (const auto& row : number_rows(meas, "dense_MxNxK_TFLOPS_GBps", 4)) {
    const double m = row[0], n = row[1], k = row[2];
    Op op{"gemm", OpClass::gemm, Precision::fp8,    2 * m * n * k, m * k + k * n + 2 * m * n,
          1,      OpRole::other, GemmShape{m, n, k}};
    op.block_scaled = true;
    rows.add_row(id, fmt::format("fp8 gemm tflops {:g}x{:g}x{:g}", m, n, k), row[3],
                 op.flops / op_time_s(op, gpu, profile) / 1e12, file,
                 m >= 4096 ? "our cuBLASLt E4M3 tile model and block-scaled rate (H200, derived)"
                           : "skinny M: cuBLASLt's 128-row tiles, not DeepGEMM's 64");
  }
  for (const auto& [layout, circular] : {std::pair{"grouped_contiguous", true}, std::pair{"grouped_masked", false}}) {
    for (const auto& row : number_rows(meas, std::string(layout) + "_G_M_N_K_TFLOPS_GBps", 5)) {
      // G experts with M tokens each: FP8 weights and activations, bf16 output.
      const double g = row[0], m = row[1], n = row[2], k = row[3];
      Op op{"grouped", OpClass::grouped_gemm, Precision::fp8, 2 * g * m * n * k, g * (n * k + m * k + 2 * m * n), 1};
      rows.add_row(id, fmt::format("fp8 {} tflops {:g}x{:g}x{:g}x{:g}", layout, g, m, n, k), row[4],
                   op.flops / op_time_s(op, gpu, profile) / 1e12, file,
                   circular ? "profile entry is these rows' mean (circular)" : "out of sample: few tokens per expert");
    }
  }
}

// The rows of case flashmla-h800.
void flashmla_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  const auto meas = c.object("measured");
  const auto& gpu = find_gpu("H800-SXM");
  auto profile = find_profile("h800-sxm-derived", "");
  rows.add_row(id, "mla_decode memory-bound GB/s", figure(meas, "memory_bound_GBps"),
               gpu.hbm_bandwidth_gbs.value * profile.op(OpClass::mla_decode, Precision::bf16).efficiency,
               "hwmodels/profiles/h800-sxm-derived.json", "profile entry sourced from this case (circular)");
  // The compute-bound figure: 128 query heads (h_q * s_q >= 64) over one latent cache, batch 128,
  // 4096 cached tokens, with the case's FLOP and byte formulas. gwsim's mla_decode class is priced
  // by bytes alone, so at ~242 FLOP per byte this row shows what ignoring the FLOP side costs.
  const double b = 128, sk = 4096, hq = 128, d = 576, dv = 512;
  Op op{"mla_decode",
        OpClass::mla_decode,
        Precision::bf16,
        2 * b * sk * hq * (d + dv),
        (b * sk * d + b * hq * d + b * hq * dv) * 2,
        1};
  rows.add_row(id, "mla_decode compute-bound TFLOPS (h_q 128, b 128, kv 4096)",
               figure(meas, "compute_bound_TFLOPS_2025_04"), op.flops / op_time_s(op, gpu, profile) / 1e12,
               "hwmodels/profiles/h800-sxm-derived.json", "bytes-only model of a compute-bound kernel");
}

// The Day-6 day simulated request by request (docs/serving.md, "DeepSeek Day 6"): 8.4M requests,
// ~25 s, so one run per process serves every validation that asks (tests run several).
const nlohmann::json& day6_simulation(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> reports;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = reports.find(path);
  if (it == reports.end())
    it = reports.emplace(path, requests::simulate_requests(load_serving_scenario(path)).report).first;
  return it->second;
}

// The rows of case dsv3-online-inference-day6: the published 24-hour figures against the request
// simulation of that day (scenarios/serving/deepseek-v3-day6-diurnal-requests.json: Day 6's totals,
// cache-hit rate, KV length per output token, 20-22 tokens/s per user as the TPOT SLO and layouts;
// the diurnal profile, the length laws and the autoscaler's utilisation target are assumptions).
// A 24-hour average is what DeepSeek published, so the rows compare averages over a simulated day,
// not `gwsim serve`'s capacity at full load.
void online_inference_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  const auto meas = c.object("measured");
  const auto hardware = c.object("hardware");
  const std::string sc = "serving/deepseek-v3-day6-diurnal-requests";
  const auto& r = day6_simulation(scenario_path(sc));
  const auto& t = r["throughput"];
  const auto& fleet = r["fleet"];
  const std::string note = "autoscaled to 0.8 of the steady-state capacity per interval; assumed diurnal profile";
  // The deployment's region and how each figure reads as a speed, for serving reports' error band.
  const ValidationRegion region = region_of(load_serving_scenario(scenario_path(sc)));
  auto add = [&](const std::string& metric, const PublishedFigure& published, double predicted,
                 const std::string& sense) {
    rows.add_row(id, metric, published, predicted, describe(sc), note);
    rows.list.back().region = region;
    rows.list.back().speed_sense = sense;
  };
  add("decode output tokens/s per decode node (24 h average; request simulation)",
      figure(meas, "decode_throughput_per_node_tokens_per_s"), t["decode_output_tokens_per_s_per_node"].get<double>(),
      "throughput");
  add("prefill input tokens/s per prefill node incl. cache hits (24 h average; request simulation)",
      figure(meas, "prefill_throughput_per_node_tokens_per_s"), t["prefill_input_tokens_per_s_per_node"].get<double>(),
      "throughput");
  add("average nodes over the day (request simulation)", figure(hardware, "avg_nodes_24h"),
      fleet["average_nodes"].get<double>(), "resources");
  add("peak nodes (request simulation)", figure(hardware, "peak_nodes"), fleet["peak_nodes"].get<double>(),
      "resources");
}

// The rows of case dsv3-ep-decode-speed-bound.
void ep_decode_bound_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // ISCA'25's bound (case A, 400G InfiniBand: one expert per GPU, 32 tokens per GPU per micro-batch,
  // dispatch 1 byte and combine 2 bytes per element, compute ignored) with gwsim's decode
  // all-to-all (DeepEP low-latency: every copy over RDMA). The bound counts nine copies per token
  // (8 routed + 1 shared) at the bare 50 GB/s; gwsim eight, at the profile's efficiency and latency.
  const auto meas = c.object("measured");
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  const auto profile = preferred_profile_for(find_gpu(cluster.gpu_name));
  const auto v3 = find_model("deepseek-v3", "");
  const double copies = 32.0 * v3.moe->top_k, h = static_cast<double>(v3.hidden);
  const double a2a_s = decode_all_to_all_s(v3.moe->routed_experts, 1 * copies * h, cluster, profile) +
                       decode_all_to_all_s(v3.moe->routed_experts, 2 * copies * h, cluster, profile);
  rows.add_row(id, "case A dispatch + combine us (32 tokens/GPU, 400G IB)",
               figure(meas, "caseA_comm_time_per_all2all_us"), a2a_s * 1e6,
               "gwsim decode all-to-all on deepseek-h800-2048", "8 copies per token, not 9");
  // Two micro-batches per layer, compute hidden: TPOT = MoE layers x 2 x one all-to-all (the bound
  // counts all 61 layers; the first 3 are dense and exchange nothing).
  rows.add_row(id, "case A TPOT ms (communication only)", figure(meas, "caseA_TPOT_ms"),
               v3.moe_layers() * 2 * a2a_s * 1e3, "gwsim all-to-all on deepseek-h800-2048", "58 MoE layers, not 61");
}

// The rows of case deepep-lowlatency-h800.
void deepep_low_latency_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  // DeepEP's low-latency kernels (Feb 2025, pure RDMA): 128 tokens per GPU, top-8, hidden 7168,
  // FP8 dispatch, BF16 combine. Out of sample: the profile's scale-out all-to-all efficiency comes
  // from DeepEP's normal (training) kernels.
  const auto meas = c.object("measured");
  const auto feb = meas.object("feb_2025");
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/deepseek-h800-2048.json");
  const auto profile = preferred_profile_for(find_gpu(cluster.gpu_name));
  const auto v3 = find_model("deepseek-v3", "");
  const double copies = 128.0 * v3.moe->top_k, h = static_cast<double>(v3.hidden);
  // EP8 fits one NVLink domain, where gwsim sends over NVLink: the Feb 2025 kernels still used
  // RDMA there, the updated ones (legacy.md) NVLink, so EP8 is compared with the updated figures.
  for (const auto& [ep_name, unused] : feb.json().items()) {
    int ep = 0;
    const char* digits = ep_name.c_str() + std::min<std::size_t>(2, ep_name.size());
    const auto parsed = std::from_chars(digits, ep_name.c_str() + ep_name.size(), ep);
    if (ep_name.rfind("EP", 0) != 0 || parsed.ec != std::errc() || parsed.ptr != ep_name.c_str() + ep_name.size() ||
        ep < 1)
      feb.fail(ep_name, "expected keys EP<n> (\"EP64\")");
    const bool nvlink = ep <= cluster.scaleup_domain_gpus;
    const auto row = nvlink ? meas.object("legacy_doc_updated").object(ep_name) : feb.object(ep_name);
    for (const auto& [phase, elem] : {std::pair{"dispatch", 1.0}, std::pair{"combine", 2.0}})
      rows.add_row(id,
                   fmt::format("{} {} us (128 tokens/GPU, {})", ep_name, phase,
                               nvlink ? "NVLink, updated" : "pure RDMA, Feb 2025"),
                   figure(row, std::string(phase) + "_us"),
                   decode_all_to_all_s(ep, elem * copies * h, cluster, profile) * 1e6,
                   "gwsim decode all-to-all on deepseek-h800-2048", "FP8 scales not counted");
  }
}

// The rows of cases nccl-h100-8gpu-allreduce and nccl-h200-8gpu-allreduce.
void nccl_allreduce_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  const bool h100 = id == "nccl-h100-8gpu-allreduce";
  const auto meas = c.object("measured");
  auto cluster = load_cluster_file(data_dir() + (h100 ? "/hwmodels/data/clusters/generic-h100-1024.json"
                                                      : "/hwmodels/data/clusters/generic-h200-1024.json"));
  auto profile = default_profile_for(find_gpu(cluster.gpu_name));
  auto cost = collective_cost({"all_reduce", 8e9, 8, LinkClass::scaleup, 8, -1}, cluster, profile);
  rows.add_row(id, "all_reduce busbw GB/s, 8 GPUs, 8 GB",
               figure(meas, h100 ? "nvls_allreduce_peak_busbw_GBps" : "peak_busbw_GBps"), cost.busbw_bps / 1e9,
               "gwsim collective model, " + cluster.name, "profile bus efficiency sourced from the nccl cases");
}

// The rows of case nccl-400g-ndr-per-nic.
void nccl_per_nic_rows(const JsonObject& c, const std::string& id, Rows& rows) {
  auto cluster = load_cluster_file(data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json");
  auto profile = default_profile_for(find_gpu(cluster.gpu_name));
  // One GPU per node (rail-aligned): a flat ring over the NICs, 16 nodes, 8 GB.
  auto cost = collective_cost({"all_reduce", 8e9, 16, LinkClass::scaleout, 1, -1}, cluster, profile);
  rows.add_row(id, "all_reduce busbw GB/s per 400G NIC, 16 nodes",
               figure(c.object("measured"), "per_NIC_achievable_GBps"), cost.busbw_bps / 1e9,
               "gwsim collective model, " + cluster.name, "published range; profile sourced from this case");
}

// The rows of a "spec" case: the catalogue's figures for the chip against its spec sheet.
void spec_rows(const JsonObject& c, const std::string& id, std::vector<std::string>* skipped, Rows& rows) {
  const auto hw = c.object("hardware");
  const std::string gpu_name = hw.string_or("name", "");
  const GpuSpec* gpu = nullptr;
  // The case's chip name is free text ("NVIDIA B200 (HGX/DGX, 1000 W)"); the case id's suffix
  // ("spec-b200", "spec-gb200-nvl72") names the chip too.
  std::string id_chip = id.rfind("spec-", 0) == 0 ? id.substr(5) : id;
  if (auto pos = id_chip.find("-nvl72"); pos != std::string::npos) id_chip.erase(pos);
  for (const std::string& candidate : {gpu_name, id_chip}) {
    if (gpu) break;
    try {
      gpu = &find_gpu(candidate);
    } catch (const InputError&) {
    }
  }
  if (!gpu) {
    if (skipped) skipped->push_back(id + " (chip name \"" + gpu_name + "\" not in the catalogue)");
    return;
  }
  const auto src = hw.has("per_gpu") ? hw.object("per_gpu") : hw;
  if (src.has("bf16_dense_tflops") && gpu->supports(Precision::bf16))
    rows.add_row(id, "bf16_dense_tflops", figure(src, "bf16_dense_tflops"),
                 gpu->peak_dense_tflops.at(Precision::bf16).value, "hwmodels/data/gpus", gpu->name);
  if (src.has("hbm_bw_TBps"))
    rows.add_row(id, "hbm_bandwidth_tbs", figure(src, "hbm_bw_TBps"), gpu->hbm_bandwidth_gbs.value / 1000,
                 "hwmodels/data/gpus", gpu->name);
}

// The rows of one case, by its id (kind "spec": the catalogue's figures); a case gwsim cannot
// express yet goes to `skipped`.
void rows_of_case(const JsonObject& c, const std::string& backend, std::vector<std::string>* skipped, Rows& rows) {
  const std::string id = c.string("id");
  const std::string kind = c.string("kind");
  if (id == "dsv3-pretrain-2048xH800" || id == "dsv3-step-breakdown-mpft-vs-mrft") {
    dsv3_training_rows(c, id, backend, rows);
  } else if (id == "llama3-405b-8k-8192gpu" || id == "llama3-405b-8k-16384gpu") {
    llama3_throughput_rows(c, id, backend, rows);
  } else if (id == "llama3-405b-reliability") {
    llama3_reliability_rows(c, id, backend, rows);
  } else if (id == "deepep-normal-h800") {
    deepep_normal_rows(c, id, rows);
  } else if (id == "dsv3-mpft-network") {
    mpft_network_rows(c, id, rows);
  } else if (id == "megatron-sc21-weak-scaling") {
    megatron_weak_scaling_rows(c, id, backend, rows);
  } else if (id == "dsv3-kv-cache-and-train-flops-per-token") {
    kv_cache_and_flops_rows(c, id, rows);
  } else if (id == "deepgemm-h800") {
    deepgemm_rows(c, id, rows);
  } else if (id == "flashmla-h800") {
    flashmla_rows(c, id, rows);
  } else if (id == "dsv3-online-inference-day6") {
    online_inference_rows(c, id, rows);
  } else if (id == "dsv3-ep-decode-speed-bound") {
    ep_decode_bound_rows(c, id, rows);
  } else if (id == "deepep-lowlatency-h800") {
    deepep_low_latency_rows(c, id, rows);
  } else if (id == "nccl-h100-8gpu-allreduce" || id == "nccl-h200-8gpu-allreduce") {
    nccl_allreduce_rows(c, id, rows);
  } else if (id == "nccl-400g-ndr-per-nic") {
    nccl_per_nic_rows(c, id, rows);
  } else if (kind == "spec") {
    spec_rows(c, id, skipped, rows);
  } else if (skipped) {
    skipped->push_back(id + " (" + kind + ": not expressible yet)");
  }
  for (auto& row : rows.list) row.kind = kind;
}

}  // namespace

std::vector<ValidationRow> run_validation(const std::string& cases_path, std::vector<std::string>* skipped,
                                          const std::string& backend) {
  const auto doc = parse_json_file(cases_path);
  if (!doc.is_object()) throw InputError(cases_path, "$", "expected an object with \"cases\"");
  const JsonObject root(doc, cases_path, "$");
  const auto cases = root.array_of_objects("cases");
  // Day 6 is a whole day of requests simulated (~20 s): it runs last, so that a bad figure in any
  // other case stops validation before that work. The rows still come out in the file's order.
  auto runs_last = [](const JsonObject& c) { return c.has("id") && c.raw("id") == "dsv3-online-inference-day6"; };
  std::vector<std::vector<ValidationRow>> by_case(cases.size());
  for (bool last : {false, true})
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (runs_last(cases[i]) != last) continue;
      Rows rows;
      rows_of_case(cases[i], backend, skipped, rows);
      by_case[i] = std::move(rows.list);
    }
  std::vector<ValidationRow> out;
  for (auto& rows : by_case)
    for (auto& row : rows) out.push_back(std::move(row));
  return out;
}

}  // namespace gwsim
