// gwsim: GPU-cluster simulator and capacity planner. Each sub-command lives in its own file.
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "gwsim/common/input_error.h"

int main(int argc, char** argv) {
  CLI::App app{"gwsim: GPU-cluster simulator and capacity planner"};
  app.require_subcommand(1);
  gwsim::cli::add_run_command(app);
  gwsim::cli::add_validate_command(app);
  gwsim::cli::add_model_command(app);
  gwsim::cli::add_calibrate_command(app);
  gwsim::cli::add_export_commands(app);
  gwsim::cli::add_collective_command(app);
  gwsim::cli::add_compare_command(app);
  gwsim::cli::add_campus_command(app);
  gwsim::cli::add_serve_command(app);
  gwsim::cli::add_rl_command(app);
  gwsim::cli::add_plan_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print as CLI11 does; a usage error is one line, exit 2, like any bad
    // input (CLI11's own exit() adds a second "Run with --help" line).
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "gwsim: " << gwsim::InputError("command line", "", e.what()).what() << "\n";
    return 2;
  } catch (const gwsim::InputError& e) {
    std::cerr << "gwsim: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gwsim: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
