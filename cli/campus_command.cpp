// gwsim campus --power-mw MW --gpu NAME [--fabric KIND] [--radix K] [--planes
// P]
//              [--oversubscription R] [--tiers T] [--pue X] [--json]
#include <iostream>

#include "commands.h"
#include "gwsim/sim/planning/campus.h"

namespace gwsim::cli {

void add_campus_command(CLI::App& app) {
  auto req = std::make_shared<CampusRequest>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("campus", "Size a campus for a power budget: GPUs, fabric, MW, capex, $/GPU-hour");
  cmd->add_option("--power-mw", req->power_mw, "Facility power budget in MW")->required();
  cmd->add_option("--gpu", req->gpu, "Catalogue GPU")->required();
  cmd->add_option("--fabric", req->fabric, "fat_tree, rail_optimized or multi_plane_fat_tree");
  cmd->add_option("--radix", req->switch_radix, "Switch ports (default 64)");
  cmd->add_option("--planes", req->planes, "Fabric planes (default 1; 8 for multi_plane_fat_tree)");
  cmd->add_option("--oversubscription", req->oversubscription, "Leaf down:up ratio (default 1)");
  cmd->add_option("--tiers", req->tiers, "Switch tiers (default: the fewest that fit)");
  cmd->add_option("--pue", req->pue, "Power usage effectiveness (default: hwmodels/data/power.json)");
  cmd->add_flag("--json", *json, "Print the sizing as JSON");
  cmd->callback([req, json] {
    const auto c = size_campus(*req);
    if (*json)
      std::cout << campus_to_json(c).dump(1) << "\n";
    else
      std::cout << format_campus(c);
  });
}

}  // namespace gwsim::cli
