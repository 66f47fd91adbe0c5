// libFuzzer harness: the GUI's report reader. gwsim-gui opens a report the way run_simulation()
// (gui/src/run_worker.cpp) does: parse_json_file, the embedded scenario through parse_scenario
// (an InputError there only turns the what-ifs off), then report_model_from_json_text
// (gui/src/report_model.cpp) on the document. run_worker.cpp itself is a Qt class, so linking it
// into a libFuzzer binary would put Qt under the fuzzer; this harness repeats those few steps
// without Qt instead and compiles report_model.cpp, which has no Qt in it, as the GUI does.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <typeinfo>

#include "fuzz_support.h"
#include "gwsim/common/json_input.h"
#include "gwsim/sim/input/scenario.h"
#include "report_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "report.json");
  gwsim::fuzz::expect_only_input_errors([&] {
    const nlohmann::json doc = gwsim::parse_json_file(path);
    if (!doc.is_object() || doc.value("schema", std::string()) != "gwsim.report/1")
      return;                                                               // a scenario: see fuzz_scenario
    if (!doc.contains("scenario") || !doc["scenario"].is_object()) return;  // InputError in the GUI
    try {
      (void)gwsim::parse_scenario(doc["scenario"], path);
    } catch (const gwsim::InputError&) {
      // The GUI still shows the report; only its what-if knobs are off.
    }
    try {
      (void)gwsim::gui::report_model_from_json_text(doc.dump());
    } catch (const std::runtime_error& e) {
      // report_model.h's contract: std::runtime_error naming the missing field, which the GUI
      // shows as the error. Exactly that type: a library's exception (nlohmann's type_error, ...)
      // reaching the GUI as "internal error" is a finding.
      if (typeid(e) != typeid(std::runtime_error)) gwsim::fuzz::report_finding("the report reader threw", &e);
    }
  });
  return 0;
}
