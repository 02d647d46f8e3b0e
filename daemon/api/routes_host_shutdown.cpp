// POST /v1/host/shutdown-guests: power off every running guest for a host shutdown.
#include "daemon/api/routes_host_shutdown.hpp"

#include <unistd.h>

#include "daemon/api/host_shutdown_json.hpp"
#include "daemon/api/routes.hpp"

namespace qmd::daemon::api {

void add_host_shutdown_routes(Router& router, HostShutdown& shutdown) {
  router.add(http::verb::post, "/v1/host/shutdown-guests",
             [&shutdown](Request request) -> asio::awaitable<Response> {
               // Every guest at once is the host's business: the API group stops its VMs
               // one by one.
               if (request.peer.uid != 0 && request.peer.uid != ::geteuid()) {
                 co_return op_error_response(op_error(
                     OpError::Code::forbidden,
                     "shutting down every guest is for root (qmd-guests.service runs it at "
                     "host shutdown); stop single VMs with qmctl stop NAME"));
               }
               auto report = co_await shutdown.run(host_shutdown_text);
               if (!report) {
                 co_return op_error_response(report.error());
               }
               co_return json_response(host_shutdown_text(*report));
             });
}

}  // namespace qmd::daemon::api
