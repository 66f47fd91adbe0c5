// libFuzzer harness: a training scenario with its model, cluster and profile, through the path
// `gwsim run` takes (load_scenario, run_training, the summary and the report file).
//
// The fuzzed bytes are one JSON file. A scenario (or anything without a known schema) is run as
// `gwsim run input.json`. A model, cluster or profile file (by its "schema") is run the way a
// user plugs one into a shipped scenario: `gwsim run BASE --set model=input.json` (cluster=,
// profile=; a profile also sets cluster.gpu to the profile's "gpu", as the GUI's what-ifs do), so
// the seeds from workloads/models, hwmodels/data/clusters and hwmodels/profiles reach their parsers
// and the step they drive. The schema is only peeked at here to pick the command; the loaders read
// the file strictly as usual.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "fuzz_support.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/report/report.h"

namespace {

// A small shipped scenario (32 A100s, TP1 PP1 DP32) that most models and clusters fit.
const char* const kBaseScenario = "scenarios/megatron-sc21-1p7b-32xa100.json";

std::vector<std::string> overrides_for(const std::string& input, const std::string& path) {
  const auto doc = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("schema") || !doc["schema"].is_string()) return {};
  const auto schema = doc["schema"].get<std::string>();
  if (schema == "gwsim.model/1") return {"model=" + path};
  if (schema == "gwsim.cluster/1") return {"cluster=" + path};
  if (schema == "gwsim.profile/1" && doc.contains("gpu") && doc["gpu"].is_string())
    return {"cluster.gpu=" + doc["gpu"].get<std::string>(), "profile=" + path};
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gwsim::fuzz::write_input_file(data, size, "input.json");
  const auto overrides = overrides_for(std::string(reinterpret_cast<const char*>(data), size), path);
  const std::string scenario = overrides.empty() ? path : gwsim::data_dir() + "/" + kBaseScenario;
  gwsim::fuzz::expect_only_input_errors([&] {
    const auto run = gwsim::run_training(gwsim::load_scenario(scenario, overrides), "analytical");
    (void)gwsim::format_summary(run.report);
    gwsim::write_report(run.report, gwsim::fuzz::scratch_path("report.json"));
  });
  return 0;
}
