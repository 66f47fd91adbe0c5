// gwsim model import CONFIG.json [--name NAME] [--out FILE] ; gwsim model show NAME|FILE
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/output_file.h"
#include "gwsim/workloads/model.h"

namespace gwsim::cli {

namespace {
void print_counts(const ModelSpec& m) {
  auto c = count_params(m);
  std::cout << fmt::format("{}: {} layers, hidden {}, {} attention, {} total parameters, {} active per token", m.name,
                           m.layers, m.hidden, to_string(m.attention.kind), fmt::format("{:.1f}B", c.total / 1e9),
                           fmt::format("{:.1f}B", c.active / 1e9));
  if (c.mtp > 0) std::cout << fmt::format(", MTP modules {:.1f}B", c.mtp / 1e9);
  std::cout << "\n";
}
}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Model catalogue: import a HuggingFace config, show counts");
  model->require_subcommand(1);

  struct ImportOptions {
    std::string config, name, out;
  };
  auto io = std::make_shared<ImportOptions>();
  auto* imp = model->add_subcommand("import", "Convert a HuggingFace config.json into a gwsim model");
  imp->add_option("config", io->config, "HuggingFace config.json")->required();
  imp->add_option("--name", io->name, "Model name (default: the config's folder name)");
  imp->add_option("--out", io->out, "Write the model JSON here (default: print it)");
  imp->callback([io] {
    std::string name = io->name;
    if (name.empty()) {
      auto slash = io->config.find_last_of('/');
      name = slash == std::string::npos ? "imported" : io->config.substr(0, slash);
      auto s2 = name.find_last_of('/');
      if (s2 != std::string::npos) name = name.substr(s2 + 1);
    }
    auto m = import_hf_config(io->config, name);
    std::string text = model_to_json(m).dump(2) + "\n";
    if (io->out.empty()) {
      std::cout << text;
    } else {
      write_file_atomically(io->out, text, "--out");
      print_counts(m);
    }
  });

  auto show_name = std::make_shared<std::string>();
  auto* show = model->add_subcommand("show", "Print parameter counts of a catalogue model or model file");
  show->add_option("model", *show_name, "Catalogue name or .json file")->required();
  show->callback([show_name] { print_counts(find_model(*show_name, ".")); });
}

}  // namespace gwsim::cli
