// `gwsim calibrate`: measure (run the CUDA sweep), fit (measurements -> profile) or derive (profile
// for a sibling GPU). Three modes of one command because they are the three steps of one workflow:
//
//   gwsim calibrate [--out DIR]                         run gwsim-calibrate-device, write measurements
//   gwsim calibrate --fit FILE|DIR... --out PROFILE.json [--gpu NAME] [--base PROFILE]
//                   [--nccl-tests FILE... --link scaleup|scaleout --line-rate-gbs X [--ranks N]]
//   gwsim calibrate --derive PROFILE --to GPU --out FILE [--base TARGET_PROFILE]
//   gwsim calibrate --check-layers MEASUREMENTS --profile PROFILE [--gpu NAME]
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "gwsim/calibrate/fit.h"
#include "gwsim/calibrate/layer_check.h"
#include "gwsim/calibrate/measurements.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/hwmodels/catalogue.h"

namespace gwsim::cli {

namespace {

namespace fs = std::filesystem;
using namespace gwsim::calibrate;

constexpr const char* kDeviceBinary = "gwsim-calibrate-device";

struct CalibrateArgs {
  std::string out;
  std::vector<std::string> fit_files;
  std::vector<std::string> nccl_files;
  std::string link = "scaleup";
  double line_rate_gbs = 0;
  int ranks = 0;
  std::string gpu;
  std::string base;
  std::string derive;
  std::string to;
  std::string check_layers;
  std::string profile;
  bool fit_reference_kernels = false;
};

// The sweep binary is built beside gwsim when nvcc is present; an installed one may be on PATH.
std::string find_device_binary() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path() / kDeviceBinary;
    if (fs::exists(beside)) return beside.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const std::size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / kDeviceBinary;
      if (end > start && fs::exists(candidate) && access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return "";
}

void run_device_sweep(const CalibrateArgs& args) {
  const std::string binary = find_device_binary();
  if (binary.empty())
    throw InputError(
        fmt::format("no CUDA device/kernels not built: {} is neither beside the gwsim executable nor on "
                    "PATH (it is built only when nvcc is found; use --fit with existing measurements)",
                    kDeviceBinary));
  if (!fs::exists("/dev/nvidiactl") && !fs::exists("/dev/nvidia0"))
    throw InputError("no CUDA device/kernels not built: no NVIDIA device on this machine (/dev/nvidia* absent)");
  const std::string out = args.out.empty() ? std::string(".") : args.out;
  std::cout << fmt::format("running {} --out {}", binary, out) << std::endl;
  // fork/exec rather than system(): no shell, so paths with spaces or quotes pass through intact.
  const pid_t pid = fork();
  if (pid < 0) throw InputError(fmt::format("cannot start {}: fork failed", binary));
  if (pid == 0) {
    std::vector<std::string> argv_s = {binary, "--out", out};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) throw InputError(fmt::format("lost track of {}", binary));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw InputError(fmt::format(
        "no CUDA device/kernels not built: {} failed ({}); see its message above", binary,
        WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status)) : std::string("killed by a signal")));
  std::cout << fmt::format("measurements written under {}; next: gwsim calibrate --fit {} --out PROFILE.json", out, out)
            << std::endl;
}

// A directory stands for the gwsim.measurements/1 files in it (the sweep's --out), sorted by name.
std::vector<std::string> expand_measurement_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& entry : fs::directory_iterator(p))
      if (entry.is_regular_file() && entry.path().extension() == ".json") in_dir.push_back(entry.path().string());
    if (in_dir.empty()) throw InputError(p, "", "directory holds no .json measurement files");
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

void write_profile(const Profile& profile, const std::string& path) {
  const fs::path out(path);
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (ec) throw InputError(path, "", fmt::format("cannot create its directory: {}", ec.message()));
  write_file_atomically(path, profile_to_json(profile).dump(2) + "\n", "--out");
}

std::string percent(double fraction) { return fmt::format("{:.2f} %", 100 * fraction); }

void print_fit_table(const FitResult& result) {
  std::cout << fmt::format("{:<26} {:>6} {:>10} {:>12} {:>14} {:>14} {:>14}\n", "op class", "points", "efficiency",
                           "overhead_us", "rms err (α-β)", "rms err (curve)", "rms err (tiles)");
  for (const auto& r : result.ops) {
    const bool collective = r.key.find(' ') != std::string::npos;
    std::cout << fmt::format("{:<26} {:>6} {:>10.4f} {:>12.3f} {:>14} {:>14} {:>14}\n", r.key, r.points, r.efficiency,
                             r.overhead_s * 1e6, percent(r.alpha_beta_rms_rel_error),
                             collective ? std::string("-") : percent(r.curve_rms_rel_error),
                             r.tile_rms_rel_error > 0 ? percent(r.tile_rms_rel_error) : std::string("-"));
  }
  for (const auto& note : result.notes) std::cout << "note: " << note << "\n";
}

void run_fit(const CalibrateArgs& args) {
  if (args.out.empty()) throw InputError("", "--out", "expected the profile file to write (--out PROFILE.json)");
  std::vector<MeasurementSet> sets;
  for (const auto& file : expand_measurement_paths(args.fit_files)) sets.push_back(load_measurements_file(file));
  if (!args.nccl_files.empty()) {
    if (!(args.line_rate_gbs > 0))
      throw InputError("", "--line-rate-gbs", "nccl-tests files need the link's line rate per direction in GB/s");
    NcclTestsOptions options;
    options.link.link = args.link == "scaleout" ? LinkClass::scaleout : LinkClass::scaleup;
    options.link.line_rate_bps = args.line_rate_gbs * 1e9;
    options.link.ranks = args.ranks;
    for (const auto& file : args.nccl_files) sets.push_back(load_nccl_tests_file(file, options));
  }
  const GpuSpec& gpu = resolve_gpu(sets, args.gpu);
  FitOptions options;
  options.fit_reference_kernels = args.fit_reference_kernels;
  FitResult result = fit_profile(sets, gpu, options);
  print_fit_table(result);
  Profile profile = result.profile;
  if (!args.base.empty()) profile = merge_profiles(profile, find_profile(args.base, "."));
  write_profile(profile, args.out);
  std::cout << fmt::format("wrote {} ({} profile for {}: {} op entries, {} link classes of collectives)\n", args.out,
                           to_string(profile.kind), profile.gpu_name, profile.ops.size(), profile.collectives.size());
}

void run_derive(const CalibrateArgs& args) {
  if (args.to.empty()) throw InputError("", "--to", "expected the target GPU (--to H800)");
  if (args.out.empty()) throw InputError("", "--out", "expected the profile file to write (--out PROFILE.json)");
  const Profile from = find_profile(args.derive, ".");
  const GpuSpec& from_gpu = find_gpu(from.gpu_name, args.derive, "$.gpu");
  const GpuSpec& to_gpu = find_gpu(args.to, "", "--to");
  const Profile derived = args.base.empty()
                              ? derive_profile(from, from_gpu, to_gpu)
                              : derive_profile_with_base(from, from_gpu, to_gpu, find_profile(args.base, "."));
  write_profile(derived, args.out);
  std::cout << fmt::format("wrote {}: {}\n", args.out, derived.derivation);
}

void run_check_layers(const CalibrateArgs& args) {
  if (args.profile.empty())
    throw InputError("", "--profile", "expected the profile to check (--profile NAME|FILE.json)");
  const MeasurementSet set = load_measurements_file(args.check_layers);
  const Profile profile = find_profile(args.profile, ".");
  const GpuSpec& gpu =
      args.gpu.empty() ? find_gpu(profile.gpu_name, args.profile, "$.gpu") : find_gpu(args.gpu, "", "--gpu");
  std::cout << format_layer_checks(check_layers(set, profile, gpu), profile.name);
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Measure ops on this GPU, fit a calibration profile from measurements, or derive one for a sibling GPU");
  cmd->add_option("--out", args->out, "Sweep: output directory; --fit/--derive: profile file to write");
  cmd->add_option("--fit", args->fit_files, "gwsim.measurements/1 files (or directories of them) to fit");
  cmd->add_option("--nccl-tests", args->nccl_files,
                  "nccl-tests text outputs (all_reduce_perf ...) to fit collectives from");
  cmd->add_option("--link", args->link, "Link class the nccl-tests ran over")
      ->check(CLI::IsMember({"scaleup", "scaleout"}));
  cmd->add_option("--line-rate-gbs", args->line_rate_gbs,
                  "Line rate of that link, one direction, GB/s (H200 NVLink: 450)");
  cmd->add_option("--ranks", args->ranks, "Ranks of the nccl-tests runs (default: counted from the output)");
  cmd->add_option("--gpu", args->gpu, "Catalogue GPU the measurements ran on (default: from the device name)");
  cmd->add_option("--base", args->base, "Profile (name or .json) supplying entries the measurements lack");
  cmd->add_option("--derive", args->derive, "Profile (name or .json) to derive from");
  cmd->add_option("--to", args->to, "Catalogue GPU to derive the profile for");
  cmd->add_option("--check-layers", args->check_layers,
                  "gwsim.measurements/1 file whose layer_sequence records to predict with --profile");
  cmd->add_option("--profile", args->profile, "Profile (name or .json) for --check-layers");
  cmd->add_flag("--fit-reference-kernels", args->fit_reference_kernels,
                "Also fit attention and mla_decode from the sweep's own kernels (default: leave them to --base)");
  cmd->callback([args]() {
    const bool fitting = !args->fit_files.empty() || !args->nccl_files.empty();
    const int modes = (fitting ? 1 : 0) + (args->derive.empty() ? 0 : 1) + (args->check_layers.empty() ? 0 : 1);
    if (modes > 1) throw InputError("", "--derive", "use one of --fit, --derive and --check-layers at a time");
    if (!args->profile.empty() && args->check_layers.empty())
      throw InputError("", "--profile", "--profile needs --check-layers");
    if (!args->check_layers.empty()) return run_check_layers(*args);
    if (!args->derive.empty()) return run_derive(*args);
    if (fitting) return run_fit(*args);
    if (!args->to.empty() || !args->base.empty() || !args->gpu.empty())
      throw InputError("", "", "--to, --base and --gpu need --derive or --fit");
    run_device_sweep(*args);
  });
}

}  // namespace gwsim::cli
