#include "fuzz_support.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <typeinfo>

namespace gwsim::fuzz {

namespace {

// This process's scratch folder, removed again when the process exits normally.
struct ScratchFolder {
  std::filesystem::path path;
  ScratchFolder() {
    const char* tmp = std::getenv("TMPDIR");
    path = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("gwsim-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(path);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

std::string scratch_path(const std::string& name) {
  static const ScratchFolder folder;
  return (folder.path / name).string();
}

std::string write_input_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const std::string file = scratch_path(name);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) report_finding("the harness could not write its input file", nullptr);
  return file;
}

void report_finding(const char* what, const std::exception* e) {
  if (e)
    std::fprintf(stderr, "gwsim fuzz finding: %s: %s: %s\n", what, typeid(*e).name(), e->what());
  else
    std::fprintf(stderr, "gwsim fuzz finding: %s\n", what);
  std::abort();
}

}  // namespace gwsim::fuzz
