#pragma once
// All-or-nothing output files: a report, trace, model, profile or PNG is either written whole or
// not at all. Every command that writes a file goes through here, so no failure leaves a
// truncated or partial file behind (issue 12: a failure after opening left a 0-byte report).
#include <string>
#include <vector>

namespace gwsim {

struct OutputFile {
  std::string path;
  std::string content;
  std::string option;  // the command-line option that named it ("--out"), for the error
};

// Writes each file to `path.tmp.<pid>` in its own folder, and only once all of them are complete
// renames them over their paths (atomic on POSIX file systems). On a failure the temporaries are
// removed, the targets are left as they were, and InputError names the option and the path.
void write_files_atomically(const std::vector<OutputFile>& files);
inline void write_file_atomically(const std::string& path, const std::string& content, const std::string& option) {
  write_files_atomically({OutputFile{path, content, option}});
}

}  // namespace gwsim
