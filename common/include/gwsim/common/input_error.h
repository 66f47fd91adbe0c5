#pragma once
// The one error type for bad user input. The CLI prints what() on one line and exits with 2.
#include <stdexcept>
#include <string>

namespace gwsim {

class InputError : public std::runtime_error {
 public:
  // file: the file the value came from ("" for command-line values); path: JSON path ("$.a.b[2]").
  InputError(const std::string& file, const std::string& json_path, const std::string& expected)
      : std::runtime_error(format(file, json_path, expected)) {}
  explicit InputError(const std::string& message) : std::runtime_error(message) {}

 private:
  static std::string format(const std::string& file, const std::string& path, const std::string& what) {
    std::string out = file.empty() ? std::string("<input>") : file;
    if (!path.empty()) out += ": " + path;
    return out + ": " + what;
  }
};

// An input that is well-formed but asks for something impossible (does not fit, degrees do not
// divide). Same exit code as InputError; a separate type so callers can tell them apart.
class InfeasibleError : public InputError {
 public:
  using InputError::InputError;
};

}  // namespace gwsim
