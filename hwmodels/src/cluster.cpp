#include "gwsim/hwmodels/cluster.h"

namespace gwsim {

std::string to_string(LinkClass c) {
  switch (c) {
    case LinkClass::scaleup:
      return "scaleup";
    case LinkClass::scaleout:
      return "scaleout";
  }
  return "unknown";
}

std::string to_string(FabricKind k) {
  switch (k) {
    case FabricKind::fat_tree:
      return "fat_tree";
    case FabricKind::rail_optimized:
      return "rail_optimized";
    case FabricKind::multi_plane_fat_tree:
      return "multi_plane_fat_tree";
  }
  return "unknown";
}

}  // namespace gwsim
