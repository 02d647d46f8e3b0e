// Streams: /v1/events (newline-delimited JSON, optionally followed), /v1/vms/{name}/console
// (an upgraded connection to the VM's serial console, through qmd's console log) and
// /v1/vms/{name}/console/log (what the console printed). Every
// write has a deadline (a client that stops reading is dropped), a follower that goes away
// is noticed at once, and the history is serialised one event at a time, never copied.
#include <fmt/format.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api/console_relay.hpp"
#include "daemon/api/console_sessions.hpp"
#include "daemon/api/event_json.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/api/stream_io.hpp"

namespace qmd::daemon::api {

namespace {

using stream_socket = asio::local::stream_protocol::socket;
using std::chrono::milliseconds;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<bool> write_line(stream_socket& socket, Event event, milliseconds deadline) {
  const std::string line = boost::json::serialize(to_json(event)) + "\n";
  const asio::const_buffer data = asio::buffer(line);
  const bool written = co_await write_within(socket, data, deadline);
  co_return written;
}

// The history up to (not including) `until`, one event at a time.
asio::awaitable<bool> replay(stream_socket& socket, EventBus& bus, std::uint64_t until,
                             std::optional<std::string> vm, milliseconds deadline) {
  for (std::uint64_t from = 0;;) {
    auto next = bus.next_event(from, until, vm);
    if (!next) {
      co_return true;
    }
    from = next->first + 1;
    const bool written = co_await write_line(socket, std::move(next->second), deadline);
    if (!written) {
      co_return false;
    }
  }
}

// Live events until the feed closes, a write misses its deadline or the client goes away.
asio::awaitable<void> follow(stream_socket& socket, std::shared_ptr<EventBus::Channel> channel,
                             std::optional<std::string> vm, milliseconds deadline) {
  using namespace asio::experimental::awaitable_operators;
  for (;;) {
    auto receive = channel->async_receive(kTuple);
    auto gone = client_closed(socket);
    auto raced = std::move(receive) || std::move(gone);
    auto outcome = co_await std::move(raced);
    if (outcome.index() == 1) {
      if (std::get<1>(outcome)) {
        co_return;
      }
      continue;  // it said something; a follower has nothing to say
    }
    auto [ec, event] = std::get<0>(std::move(outcome));
    if (ec) {
      co_return;
    }
    if (vm && event.vm != *vm) {
      continue;
    }
    const bool written = co_await write_line(socket, std::move(event), deadline);
    if (!written) {
      co_return;
    }
  }
}

milliseconds write_deadline(const DaemonContext& ctx) {
  return std::chrono::seconds(ctx.config.api_write_timeout_seconds);
}

Response events_response(DaemonContext& ctx, const Request& request) {
  const std::optional<std::string> vm = request.query_value("vm");
  const auto follow_flag = request.query_value("follow");
  const bool following =
      follow_flag && (*follow_flag == "true" || *follow_flag == "1" || follow_flag->empty());
  // Subscribe before the end of the history is taken so no event falls between the two.
  auto channel = following ? ctx.events.subscribe() : nullptr;
  const std::uint64_t until = ctx.events.end_seq();
  Response response;
  response.content_type = "application/x-ndjson";
  response.stream = [&bus = ctx.events, until, channel, vm, deadline = write_deadline(ctx)](
                        stream_socket& socket) -> asio::awaitable<void> {
    const bool replayed = co_await replay(socket, bus, until, vm, deadline);
    if (!replayed || !channel) {
      co_return;
    }
    co_await follow(socket, channel, vm, deadline);
  };
  return response;
}

Response no_console(const Vm& vm) {
  return op_error_response(
      op_error(OpError::Code::conflict,
               fmt::format("VM {} has no console to attach to: it is not running, or "
                           "its spec sets autoattachSerialConsole: false (qmctl "
                           "console {} --log shows what it printed before)",
                           vm.name(), vm.name())));
}

asio::awaitable<Response> console_response(Registry& registry, DaemonContext& ctx,
                                           std::shared_ptr<ConsoleSessions> sessions,
                                           Request request) {
  auto vm = registry.find(request.param("name"));
  if (!vm) {
    co_return op_error_response(
        op_error(OpError::Code::not_found, fmt::format("no VM named {}", request.param("name"))));
  }
  if (!request.wants_upgrade) {
    co_return op_error_response(
        op_error(OpError::Code::bad_request,
                 "the console is a raw byte stream: send Connection: Upgrade and "
                 "Upgrade: qmd-console (qmctl console does), or GET "
                 "/v1/vms/NAME/console/log for what it printed"));
  }
  auto log = vm->console_log();
  if (!log->connection()) {
    co_return no_console(*vm);
  }
  auto lease = sessions->acquire(vm->name(), request.peer);
  if (!lease) {
    co_return op_error_response(
        op_error(OpError::Code::conflict, console_busy_message(vm->name(), lease.error())));
  }
  Response response;
  response.status = 101;
  response.content_type.clear();
  response.headers["Upgrade"] = "qmd-console";
  response.stream = [log, held = *lease, deadline = write_deadline(ctx)](
                        stream_socket& client) -> asio::awaitable<void> {
    co_await console_relay(client, log, deadline);
  };
  co_return response;
}

// What the serial console printed (the last ConsoleLog::kCapacity bytes, across runs).
Response console_log_response(Registry& registry, const Request& request) {
  auto vm = registry.find(request.param("name"));
  if (!vm) {
    return op_error_response(
        op_error(OpError::Code::not_found, fmt::format("no VM named {}", request.param("name"))));
  }
  const ByteRing& ring = vm->console_log()->ring();
  Response response;
  response.content_type = "text/plain";
  response.body = ring.read(0, ring.held()).bytes;
  return response;
}

}  // namespace

void add_stream_routes(Router& router, Registry& registry, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/events", [&ctx](Request request) -> asio::awaitable<Response> {
    co_return events_response(ctx, request);
  });
  auto sessions = std::make_shared<ConsoleSessions>();
  router.add(http::verb::get, "/v1/vms/{name}/console",
             [&registry, &ctx, sessions](Request request) -> asio::awaitable<Response> {
               auto pending = console_response(registry, ctx, sessions, std::move(request));
               auto response = co_await std::move(pending);
               co_return response;
             });
  router.add(http::verb::get, "/v1/vms/{name}/console/log",
             [&registry](Request request) -> asio::awaitable<Response> {
               co_return console_log_response(registry, request);
             });
}

}  // namespace qmd::daemon::api
