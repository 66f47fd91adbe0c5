#pragma once
// Where gwsim finds its data (catalogue, profiles, models, scenarios) and the shared validation
// files. Both default to the source tree; GWSIM_DATA_DIR / GWSIM_SHARED_DIR override at run time.
#include <string>

namespace gwsim {

std::string data_dir();    // root holding hwmodels/, workloads/models/, scenarios/, sim/data/
std::string shared_dir();  // folder holding validation/ and reference/
std::string version();

// Resolves a file named in input: absolute as is; otherwise relative to base_dir if it exists
// there, else relative to data_dir().
std::string resolve_path(const std::string& name, const std::string& base_dir);
std::string directory_of(const std::string& file);
// Whether a file or folder exists; false (never an exception) for a name the system refuses,
// such as one longer than PATH_MAX.
bool path_exists(const std::string& path) noexcept;

}  // namespace gwsim
