// How long one analytical estimate takes (target: under 1 ms; Calculon needs ~0.35 s per
// configuration). Scenario loading (file I/O, catalogue) is measured apart from the estimate itself.
#include <benchmark/benchmark.h>

#include <string>

#include "gwsim/common/paths.h"
#include "gwsim/sim/report/report.h"

namespace {

std::string scenario(const char* name) { return gwsim::data_dir() + "/scenarios/" + name + ".json"; }

void BM_PlanAndEstimate(benchmark::State& state, const char* name) {
  auto sc = gwsim::load_scenario(scenario(name));
  for (auto _ : state) {
    auto plan = gwsim::plan_training(sc.model, sc.parallelism, sc.training, sc.cluster, sc.gpu, sc.file);
    auto step = gwsim::estimate_training_step(plan, sc.cluster, sc.gpu, sc.profile);
    benchmark::DoNotOptimize(step.step_time_s);
  }
}

void BM_FullRunWithReport(benchmark::State& state, const char* name) {
  auto sc = gwsim::load_scenario(scenario(name));
  for (auto _ : state) {
    auto run = gwsim::run_training(sc);
    benchmark::DoNotOptimize(run.report);
  }
}

BENCHMARK_CAPTURE(BM_PlanAndEstimate, deepseek_v3_2048xh800, "deepseek-v3-pretrain-2048xh800")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PlanAndEstimate, llama3_405b_16384xh100, "llama3-405b-16384xh100")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FullRunWithReport, deepseek_v3_2048xh800, "deepseek-v3-pretrain-2048xh800")
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
