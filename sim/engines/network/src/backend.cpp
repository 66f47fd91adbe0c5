#include "gwsim/network/backend.h"

#include "gwsim/common/input_error.h"
#include "gwsim/network/des_backend.h"

namespace gwsim::net {

std::unique_ptr<NetworkBackend> make_simgrid_backend();  // simgrid_backend.cpp (keeps SimGrid headers there)

std::unique_ptr<NetworkBackend> make_backend(const std::string& name) {
  if (name == "des") return make_des_backend();
  if (name == "simgrid") return make_simgrid_backend();
  throw InputError("--backend", "", "network backend \"" + name + "\": expected des|simgrid");
}

}  // namespace gwsim::net
