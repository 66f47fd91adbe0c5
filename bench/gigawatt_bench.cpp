// How long a ~1M-GPU analytical run takes: the gigawatt-h100 scenario scaled to
// 1,048,576 H100s (dp 8192, 32 micro-batches per replica), including plan,
// estimate, power (fabric sizing of 1M endpoints), cost, goodput and the JSON
// report. Cost grows with distinct pipeline stages and layers, not with the GPU
// count, so this should be as fast as a 2k-GPU scenario.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "gwsim/common/paths.h"
#include "gwsim/sim/report/report.h"

namespace {

const std::vector<std::string> kMillion = {"cluster.gpus=1048576", "parallelism.dp=8192",
                                           "training.global_batch_seqs=262144"};

std::string scenario(const char* name) { return gwsim::data_dir() + "/scenarios/" + name + ".json"; }

void BM_LoadAndRun(benchmark::State& state, const char* name, bool million) {
  for (auto _ : state) {
    auto sc = gwsim::load_scenario(scenario(name), million ? kMillion : std::vector<std::string>{});
    auto run = gwsim::run_training(sc);
    benchmark::DoNotOptimize(run.report);
  }
}

void BM_Run(benchmark::State& state, const char* name, bool million) {
  auto sc = gwsim::load_scenario(scenario(name), million ? kMillion : std::vector<std::string>{});
  state.counters["gpus"] = static_cast<double>(sc.cluster.gpus);
  for (auto _ : state) {
    auto run = gwsim::run_training(sc);
    benchmark::DoNotOptimize(run.report);
  }
}

BENCHMARK_CAPTURE(BM_Run, h100_1048576, "gigawatt-h100", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadAndRun, h100_1048576, "gigawatt-h100", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Run, gb200_nvl72_405504, "gigawatt-gb200-nvl72", false)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
