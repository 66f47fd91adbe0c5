#pragma once
// Each gwsim sub-command registers itself on the application. A command reports bad input by
// throwing gwsim::InputError; main() prints it on one line and exits with 2.
#include <CLI/CLI.hpp>

namespace gwsim::cli {

void add_run_command(CLI::App& app);         // run_command.cpp
void add_validate_command(CLI::App& app);    // validate_command.cpp
void add_model_command(CLI::App& app);       // model_command.cpp (model import / show)
void add_calibrate_command(CLI::App& app);   // calibrate_command.cpp
void add_export_commands(CLI::App& app);     // export_commands.cpp (chips, export-check)
void add_collective_command(CLI::App& app);  // collective_command.cpp
void add_compare_command(CLI::App& app);     // compare_command.cpp
void add_campus_command(CLI::App& app);      // campus_command.cpp
void add_serve_command(CLI::App& app);       // serve_command.cpp
void add_plan_command(CLI::App& app);        // plan_command.cpp
void add_rl_command(CLI::App& app);          // rl_command.cpp

}  // namespace gwsim::cli
