#pragma once
// The versioned machine type an alias ("q35") stands for in a running QEMU: what a restore or
// a migration destination must ask for, since the alias may mean a newer one there.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "qmp/client.hpp"

namespace qmd::daemon {

// `wanted` itself when it is already versioned or QEMU does not answer.
boost::asio::awaitable<std::string> resolved_machine_type(qmp::QmpClient& qmp, std::string wanted);

}  // namespace qmd::daemon
