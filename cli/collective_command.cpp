// gwsim collective --op OP --gpus N --bytes B [--cluster FILE] [--algorithm A] [--backend B] [--ecmp E] [--json]
// One collective on the cluster's network: time, algorithm bandwidth and bus bandwidth (the
// nccl-tests convention: busbw = algbw x 2(n-1)/n for all-reduce, (n-1)/n for the others).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/paths.h"
#include "gwsim/cost/collective_cost.h"
#include "gwsim/hwmodels/catalogue.h"
#include "gwsim/network/collective.h"

namespace gwsim::cli {

namespace {

struct Options {
  std::string op;
  long long gpus = 0;
  double bytes = 0;
  std::string cluster;
  std::string algorithm = "auto";
  std::string backend = "des";
  std::uint64_t seed = 1;
  std::string ecmp = "hash";
  bool json = false;
};

// GPUs whose NVSwitch reduces in the network (NVLink SHARP, NVSwitch 3 and later).
bool nvls_capable(const GpuSpec& gpu) { return gpu.architecture == "Hopper" || gpu.architecture == "Blackwell"; }

void run(const Options& o) {
  // Checked before the cluster is built from them: the topology holds every GPU (input_limits.h).
  if (o.gpus < 2 || o.gpus > limits::kMaxCollectiveGpus)
    throw InputError("--gpus", "", fmt::format("expected 2 to {} GPUs, got {}", limits::kMaxCollectiveGpus, o.gpus));
  if (!(o.bytes >= 1 && o.bytes <= limits::kMaxMagnitude))
    throw InputError("--bytes", "", fmt::format("expected 1 to {:g} bytes, got {:g}", limits::kMaxMagnitude, o.bytes));
  const std::string file =
      o.cluster.empty() ? data_dir() + "/hwmodels/data/clusters/generic-h100-1024.json" : o.cluster;
  if (!o.cluster.empty()) require_readable_file(file, "--cluster", file);
  ClusterSpec cluster = load_cluster_file(file);
  cluster.gpus = o.gpus;
  const GpuSpec& gpu = find_gpu(cluster.gpu_name, file, "$.gpu");
  const Profile profile = default_profile_for(gpu);
  if (o.gpus > cluster.gpus_per_node && o.gpus % cluster.gpus_per_node != 0)
    throw InputError("--gpus", "", fmt::format("expected a multiple of the {} GPUs per node", cluster.gpus_per_node));

  std::string algorithm;
  double time_s = 0, flows = 0;
  if (o.backend == "analytical") {
    CollectiveRequest req;
    req.op = o.op;
    req.bytes = o.bytes;
    req.group = static_cast<int>(o.gpus);
    req.link = o.gpus > cluster.scaleup_domain_gpus ? LinkClass::scaleout : LinkClass::scaleup;
    req.ranks_per_domain = std::min<int>(static_cast<int>(o.gpus), cluster.scaleup_domain_gpus);
    const auto c = collective_cost(req, cluster, profile);
    algorithm = c.algorithm;
    time_s = c.time_s;
  } else {
    net::Topology topo(cluster, o.seed, o.ecmp == "dmodk" ? net::Ecmp::dmodk : net::Ecmp::hash);
    net::CollectiveSpec spec;
    spec.op = o.op;
    spec.bytes = o.bytes;
    spec.algorithm = o.algorithm;
    spec.nvls_capable = nvls_capable(gpu);
    spec.aggregate = o.backend == "des";  // SimGrid simulates every GPU pair's flow
    auto backend = net::make_backend(o.backend);
    const auto r = net::simulate_collective(topo, profile, spec, *backend);
    algorithm = r.algorithm;
    time_s = r.time_s;
    flows = r.flows;
  }
  const double algbw = o.bytes / time_s;
  const double busbw = algbw * bus_factor(o.op, static_cast<int>(o.gpus));
  if (o.json) {
    nlohmann::json j = {{"op", o.op},
                        {"gpus", o.gpus},
                        {"bytes", o.bytes},
                        {"cluster", cluster.name},
                        {"backend", o.backend},
                        {"algorithm", algorithm},
                        {"time_s", time_s},
                        {"algbw_gbs", algbw / 1e9},
                        {"busbw_gbs", busbw / 1e9},
                        {"flows", flows},
                        {"profile", profile.name}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} of {} bytes on {} GPUs ({}, {} backend, algorithm {}, profile {})\n", o.op, o.bytes,
                           o.gpus, cluster.name, o.backend, algorithm, profile.name);
  std::cout << fmt::format("  time        {:.6g} s\n  algbw       {:.2f} GB/s\n  busbw       {:.2f} GB/s\n", time_s,
                           algbw / 1e9, busbw / 1e9);
  if (flows > 0) std::cout << fmt::format("  flows       {:.0f}\n", flows);
}

}  // namespace

void add_collective_command(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("collective", "Simulate one collective on the cluster network");
  cmd->add_option("--op", opt->op, "Collective")
      ->required()
      ->check(CLI::IsMember({"all_reduce", "all_gather", "reduce_scatter", "all_to_all"}));
  cmd->add_option("--gpus", opt->gpus, "Ranks (the cluster's GPU count is overridden)")->required();
  cmd->add_option("--bytes", opt->bytes, "Size in bytes, nccl-tests convention")->required();
  cmd->add_option("--cluster", opt->cluster, "Cluster file (default hwmodels/data/clusters/generic-h100-1024.json)");
  cmd->add_option("--algorithm", opt->algorithm, "Algorithm")
      ->check(CLI::IsMember({"ring", "tree", "direct", "hierarchical", "nvls", "sharp", "auto"}));
  cmd->add_option("--backend", opt->backend, "analytical | des | simgrid")
      ->check(CLI::IsMember({"analytical", "des", "simgrid"}));
  cmd->add_option("--seed", opt->seed, "ECMP hash seed");
  cmd->add_option("--ecmp", opt->ecmp,
                  "Equal-cost path choice: hash (per GPU pair) | dmodk (by destination, InfiniBand)")
      ->check(CLI::IsMember({"hash", "dmodk"}));
  cmd->add_flag("--json", opt->json, "Print JSON");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace gwsim::cli
