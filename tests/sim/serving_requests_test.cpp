// The request-level serving simulator (sim/requests/): queueing theory (M/D/1 against
// Pollaczek-Khinchine), the steady state of `gwsim serve` at saturation, the step table against
// direct pricing, the arrival and length laws, determinism, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/requests/kv_transfer.h"
#include "gwsim/sim/requests/request_stream.h"
#include "gwsim/sim/requests/simulator.h"
#include "gwsim/sim/requests/step_table.h"

using namespace gwsim;
using namespace gwsim::requests;

namespace {

// Llama 3 70B on one 8-GPU H100 node (tensor parallel), a small fleet and a short run.
nlohmann::json llama() {
  auto doc = parse_json_file(data_dir() + "/scenarios/serving/llama3-70b-serving-h100.json");
  doc["requests"] = {{"arrivals", {{"process", "poisson"}, {"rate_per_s", 4}}},
                     {"prompt_tokens", {{"distribution", "lognormal"}, {"mean", 2000}, {"sigma", 1.0}, {"max", 16384}}},
                     {"output_tokens", {{"distribution", "lognormal"}, {"mean", 300}, {"sigma", 1.0}, {"max", 4096}}},
                     {"decode_pool", {{"instances", 2}, {"max_batch", 128}, {"max_tokens_per_step", 4096}}},
                     {"slo", {{"ttft_ms", 2000}, {"tpot_ms", 50}}},
                     {"duration_s", 120},
                     {"max_requests", 100000},
                     {"seed", 7}};
  return doc;
}

ServingScenario parse(const nlohmann::json& doc) {
  return parse_serving_scenario(doc, data_dir() + "/scenarios/serving/test.json");
}

std::string error_of(const nlohmann::json& doc) {
  try {
    simulate_requests(parse(doc));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// One column of the per-request CSV.
std::vector<double> column(const std::string& csv, const std::string& name) {
  std::istringstream in(csv);
  std::string line, field;
  std::getline(in, line);
  std::istringstream header(line);
  int index = 0, wanted = -1;
  while (std::getline(header, field, ',')) {
    if (field == name) wanted = index;
    ++index;
  }
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    for (int i = 0; std::getline(row, field, ','); ++i)
      if (i == wanted) out.push_back(std::stod(field));
  }
  return out;
}

}  // namespace

// M/D/1: Poisson arrivals, one server, deterministic service (one prefill step per request: a fixed
// prompt, one output token, batch 1). Mean wait = rho / (2 mu (1 - rho)) (Pollaczek-Khinchine).
TEST(ServingRequests, MD1WaitMatchesPollaczekKhinchine) {
  auto doc = llama();
  auto& r = doc["requests"];
  r["prompt_tokens"] = {{"distribution", "fixed"}, {"value", 1024}, {"max", 1024}};
  r["output_tokens"] = {{"distribution", "fixed"}, {"value", 1}, {"max", 1}};
  r["decode_pool"] = {{"instances", 1}, {"max_batch", 1}, {"max_tokens_per_step", 2048}};
  r["max_requests"] = 1;
  // The service time: the first request finds the system empty.
  SimulationOptions rows;
  rows.request_rows = true;
  const double service = column(simulate_requests(parse(doc), rows).requests_csv, "ttft_s").at(0);
  ASSERT_GT(service, 0);
  const double rho = 0.5, n = 200000;
  r["arrivals"]["rate_per_s"] = rho / service;
  r["max_requests"] = n;
  r["duration_s"] = 10 * n * service / rho;
  const auto ttft = column(simulate_requests(parse(doc), rows).requests_csv, "ttft_s");
  ASSERT_EQ(ttft.size(), static_cast<std::size_t>(n));
  // Waits are correlated: the standard error comes from the means of 100 batches of 2000.
  std::vector<double> batch_means;
  double total = 0;
  for (std::size_t b = 0; b < 100; ++b) {
    double sum = 0;
    for (std::size_t i = b * 2000; i < (b + 1) * 2000; ++i) sum += ttft[i] - service;
    batch_means.push_back(sum / 2000);
    total += sum;
  }
  const double mean = total / n;
  double var = 0;
  for (double m : batch_means) var += (m - mean) * (m - mean);
  const double stderr_mean = std::sqrt(var / 99 / 100);
  const double expected = rho * service / (2 * (1 - rho));
  // The run is long enough for a sharp test (standard error under 2 % of the answer), and the
  // mean lies within 4 standard errors of the closed form.
  EXPECT_LT(stderr_mean, 0.02 * expected);
  EXPECT_NEAR(mean, expected, 4 * stderr_mean) << "service " << service << " s";
}

// Saturation: every sequence of a full batch prefilled in one step, then decoding together, gives
// gwsim serve's steady-state TPOT and tokens/s per GPU at that batch and the mean KV length.
TEST(ServingRequests, SaturatedDecodeReproducesTheSteadyState) {
  for (const char* name : {"llama3-70b-serving-h100", "deepseek-v3-serving-h800"}) {
    auto doc = parse_json_file(data_dir() + "/scenarios/serving/" + std::string(name) + ".json");
    const ServingScenario base = parse(doc);
    const int gpus = base.decode.layout.gpus;
    const int batch = 2 * gpus;                       // 2 sequences per GPU
    const std::int64_t prompt = 2000, output = 2001;  // mean KV over the decode: 2000 + 1 + 1000
    doc["requests"] = {{"arrivals", {{"process", "poisson"}, {"rate_per_s", 1e6}}},
                       {"prompt_tokens", {{"distribution", "fixed"}, {"value", prompt}, {"max", prompt}}},
                       {"output_tokens", {{"distribution", "fixed"}, {"value", output}, {"max", output}}},
                       {"decode_pool", {{"instances", 1}, {"max_batch", batch}, {"max_tokens_per_step", 1 << 22}}},
                       {"duration_s", 10},
                       {"max_requests", batch}};
    const auto report = simulate_requests(parse(doc)).report;
    ASSERT_EQ(report["requests"]["preemptions"], 0) << name;
    const DecodeStep steady = decode_step_at(base, 2.0, prompt + 1 + (output - 1) / 2.0);
    const double tpot = report["latency_ms"]["tpot"]["mean"].get<double>() / 1e3;
    // Within 1 %: the step table's interpolation, and a whole number of steps (MTP).
    EXPECT_NEAR(tpot, steady.tpot_s, 0.01 * steady.tpot_s) << name;
    EXPECT_NEAR(batch / tpot / gpus, steady.output_tokens_per_s_per_gpu, 0.01 * steady.output_tokens_per_s_per_gpu)
        << name;
  }
}

// The table against direct pricing halfway between its grid points (where interpolation is worst).
TEST(ServingRequests, StepTableMatchesDirectPricingOffGrid) {
  for (const char* name : {"llama3-70b-serving-h100", "deepseek-v3-serving-h800"}) {
    const ServingScenario s = parse(parse_json_file(data_dir() + "/scenarios/serving/" + std::string(name) + ".json"));
    const StepTable table(s, s.decode.layout, 4096, 65536, 65536);
    const double gpus = s.decode.layout.gpus;
    double worst = 0;
    for (double b : {3.0, 11.0, 45.0, 181.0, 1500.0, 3000.0})
      for (double kv : {100.0, 700.0, 3000.0, 9000.0, 40000.0}) {
        const double direct = decode_step_at(s, b / gpus, kv).step_s;
        worst = std::max(worst, std::abs(table.decode_s(b, kv) / direct - 1));
      }
    for (double t : {300.0, 2900.0, 23000.0})
      for (double ctx : {700.0, 9000.0}) {
        const double direct = prefill_step_at(s, s.decode.layout, t / gpus, ctx).step_s;
        worst = std::max(worst, std::abs(table.prefill_s(t, ctx) / direct - 1));
      }
    EXPECT_LT(worst, 0.02) << name;  // the tolerance docs/serving.md states
  }
}

TEST(ServingRequests, SameSeedSameReportOtherSeedOther) {
  const auto a = simulate_requests(parse(llama())).report.dump();
  EXPECT_EQ(a, simulate_requests(parse(llama())).report.dump());
  auto doc = llama();
  doc["requests"]["seed"] = 8;
  EXPECT_NE(a, simulate_requests(parse(doc)).report.dump());
}

TEST(ServingRequests, DiurnalProfileAndGammaBurstiness) {
  RequestSimConfig c;
  c.arrivals.rate_per_s = 100;
  c.arrivals.profile = {0.5, 1.5};  // two slots of 50 s
  c.arrivals.period_s = 100;
  c.prompt.max = c.output.max = 10;
  c.prompt.value = c.output.value = 5;
  c.duration_s = 1000;
  c.max_requests = 1000000;
  RequestStream poisson(c, {});
  double slot_counts[2] = {0, 0};
  while (auto r = poisson.next()) slot_counts[std::fmod(r->arrival_s, 100.0) < 50 ? 0 : 1] += 1;
  // 10 periods: 25,000 and 75,000 expected; Poisson sd 158 and 274 (4 sd allowed).
  EXPECT_NEAR(slot_counts[0], 25000, 4 * 158);
  EXPECT_NEAR(slot_counts[1], 75000, 4 * 274);
  c.arrivals.profile.clear();
  c.arrivals.kind = ArrivalKind::gamma;
  c.arrivals.cv = 3;
  RequestStream gamma(c, {});
  double last = 0, sum = 0, sum2 = 0, n = 0;
  while (auto r = gamma.next()) {
    const double gap = r->arrival_s - last;
    last = r->arrival_s;
    sum += gap;
    sum2 += gap * gap;
    n += 1;
  }
  const double mean = sum / n, cv = std::sqrt(sum2 / n - mean * mean) / mean;
  EXPECT_NEAR(mean, 0.01, 0.01 * 0.05);
  EXPECT_NEAR(cv, 3, 0.15);
}

TEST(ServingRequests, LognormalFromMedianAndP99) {
  auto doc = llama();
  doc["requests"]["output_tokens"] = {{"distribution", "lognormal"}, {"median", 1000}, {"p99", 8000}, {"max", 100000}};
  const ServingScenario s = parse(doc);
  Rng rng(3);
  std::vector<double> draws;
  for (int i = 0; i < 200000; ++i) draws.push_back(static_cast<double>(draw_length(s.requests->output, rng)));
  std::sort(draws.begin(), draws.end());
  EXPECT_NEAR(draws[100000], 1000, 15);
  EXPECT_NEAR(draws[198000], 8000, 400);
}

TEST(ServingRequests, BadInputIsOneLineWithItsPath) {
  auto doc = llama();
  doc["requests"]["arivals"] = doc["requests"]["arrivals"];
  EXPECT_NE(error_of(doc).find("$.requests.arivals"), std::string::npos) << error_of(doc);
  doc = llama();
  doc["requests"]["arrivals"]["process"] = "weibull";
  EXPECT_NE(error_of(doc).find("$.requests.arrivals.process"), std::string::npos);
  doc = llama();
  doc["requests"]["arrivals"]["rate_per_s"] = -1;
  EXPECT_NE(error_of(doc).find("$.requests.arrivals.rate_per_s"), std::string::npos);
  doc = llama();
  doc["requests"]["max_requests"] = 1e12;
  EXPECT_NE(error_of(doc).find("$.requests.max_requests"), std::string::npos);
  doc = llama();
  doc["requests"]["prefill_pool"] = {{"instances", 1}};
  EXPECT_NE(error_of(doc).find("$.requests.prefill_pool"), std::string::npos);
  doc = llama();
  doc["requests"]["output_tokens"]["max"] = 1 << 23;  // 8M tokens: no instance holds that cache
  EXPECT_NE(error_of(doc).find("does not fit one decode instance"), std::string::npos) << error_of(doc);
  doc = llama();
  doc["requests"]["decode_pool"]["max_tokens_per_step"] = 64;
  EXPECT_NE(error_of(doc).find("$.requests.decode_pool.max_tokens_per_step"), std::string::npos);
}

TEST(ServingRequests, TraceRowsAreCheckedWithTheirLine) {
  const std::string path = testing::TempDir() + "/gwsim_trace.csv";
  std::ofstream(path) << "timestamp_s,prompt_tokens,output_tokens,session_id\n0.5,100,20,a\n0.25,100,20,b\n";
  EXPECT_THROW(read_trace_csv(path, 10, 1), InputError);
  try {
    read_trace_csv(path, 10, 1);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "timestamp_s,prompt_tokens,output_tokens,session_id\n0.5,100,20,a\n1.0,50,7,b\n2.0,30,5,a\n";
  const auto rows = read_trace_csv(path, 10, 2);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].session, rows[0].session);
  EXPECT_DOUBLE_EQ(rows[1].arrival_s, 2.0);
  EXPECT_EQ(rows[1].output, 7);
}

// Two transfers asked for at once through the same NICs queue: the second ends one transfer time
// after the first; a transfer on other NICs does not wait.
TEST(ServingRequests, KvTransfersQueuePerNic) {
  KvTransferNetwork net({1, 1, 2}, 50e9, 1e-5);
  const double one = 1e-5 + 1e9 / 50e9;
  EXPECT_DOUBLE_EQ(net.transfer(0, 2, 1e9, 0), one);
  EXPECT_DOUBLE_EQ(net.transfer(0, 2, 1e9, 0), 2 * one);  // same sender NIC
  EXPECT_DOUBLE_EQ(net.transfer(1, 2, 1e9, 0), 2 * one);  // receiver's 2nd NIC was taken by the 2nd transfer
  EXPECT_DOUBLE_EQ(net.transfer(1, 2, 1e9, 5), 5 + one);  // later: both free
}

// Disaggregated: every request goes prefill -> transfer -> decode, its TTFT covers the prefill and
// the transfer shows in the CSV; the trace's spans never overlap on one track.
TEST(ServingRequests, DisaggregatedRunAndItsTrace) {
  auto doc = llama();
  doc["requests"]["disaggregated"] = true;
  doc["requests"]["prefill_pool"] = {{"instances", 1}, {"max_batch", 64}, {"max_tokens_per_step", 16384}};
  doc["requests"]["max_requests"] = 300;
  SimulationOptions o;
  o.request_rows = o.trace = true;
  const auto result = simulate_requests(parse(doc), o);
  EXPECT_EQ(result.report["requests"]["completed"], 300);
  const auto transfer = column(result.requests_csv, "kv_transfer_s");
  const auto decode_at = column(result.requests_csv, "decode_instance");
  const auto output = column(result.requests_csv, "output_tokens");
  for (std::size_t i = 0; i < transfer.size(); ++i) {
    if (output[i] <= 1) continue;
    EXPECT_GT(transfer[i], 0) << i;
    EXPECT_GE(decode_at[i], 1) << i;  // instance 0 is the prefill instance
  }
  const auto trace = nlohmann::json::parse(result.trace_json);
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> tracks;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X")
      tracks[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(
          {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
  ASSERT_GT(tracks.size(), 2u);
  for (auto& [track, spans] : tracks) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first + 1e-3);
  }
}

// A cache too small for the load: sequences are evicted and recomputed, and every request still
// delivers all its tokens.
TEST(ServingRequests, PreemptionByRecomputeWhenTheCacheFills) {
  auto doc = llama();
  doc["decode"]["memory_utilization"] = 0.3;  // ~6 GB of KV cache per GPU beside 17.6 GB of weights
  doc["requests"]["arrivals"]["rate_per_s"] = 20;
  doc["requests"]["max_requests"] = 2000;
  doc["requests"]["decode_pool"]["instances"] = 1;
  SimulationOptions o;
  o.request_rows = true;
  const auto result = simulate_requests(parse(doc), o);
  EXPECT_GT(result.report["requests"]["preemptions"].get<int>(), 0);
  EXPECT_EQ(result.report["requests"]["completed"], 2000);
  EXPECT_LE(result.report["kv_cache"]["peak_utilization"].get<double>(), 1.0);
}

// Sessions: prefix-affinity sends a session's turns to the instance holding its context, so far
// more prompt tokens hit the cache than with round-robin over 4 instances.
TEST(ServingRequests, PrefixAffinityKeepsSessionsCached) {
  auto doc = llama();
  doc["requests"]["prefix_cache"] = {{"sessions", 50}};
  doc["requests"]["decode_pool"]["instances"] = 4;
  doc["requests"]["arrivals"]["rate_per_s"] = 2;
  auto cached = [&](const char* routing) {
    doc["requests"]["routing"] = routing;
    const auto r = simulate_requests(parse(doc)).report["requests"];
    return r["cached_input_tokens"].get<double>() / r["input_tokens"].get<double>();
  };
  const double affinity = cached("prefix_affinity"), round_robin = cached("round_robin");
  EXPECT_GT(affinity, 0.3);
  EXPECT_GT(affinity, 2 * round_robin);
}

TEST(ServingRequests, HistogramLengthsFollowTheirWeights) {
  auto doc = llama();
  doc["requests"]["prompt_tokens"] = {
      {"distribution", "histogram"}, {"bin_edges", {0, 100, 1000}}, {"bin_weights", {3, 1}}, {"max", 1000}};
  const ServingScenario s = parse(doc);
  Rng rng(5);
  double low = 0, sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const auto x = static_cast<double>(draw_length(s.requests->prompt, rng));
    low += x <= 100 ? 1 : 0;
    sum += x;
  }
  EXPECT_NEAR(low / n, 0.75, 0.01);  // binomial sd 0.0014
  // Mean 0.75 x 50 + 0.25 x 550 = 175 (uniform inside a bin; 0 rounds up to 1 token).
  EXPECT_NEAR(mean_length(s.requests->prompt), 175, 1);
  EXPECT_NEAR(sum / n, 175, 3);
}

// A CSV trace drives the run: every row becomes a request with its lengths, at its time.
TEST(ServingRequests, TraceDrivenRun) {
  const std::string path = testing::TempDir() + "/gwsim_trace_run.csv";
  {
    std::ofstream out(path);
    out << "timestamp_s,prompt_tokens,output_tokens\n";
    for (int i = 0; i < 500; ++i) out << i * 0.1 << "," << 500 + i << "," << 20 + i % 7 << "\n";
  }
  auto doc = llama();
  doc["requests"]["arrivals"] = {{"process", "trace"}, {"trace", path}};
  doc["requests"].erase("prompt_tokens");
  doc["requests"].erase("output_tokens");
  doc["requests"].erase("duration_s");
  SimulationOptions o;
  o.request_rows = true;
  const auto result = simulate_requests(parse(doc), o);
  EXPECT_EQ(result.report["requests"]["completed"], 500);
  const auto arrival = column(result.requests_csv, "arrival_s");
  const auto prompt = column(result.requests_csv, "prompt_tokens");
  EXPECT_NEAR(arrival[499], 49.9, 1e-9);
  EXPECT_EQ(prompt[499], 999);
  doc["requests"]["prompt_tokens"] = {{"distribution", "fixed"}, {"value", 5}, {"max", 5}};
  EXPECT_NE(error_of(doc).find("$.requests.prompt_tokens: unknown key"), std::string::npos) << error_of(doc);
}
