// libFuzzer harness: a gwsim.measurements/1 file through the path `gwsim calibrate --fit MEAS.json`
// takes (load_measurements_file, the GPU it names, fit_profile).
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "gwsim/calibrate/fit.h"
#include "gwsim/calibrate/measurements.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "measurements.json");
  gwsim::fuzz::expect_only_input_errors([&] {
    const std::vector<gwsim::calibrate::MeasurementSet> sets = {gwsim::calibrate::load_measurements_file(path)};
    const auto& gpu = gwsim::calibrate::resolve_gpu(sets, "");
    (void)gwsim::calibrate::fit_profile(sets, gpu);
  });
  return 0;
}
