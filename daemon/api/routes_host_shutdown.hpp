#pragma once
// POST /v1/host/shutdown-guests (routes_host_shutdown.cpp): what qmd-guests.service asks for
// when the host goes down. Root and qmd's own user only.
#include "daemon/api/router.hpp"
#include "daemon/runtime/host_shutdown.hpp"

namespace qmd::daemon::api {

void add_host_shutdown_routes(Router& router, HostShutdown& shutdown);

}  // namespace qmd::daemon::api
