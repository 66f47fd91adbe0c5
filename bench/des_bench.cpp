// The des engine at scale: ring all-reduce and all-to-all on 512..4096 (and more) GPUs of a
// two-tier fat tree, with contention. Plain timer; each case runs in its own process so that its
// peak memory is its own. Results and the machine: bench/RESULTS.md.
//   bench_des [max_gpus]   (default 4096)
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/network/collective.h"

using namespace gwsim;
using namespace gwsim::net;

namespace {

// H100 nodes (8 GPUs, 8 x 400G NICs) on a non-blocking two-tier fat tree of radix-128 switches:
// 64 NICs per leaf, 64 spines, 4096 NICs in all.
ClusterSpec bench_cluster(int gpus) {
  ClusterSpec c;
  c.name = "bench-h100-fat-tree";
  c.gpu_name = "H100-SXM";
  c.gpus = gpus;
  c.scaleup_per_direction_bps = 450e9;
  c.nic_bps = 50e9;
  c.fabric.kind = FabricKind::fat_tree;
  c.fabric.switch_radix = 128;
  c.fabric.tiers = 2;
  return c;
}

void run_case(const std::string& op, int gpus, double bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  const Profile profile = default_profile_for(find_gpu("H100"));
  // All-to-all under D-mod-k (InfiniBand fat-tree routing), which des aggregates exactly; the
  // ring under hashed ECMP.
  Topology topo(bench_cluster(gpus), 1, op == "all_to_all" ? Ecmp::dmodk : Ecmp::hash);
  CollectiveSpec spec;
  spec.op = op;
  spec.bytes = bytes;
  spec.algorithm = op == "all_to_all" ? "direct" : "ring";
  auto backend = make_backend("des");
  const auto r = simulate_collective(topo, profile, spec, *backend);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("| %s | %d | %.0f | %lld | %lld | %.6g | %.1f | %.3f | %.0f |\n", op.c_str(), gpus, r.flows, r.tasks,
              r.variables, r.time_s, r.busbw_bps / 1e9, wall, ru.ru_maxrss / 1024.0);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int max_gpus = argc > 1 ? std::stoi(argv[1]) : 4096;
  std::printf(
      "| op | GPUs | flows | tasks | max rate variables | simulated time s | busbw GB/s | wall s | peak RSS MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (const std::string op : {"all_reduce", "all_to_all"})
    for (int gpus = 512; gpus <= max_gpus; gpus *= 2) {
      const double bytes = op == "all_to_all" ? 64.0 * 1024 * 1024 : 1024.0 * 1024 * 1024;
      const pid_t pid = fork();
      if (pid == 0) {
        run_case(op, gpus, bytes);
        _exit(0);
      }
      int status = 0;
      waitpid(pid, &status, 0);
    }
  return 0;
}
