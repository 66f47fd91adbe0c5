#include "gwsim/common/output_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gwsim/common/input_error.h"

namespace gwsim {

void write_files_atomically(const std::vector<OutputFile>& files) {
  std::vector<std::string> temporaries;
  auto fail = [&](const OutputFile& f, const std::string& why) {
    for (const auto& t : temporaries) std::remove(t.c_str());
    throw InputError(fmt::format("{} {}: cannot write ({}): expected a writable path", f.option, f.path, why));
  };
  for (const auto& f : files) {
    if (f.path.empty()) fail(f, "empty file name");
    // Same folder as the target, so the rename never crosses file systems.
    const std::string tmp = fmt::format("{}.tmp.{}", f.path, static_cast<long>(getpid()));
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(f, std::strerror(errno));
    temporaries.push_back(tmp);
    out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
    out.close();
    if (!out) fail(f, std::strerror(errno));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (std::rename(temporaries[i].c_str(), files[i].path.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      temporaries.erase(temporaries.begin(), temporaries.begin() + static_cast<std::ptrdiff_t>(i));
      fail(files[i], why);
    }
  }
}

}  // namespace gwsim
