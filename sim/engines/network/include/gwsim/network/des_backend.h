#pragma once
// gwsim's own flow-level engine behind the NetworkBackend interface (see des_backend.cpp for the
// model: α-β per flow, max-min fair sharing by progressive filling, incremental per component).
#include <memory>

#include "gwsim/network/backend.h"

namespace gwsim::net {

std::unique_ptr<NetworkBackend> make_des_backend();

}  // namespace gwsim::net
