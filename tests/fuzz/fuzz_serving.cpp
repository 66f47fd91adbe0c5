// libFuzzer harness: a serving scenario through the path `gwsim serve` takes
// (load_serving_scenario, run_serving, the summary and the report file).
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "serving.json");
  gwsim::fuzz::expect_only_input_errors([&] {
    const auto report = gwsim::run_serving(gwsim::load_serving_scenario(path));
    (void)gwsim::format_serving_summary(report);
    gwsim::write_report(report, gwsim::fuzz::scratch_path("report.json"));
  });
  return 0;
}
