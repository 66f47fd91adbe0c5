// gwsim plan: evaluated layouts per second (issue 14's target: >= 20,000/s on this 2-core machine).
// A fixed slice of the DeepSeek-V3 space on 2048 H800s and of the Llama 3 405B space on 8192
// H100s, searched with 1 and 2 threads; items/s is evaluated layouts (plan_training + the
// analytical estimate + goodput, power and cost) per second of wall time. The exhaustive
// DeepSeek-V3 space on 1024-16384 H800s is timed with the CLI (bench/RESULTS.md).
#include <benchmark/benchmark.h>

#include "gwsim/common/paths.h"
#include "gwsim/sim/planning/plan.h"

namespace {

gwsim::PlanRequest slice(const char* scenario, nlohmann::json search) {
  nlohmann::json doc = {{"schema", "gwsim.plan/1"},
                        {"scenario", gwsim::data_dir() + "/scenarios/" + scenario + ".json"},
                        {"search", std::move(search)},
                        {"top_k", 10}};
  auto req = gwsim::parse_plan_request(doc, "bench");
  (void)gwsim::run_plan(req);  // warm-up: catalogue, profiles and the validation record load once
  return req;
}

void run(benchmark::State& state, const gwsim::PlanRequest& req) {
  gwsim::PlanOptions options;
  options.threads = static_cast<int>(state.range(0));
  std::int64_t evaluated = 0;
  for (auto _ : state) {
    auto o = gwsim::run_plan(req, options);
    evaluated += o.counts.evaluated;
    benchmark::DoNotOptimize(o.top);
  }
  state.SetItemsProcessed(evaluated);
}

void BM_PlanDeepSeekV3(benchmark::State& state) {
  static const auto req = slice("deepseek-v3-pretrain-2048xh800",
                                {{"pp", {4, 8, 16}}, {"ep", {16, 32, 64}}, {"cp", {1}}, {"micro_batch_seqs", {1, 2}}});
  run(state, req);
}

void BM_PlanLlama3_405B(benchmark::State& state) {
  static const auto req = slice("llama3-405b-8192xh100",
                                {{"pp", {8, 16}}, {"cp", {1, 2}}, {"micro_batch_seqs", {1}}, {"zero_stages", {1, 2}}});
  run(state, req);
}

BENCHMARK(BM_PlanDeepSeekV3)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PlanLlama3_405B)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
