// libFuzzer harness: the serving planner's reader (`gwsim plan --serving FILE`): a gwsim.serving-plan/1
// document or a serving scenario, read and checked as the command does before any search (the
// search itself simulates fleets: far too slow per input, and it reads only what this accepted).
#include "fuzz_support.h"
#include "gwsim/sim/planning/serving_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "serving-plan.json");
  gwsim::fuzz::expect_only_input_errors([&] { (void)gwsim::load_serving_plan_request(path); });
  return 0;
}
