// libFuzzer harness: a HuggingFace config.json through the path `gwsim model import` takes
// (import_hf_config, then the model written back as gwsim JSON and its parameter counts).
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "gwsim/workloads/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "config.json");
  gwsim::fuzz::expect_only_input_errors([&] {
    const auto model = gwsim::import_hf_config(path, "fuzzed");
    (void)gwsim::model_to_json(model).dump(2);
    (void)gwsim::count_params(model);
  });
  return 0;
}
