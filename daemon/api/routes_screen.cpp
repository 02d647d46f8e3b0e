// The VM's screen through the API: GET /v1/vms/{name}/vnc (an upgraded connection relayed to
// QEMU's VNC server, as the console is to its serial port), GET .../screenshot (image/png)
// and POST .../send-keys. Relays are counted and capped per VM and in all; each write has the
// API's write deadline, so a viewer that stops reading is dropped, and either end going
// closes both.
#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/this_coro.hpp>

#include "daemon/api/body_fields.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/session_caps.hpp"
#include "daemon/api/stream_io.hpp"
#include "qmp/key_codes.hpp"

namespace qmd::daemon::api {

namespace {

using std::chrono::milliseconds;
// QEMU's VNC socket takes a connection at once unless its backlog is full.
constexpr std::chrono::seconds kVncConnectTimeout{5};
// Viewers of one VM at once, and relays of all VMs together.
constexpr std::size_t kVncPerVm = 4;
constexpr std::size_t kVncTotal = 64;
constexpr std::int64_t kMaxHoldMs = 5000;

Response vnc_full(const std::string& vm, SessionCaps::Full full, const SessionCaps& caps) {
  if (full == SessionCaps::Full::key) {
    return op_error_response(
        op_error(OpError::Code::conflict,
                 fmt::format("VM {} has {} VNC viewers already, the most one VM may "
                             "have; close one and try again",
                             vm, caps.per_key())));
  }
  return op_error_response(op_error(
      OpError::Code::busy, fmt::format("qmd relays {} VNC sessions already, the most it keeps at "
                                       "once; try again when one has ended",
                                       caps.total())));
}

// The process at the other end of a connected Unix socket.
pid_t listener_pid(StreamSocket& socket) {
  ucred cred{};
  socklen_t size = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    return 0;
  }
  return cred.pid;
}

asio::awaitable<Response> vnc_response(Registry& registry, DaemonContext& ctx,
                                       std::shared_ptr<SessionCaps> caps, Request request) {
  auto vm = registry.find(request.param("name"));
  if (!vm) {
    co_return vm_not_found(request.param("name"));
  }
  if (!request.wants_upgrade) {
    co_return op_error_response(
        op_error(OpError::Code::bad_request,
                 "VNC is a byte stream: send Connection: Upgrade and Upgrade: "
                 "qmd-vnc (qmctl vnc does)"));
  }
  auto where = vm->screen_socket("vnc");
  if (!where) {
    co_return op_error_response(where.error());
  }
  auto lease = caps->acquire(vm->name());
  if (!lease) {
    co_return vnc_full(vm->name(), lease.error(), *caps);
  }
  auto executor = co_await asio::this_coro::executor;
  auto server = std::make_shared<StreamSocket>(executor);
  StreamSocket& server_socket = *server;
  const milliseconds connect_deadline = kVncConnectTimeout;
  const auto ec = co_await connect_within(server_socket, where->path, connect_deadline);
  if (ec) {
    const auto code =
        ec == asio::error::timed_out ? OpError::Code::timeout : OpError::Code::conflict;
    co_return op_error_response(
        op_error(code, fmt::format("the VNC server of VM {} did not take a connection "
                                   "({}: {}); is the VM still running?",
                                   vm->name(), where->path, ec.message())));
  }
  // The run dir is the QEMU user's: whatever answers there must be this VM's QEMU.
  if (const pid_t pid = listener_pid(server_socket); pid != where->pid) {
    co_return op_error_response(op_error(
        OpError::Code::failed, fmt::format("the VNC socket of VM {} is not its QEMU's (pid {} "
                                           "listens, QEMU is {}); not relaying",
                                           vm->name(), pid, where->pid)));
  }
  Response response;
  response.status = 101;
  response.content_type.clear();
  response.headers["Upgrade"] = "qmd-vnc";
  const milliseconds deadline = std::chrono::seconds(ctx.config.api_write_timeout_seconds);
  response.stream = [server, held = *lease,
                     deadline](StreamSocket& client) -> asio::awaitable<void> {
    co_await relay(client, *server, deadline);
  };
  co_return response;
}

struct KeysRequest {
  std::vector<qmp::KeyCombo> combos;
  milliseconds hold{100};
};

std::expected<KeysRequest, OpError> parse_post_send_keys(const Request& request) {
  auto body = BodyFields::parse(request.body, {"keys", "holdMs"});
  if (!body) {
    return std::unexpected(body.error());
  }
  KeysRequest out;
  const std::vector<std::string> texts = body->strings("keys");
  if (auto combos = qmp::parse_key_combos(texts); combos) {
    out.combos = std::move(*combos);
  } else {
    body->fail(combos.error());
  }
  if (const auto* hold = body->raw("holdMs"); hold != nullptr) {
    if (!hold->is_int64() || hold->as_int64() < 1 || hold->as_int64() > kMaxHoldMs) {
      body->fail(
          fmt::format("\"holdMs\" is a whole number of milliseconds from 1 to {}", kMaxHoldMs));
    } else {
      out.hold = milliseconds(hold->as_int64());
    }
  }
  return std::move(*body).finish(std::move(out));
}

}  // namespace

void add_screen_routes(Router& router, Registry& registry, DaemonContext& ctx) {
  auto caps = std::make_shared<SessionCaps>(kVncPerVm, kVncTotal);
  router.add(http::verb::get, "/v1/vms/{name}/vnc",
             [&registry, &ctx, caps](Request request) -> asio::awaitable<Response> {
               auto pending = vnc_response(registry, ctx, caps, std::move(request));
               auto response = co_await std::move(pending);
               co_return response;
             });

  router.add(http::verb::get, "/v1/vms/{name}/screenshot",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return vm_not_found(request.param("name"));
               }
               auto png = co_await vm->screenshot();
               if (!png) {
                 co_return op_error_response(png.error());
               }
               Response response;
               response.content_type = "image/png";
               response.body = std::move(*png);
               co_return response;
             });

  router.add(
      http::verb::post, "/v1/vms/{name}/send-keys",
      [&registry](Request request) -> asio::awaitable<Response> {
        auto vm = registry.find(request.param("name"));
        if (!vm) {
          co_return vm_not_found(request.param("name"));
        }
        auto keys = parse_post_send_keys(request);
        if (!keys) {
          co_return op_error_response(keys.error());
        }
        const std::size_t count = keys->combos.size();
        auto sent = co_await vm->send_keys(std::move(keys->combos), keys->hold);
        if (!sent) {
          co_return op_error_response(sent.error());
        }
        co_return json_response(fmt::format("{{\"name\":\"{}\",\"sent\":{}}}", vm->name(), count));
      });
}

}  // namespace qmd::daemon::api
