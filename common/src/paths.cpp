#include "gwsim/common/paths.h"

#include <cstdlib>
#include <filesystem>

namespace gwsim {

namespace fs = std::filesystem;

std::string data_dir() {
  if (const char* env = std::getenv("GWSIM_DATA_DIR"); env && *env) return env;
  return GWSIM_DATA_DIR;
}

std::string shared_dir() {
  if (const char* env = std::getenv("GWSIM_SHARED_DIR"); env && *env) return env;
  return GWSIM_SHARED_DIR;
}

std::string version() { return GWSIM_VERSION; }

std::string directory_of(const std::string& file) {
  auto parent = fs::path(file).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

bool path_exists(const std::string& path) noexcept {
  std::error_code ec;
  return fs::exists(path, ec) && !ec;
}

std::string resolve_path(const std::string& name, const std::string& base_dir) {
  fs::path p(name);
  if (p.is_absolute()) return name;
  if (!base_dir.empty() && path_exists((fs::path(base_dir) / p).string())) return (fs::path(base_dir) / p).string();
  if (path_exists(name)) return p.string();
  return (fs::path(data_dir()) / p).string();
}

}  // namespace gwsim
