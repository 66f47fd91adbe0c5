// The request-level serving simulator at scale (issue 15's target: >= 1M requests for a 64-instance
// fleet in <= 10 s on one core). Plain timer: the whole simulate_requests call (step table, event
// loop, report), wall and CPU time. Results and the machine: bench/RESULTS.md.
//   bench_serving_requests [requests] [instances]   (default 1000000 64)
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string>

#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/requests/simulator.h"

using namespace gwsim;

int main(int argc, char** argv) {
  const std::int64_t requests = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const int instances = argc > 2 ? std::stoi(argv[2]) : 64;
  // Llama 3 70B, one 8-GPU H100 node per instance (tensor parallel), chunked prefill mixed with
  // decode, arrivals below saturation (TPOT P99 under the 50 ms SLO).
  auto doc = parse_json_file(data_dir() + "/scenarios/serving/llama3-70b-serving-h100.json");
  doc["requests"] = {{"arrivals", {{"process", "gamma"}, {"rate_per_s", 12.0 * instances}, {"cv", 2}}},
                     {"prompt_tokens", {{"distribution", "lognormal"}, {"mean", 1000}, {"sigma", 1.0}, {"max", 16384}}},
                     {"output_tokens", {{"distribution", "lognormal"}, {"mean", 250}, {"sigma", 1.0}, {"max", 4096}}},
                     {"decode_pool", {{"instances", instances}, {"max_batch", 256}, {"max_tokens_per_step", 8192}}},
                     {"routing", "least_loaded"},
                     {"slo", {{"ttft_ms", 2000}, {"tpot_ms", 50}}},
                     {"duration_s", 1e7},
                     {"max_requests", requests},
                     {"seed", 1}};
  const ServingScenario s = parse_serving_scenario(doc, data_dir() + "/scenarios/serving/bench.json");
  const auto wall0 = std::chrono::steady_clock::now();
  const std::clock_t cpu0 = std::clock();
  const auto result = requests::simulate_requests(s);
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const auto& r = result.report;
  fmt::print("{} requests, {} instances: wall {:.2f} s, CPU {:.2f} s ({:.2f} M requests per CPU-second)\n",
             r["requests"]["completed"].get<std::int64_t>(), instances, wall, cpu,
             static_cast<double>(requests) / cpu / 1e6);
  fmt::print("  simulated {:.0f} s; TTFT P99 {:.1f} ms, TPOT P99 {:.1f} ms, {:.0f} output tokens/s, {} preemptions\n",
             r["throughput"]["span_s"].get<double>(), r["latency_ms"]["ttft"]["p99"].get<double>(),
             r["latency_ms"]["tpot"]["p99"].get<double>(), r["throughput"]["output_tokens_per_s"].get<double>(),
             r["requests"]["preemptions"].get<std::int64_t>());
  return 0;
}
