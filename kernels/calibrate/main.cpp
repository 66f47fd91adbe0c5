// gwsim-calibrate-device --out DIR [--quick] [--only STAGE,...]
//
// --only runs the named stages plus info and checks (always), and copy when a named stage reads
// the copy bandwidth (mla_decode, grouped_gemm, grouped_gemm_fp8).
//
// Runs each calibration stage in its own child process, in order, with a wall-clock limit: a
// kernel fault or hang in one stage (a sticky CUDA error poisons a whole process) cannot take
// the other stages' measurements with it. This parent never touches CUDA (CUDA does not
// survive fork). Stages leave records, checks and summary lines in a private temporary folder;
// the parent assembles DIR/measurements.json (gwsim.measurements/1) and DIR/checks.json, and
// prints the summary last.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "json_writer.h"
#include "stages.h"

namespace {

using namespace gwsim::calib;

struct StageDef {
  const char* name;
  void (*fn)(const Options&);
  int limit_s, limit_quick_s;  // hard wall-clock limits (each stage also keeps a softer budget)
};

const StageDef kStages[] = {
    {"info", stage_info, 60, 60},
    {"checks", stage_checks, 120, 90},
    {"copy", stage_copy, 45, 25},
    {"gemm", stage_gemm, 80, 30},
    {"mla_decode", stage_mla_decode, 45, 25},
    {"mla_prefill", stage_mla_prefill, 40, 25},
    {"moe", stage_moe, 35, 20},
    {"grouped_gemm", stage_grouped_gemm, 90, 45},
    {"grouped_gemm_fp8", stage_grouped_gemm_fp8, 90, 45},
    {"layers", stage_layers, 90, 75},
    {"nccl", stage_nccl, 60, 30},
};

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string read_all(const std::string& path, const std::string& fallback) {
  std::ifstream in(path);
  if (!in) return fallback;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().empty() ? fallback : ss.str();
}

std::string join_array(const std::vector<std::string>& items, const char* indent) {
  if (items.empty()) return "[]";
  std::string s = "[\n";
  for (std::size_t i = 0; i < items.size(); ++i) s += indent + items[i] + (i + 1 < items.size() ? ",\n" : "\n");
  return s + "  ]";
}

struct StageResult {
  std::string name, status;
  double wall_s = 0;
};

StageResult run_stage(const StageDef& def, const Options& opt) {
  std::printf("== stage %s\n", def.name);
  std::fflush(stdout);
  std::fflush(stderr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) return {def.name, "fork_failed", 0};
  if (pid == 0) {
    int rc = 0;
    try {
      def.fn(opt);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stage %s failed: %s\n", def.name, e.what());
      rc = 1;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(rc);
  }
  const int limit = opt.quick ? def.limit_quick_s : def.limit_s;
  int wstatus = 0;
  std::string status;
  for (;;) {
    const pid_t r = waitpid(pid, &wstatus, WNOHANG);
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r == pid) {
      if (WIFEXITED(wstatus))
        status = WEXITSTATUS(wstatus) == 0 ? "ok" : "failed";
      else if (WIFSIGNALED(wstatus))
        status = "crashed_signal_" + std::to_string(WTERMSIG(wstatus));
      else
        status = "unknown";
      break;
    }
    if (r < 0) {
      status = "wait_failed";
      break;
    }
    if (el > limit) {
      kill(pid, SIGKILL);  // our own child, by id
      waitpid(pid, &wstatus, 0);
      status = "timeout_after_" + std::to_string(limit) + "s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("== stage %s: %s (%.1f s)\n", def.name, status.c_str(), wall);
  std::fflush(stdout);
  return {def.name, status, wall};
}

// Stages that read the copy stage's bandwidth (copy_gbps) for their "% of copy" and roofline
// floors: without it they print no percentages, so --only naming one of them runs copy too.
const char* const kNeedCopyRate[] = {"mla_decode", "grouped_gemm", "grouped_gemm_fp8"};

void usage() {
  std::printf("usage: gwsim-calibrate-device --out DIR [--quick] [--only STAGE,...]\nstages:");
  for (const auto& s : kStages) std::printf(" %s", s.name);
  std::printf(
      "\n--only runs the named stages, in the order above, plus info and checks always, and copy when it\n"
      "names");
  for (const char* n : kNeedCopyRate) std::printf(" %s", n);
  std::printf(" (they read its bandwidth)\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      opt.out_dir = argv[++i];
    } else if (a == "--quick") {
      opt.quick = true;
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ','))
        if (!item.empty()) opt.only.push_back(item);
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument: %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (opt.out_dir.empty()) {
    usage();
    return 2;
  }
  for (const auto& o : opt.only) {
    bool known = false;
    for (const auto& s : kStages) known = known || o == s.name;
    if (!known) {
      std::fprintf(stderr, "unknown stage: %s\n", o.c_str());
      usage();
      return 2;
    }
  }
  // With --only mla_decode alone there is no copy rate to compare with: add copy (about 1-3 s;
  // kStages runs it before its readers).
  if (!opt.only.empty()) {
    const auto named = [&opt](const std::string& n) {
      return std::find(opt.only.begin(), opt.only.end(), n) != opt.only.end();
    };
    std::string readers;
    for (const char* n : kNeedCopyRate)
      if (named(n)) readers += (readers.empty() ? "" : ", ") + std::string(n);
    if (!readers.empty() && !named("copy")) {
      opt.only.push_back("copy");
      std::printf(
          "--only: added stage copy: %s read%s its bandwidth (copy_gbps) for %% of copy and the roofline floors\n",
          readers.c_str(), readers.find(',') == std::string::npos ? "s" : "");
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(opt.out_dir, ec);
  char tmpl[] = "/tmp/gwsim-calib-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 2;
  }
  opt.part_dir = tmpl;

  std::vector<StageResult> results;
  for (const auto& s : kStages) {
    bool selected = opt.only.empty();
    for (const auto& o : opt.only) selected = selected || o == s.name;
    // The device record is always wanted; checks vouch for the records, so keep them too.
    if (!selected && std::string(s.name) != "info" && std::string(s.name) != "checks") continue;
    results.push_back(run_stage(s, opt));
  }

  const std::string device = read_all(opt.part_dir + "/device.json", "{}");
  const std::string started = read_all(opt.part_dir + "/started_utc.txt", "");
  std::vector<std::string> stage_items;
  bool all_ok = true;
  for (const auto& r : results) {
    stage_items.push_back(JsonObject().str("stage", r.name).str("status", r.status).num("wall_s", r.wall_s).close());
    all_ok = all_ok && r.status == "ok";
  }
  const auto records = read_lines(opt.part_dir + "/records.jsonl");
  const auto skipped = read_lines(opt.part_dir + "/skipped.jsonl");
  const auto checks = read_lines(opt.part_dir + "/checks.jsonl");
  int failed_checks = 0;
  for (const auto& c : checks)
    if (c.find("\"passed\": false") != std::string::npos) ++failed_checks;
  {
    std::ofstream out(opt.out_dir + "/measurements.json");
    out << "{\n  \"schema\": \"gwsim.measurements/1\",\n  \"device\": " << device
        << ",\n  \"started_utc\": " << json_escape(started)
        << ",\n  \"generator\": \"gwsim-calibrate-device\",\n  \"quick\": " << (opt.quick ? "true" : "false")
        << ",\n  \"stages\": " << join_array(stage_items, "    ") << ",\n  \"skipped\": " << join_array(skipped, "    ")
        << ",\n  \"records\": " << join_array(records, "    ") << "\n}\n";
  }
  {
    std::ofstream out(opt.out_dir + "/checks.json");
    out << "{\n  \"schema\": \"gwsim.checks/1\",\n  \"device\": " << device
        << ",\n  \"all_passed\": " << (failed_checks == 0 && !checks.empty() ? "true" : "false")
        << ",\n  \"checks\": " << join_array(checks, "    ") << "\n}\n";
  }

  std::printf("\n==================== SUMMARY ====================\n");
  for (const auto& l : read_lines(opt.part_dir + "/summary.txt")) std::printf("%s\n", l.c_str());
  std::printf("checks: %d run, %d failed; records: %zu; skipped items: %zu\n", static_cast<int>(checks.size()),
              failed_checks, records.size(), skipped.size());
  for (const auto& r : results)
    if (r.status != "ok") std::printf("stage %s: %s\n", r.name.c_str(), r.status.c_str());
  std::printf("wrote %s/measurements.json and %s/checks.json\n", opt.out_dir.c_str(), opt.out_dir.c_str());
  std::filesystem::remove_all(opt.part_dir, ec);
  return all_ok && failed_checks == 0 ? 0 : 1;
}
