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
  explicit InputError(const std::string& message) : std::runtime_error(one_line(message)) {}

 private:
  static std::string format(const std::string& file, const std::string& path, const std::string& what) {
    std::string out = file.empty() ? std::string("<input>") : shortened(file);
    if (!path.empty()) out += ": " + shortened(path);
    return one_line(out + ": " + what);
  }
  // A 100 KB file name or key still gives a readable message: its head and tail.
  static std::string shortened(const std::string& s) {
    constexpr std::size_t kKeep = 120;
    return s.size() <= 2 * kKeep ? s : s.substr(0, kKeep) + "..." + s.substr(s.size() - kKeep);
  }
  // The promise is one line: control characters that came from the input (a key or name holding
  // a newline) are shown escaped, and a message quoting a huge value is cut.
  static std::string one_line(const std::string& s) {
    constexpr std::size_t kMaxChars = 2000;
    std::string out;
    for (char c : s) {
      if (out.size() >= kMaxChars) {
        out += "...";
        break;
      }
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        static const char* hex = "0123456789abcdef";
        out += c == '\n' ? std::string("\\n") : std::string("\\x") + hex[u >> 4] + hex[u & 15];
      } else {
        out += c;
      }
    }
    return out;
  }
};

// An input that is well-formed but asks for something impossible (does not fit, degrees do not
// divide). Same exit code as InputError; a separate type so callers can tell them apart.
class InfeasibleError : public InputError {
 public:
  using InputError::InputError;
};

}  // namespace gwsim
