#pragma once
// The API's routes (README "API"): they turn requests into Registry/Vm operations and
// OpErrors into HTTP errors.
#include "daemon/api/op_error_response.hpp"
#include "daemon/api/router.hpp"
#include "daemon/runtime/context.hpp"
#include "daemon/runtime/operations.hpp"
#include "daemon/runtime/registry.hpp"

namespace qmd::daemon::api {

void add_host_routes(Router& router, DaemonContext& ctx);
// POST/PUT parse and check a spec body on the blocking pool before the registry sees it.
void add_vm_routes(Router& router, Registry& registry, DaemonContext& ctx);
void add_stream_routes(Router& router, Registry& registry, DaemonContext& ctx);
// /v1/vms/{name}/guest[/exec|/ping|/password|/freeze|/thaw|/time] (routes_guest.cpp)
void add_guest_routes(Router& router, Registry& registry);
// /v1/vms/{name}/disks, /interfaces, /cpus, /memory, /balloon (routes_hotplug.cpp)
void add_hotplug_routes(Router& router, Registry& registry);

// /v1/volumes[/{name}[/resize]], /v1/images[?ref=REF] (routes_volumes.cpp)
void add_storage_routes(Router& router, Registry& registry, DaemonContext& ctx);

// /v1/vms/{name}/migrate, /v1/migrations/incoming..., /v1/operations (routes_migrate.cpp)
void add_migration_routes(Router& router, Registry& registry, Operations& operations);

// /v1/vms/{name}/vnc (upgrade), /screenshot, /send-keys (routes_screen.cpp)
void add_screen_routes(Router& router, Registry& registry, DaemonContext& ctx);
// /v1/vms/{name}/disks/{disk}/medium, /disks/{disk}/size (routes_media.cpp)
void add_media_routes(Router& router, Registry& registry);

// /v1/network, /v1/network/down: the managed NAT network (routes_network.cpp)
void add_network_routes(Router& router, DaemonContext& ctx);

}  // namespace qmd::daemon::api
