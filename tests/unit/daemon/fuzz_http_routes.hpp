#pragma once
// qmd's route table as (method, pattern), in the order qmd adds the routes: what the HTTP
// fuzz target (fuzz_http_request) matches requests against without a VM registry.
// test_fuzz_http_routes.cpp builds the real router as qmd does and checks it against this
// list, so a route added to the API and not here fails the unit tests.
#include <boost/beast/http/verb.hpp>
#include <string_view>

namespace qmd::test {

struct ApiRoute {
  boost::beast::http::verb method;
  std::string_view pattern;
  bool spec_body;  // the body is a VM spec (fuzz_spec's), not JSON fields
};

using boost::beast::http::verb;

inline constexpr ApiRoute kApiRoutes[] = {
    {verb::get, "/v1/host", false},
    {verb::get, "/v1/vms", false},
    {verb::post, "/v1/vms", true},
    {verb::get, "/v1/vms/{name}", false},
    {verb::put, "/v1/vms/{name}", true},
    {verb::delete_, "/v1/vms/{name}", false},
    {verb::post, "/v1/vms/{name}/start", false},
    {verb::post, "/v1/vms/{name}/stop", false},
    {verb::post, "/v1/vms/{name}/kill", false},
    {verb::post, "/v1/vms/{name}/pause", false},
    {verb::post, "/v1/vms/{name}/resume", false},
    {verb::post, "/v1/vms/{name}/reset", false},
    {verb::post, "/v1/vms/{name}/reboot", false},
    {verb::post, "/v1/vms/{name}/discard-saved", false},
    {verb::get, "/v1/vms/{name}/argv", false},
    {verb::get, "/v1/vms/{name}/logs", false},
    {verb::get, "/v1/events", false},
    {verb::get, "/v1/vms/{name}/console", false},
    {verb::get, "/v1/vms/{name}/console/log", false},
    {verb::get, "/v1/vms/{name}/guest", false},
    {verb::post, "/v1/vms/{name}/guest/exec", false},
    {verb::post, "/v1/vms/{name}/guest/ping", false},
    {verb::post, "/v1/vms/{name}/guest/password", false},
    {verb::post, "/v1/vms/{name}/guest/freeze", false},
    {verb::post, "/v1/vms/{name}/guest/thaw", false},
    {verb::post, "/v1/vms/{name}/guest/time", false},
    {verb::post, "/v1/vms/{name}/disks", false},
    {verb::delete_, "/v1/vms/{name}/disks/{disk}", false},
    {verb::post, "/v1/vms/{name}/interfaces", false},
    {verb::delete_, "/v1/vms/{name}/interfaces/{iface}", false},
    {verb::put, "/v1/vms/{name}/cpus", false},
    {verb::put, "/v1/vms/{name}/memory", false},
    {verb::put, "/v1/vms/{name}/balloon", false},
    {verb::get, "/v1/volumes", false},
    {verb::post, "/v1/volumes", false},
    {verb::delete_, "/v1/volumes/{name}", false},
    {verb::post, "/v1/volumes/{name}/resize", false},
    {verb::get, "/v1/images", false},
    {verb::post, "/v1/images", false},
    {verb::delete_, "/v1/images", false},
    {verb::post, "/v1/vms/{name}/migrate", false},
    {verb::post, "/v1/migrations/incoming", false},
    {verb::get, "/v1/migrations/incoming/{name}", false},
    {verb::post, "/v1/migrations/incoming/{name}/commit", false},
    {verb::delete_, "/v1/migrations/incoming/{name}", false},
    {verb::get, "/v1/operations", false},
    {verb::get, "/v1/operations/{id}", false},
    {verb::delete_, "/v1/operations/{id}", false},
    {verb::post, "/v1/host/shutdown-guests", false},
    {verb::get, "/v1/vms/{name}/vnc", false},
    {verb::get, "/v1/vms/{name}/screenshot", false},
    {verb::post, "/v1/vms/{name}/send-keys", false},
    {verb::put, "/v1/vms/{name}/disks/{disk}/medium", false},
    {verb::delete_, "/v1/vms/{name}/disks/{disk}/medium", false},
    {verb::put, "/v1/vms/{name}/disks/{disk}/size", false},
};

}  // namespace qmd::test
