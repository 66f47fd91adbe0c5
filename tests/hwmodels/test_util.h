#pragma once
// Small helpers for the hwmodels tests: parse inline JSON through the strict reader and capture
// the InputError message so tests can assert which JSON path it names.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"

namespace gwsim::test {

// Runs f and returns the InputError message; fails the test if nothing (or something else) is thrown.
inline std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

}  // namespace gwsim::test
