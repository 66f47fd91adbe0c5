#pragma once
// Shared by the libFuzzer harnesses of tests/fuzz/ (one per input parser). gwsim's loaders take
// file paths, as the CLI does, so a harness writes the fuzzed bytes to a file and calls the same
// entry point the CLI calls. Bad input must end in InputError (InfeasibleError included), which
// the CLI turns into its one-line message and exit 2; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "gwsim/common/input_error.h"

namespace gwsim::fuzz {

// The path of `name` inside a folder of this process's own (under $TMPDIR, else /tmp), created on
// first use; the same path on every call, so a fuzzing run leaves one small folder behind.
std::string scratch_path(const std::string& name);
// Writes the bytes to scratch_path(name) and returns that path.
std::string write_input_file(const std::uint8_t* data, std::size_t size, const std::string& name);

// Aborts with one line on stderr: libFuzzer and the replay test both count an abort as a finding.
[[noreturn]] void report_finding(const char* what, const std::exception* e);

// Runs `load`; InputError is the expected answer to bad input, any other exception is a finding.
template <class Load>
void expect_only_input_errors(Load&& load) {
  try {
    load();
  } catch (const InputError&) {
    // The documented rejection: `gwsim: FILE: $.path: what was expected`, exit 2.
  } catch (const std::exception& e) {
    report_finding("an exception other than InputError", &e);
  } catch (...) {
    report_finding("a non-std exception", nullptr);
  }
}

}  // namespace gwsim::fuzz
