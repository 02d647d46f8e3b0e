// Streams: /v1/events (newline-delimited JSON, optionally followed) and
// /v1/vms/{name}/console (an upgraded connection spliced to the VM's serial console).
#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api/routes.hpp"

namespace qmd::daemon::api {

namespace {

using stream_socket = asio::local::stream_protocol::socket;

asio::awaitable<bool> write_line(stream_socket& socket, const Event& event) {
  const std::string line = boost::json::serialize(event.to_json()) + "\n";
  auto [ec, n] =
      co_await asio::async_write(socket, asio::buffer(line), asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

// Copies bytes one way until either side ends.
asio::awaitable<void> pump(stream_socket& from, stream_socket& to) {
  std::array<char, 4096> buffer{};
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer),
                                                 asio::as_tuple(asio::use_awaitable));
    if (ec || n == 0) {
      co_return;
    }
    auto [wec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                                                     asio::as_tuple(asio::use_awaitable));
    if (wec) {
      co_return;
    }
  }
}

}  // namespace

void add_stream_routes(Router& router, Registry& registry, DaemonContext& ctx) {
  router.add(http::verb::get, "/v1/events", [&ctx](Request request) -> asio::awaitable<Response> {
    const std::optional<std::string> vm = request.query_value("vm");
    const auto follow = request.query_value("follow");
    const bool following = follow && (*follow == "true" || *follow == "1" || follow->empty());
    // Subscribe before the history is copied so no event falls between the two.
    auto channel = following ? ctx.events.subscribe() : nullptr;
    auto history = ctx.events.history(vm);
    Response response;
    response.content_type = "application/x-ndjson";
    response.stream = [history = std::move(history), channel,
                       vm](stream_socket& socket) -> asio::awaitable<void> {
      for (const auto& event : history) {
        // Named first: g++ 12 miscompiles `if (!co_await x)` in some coroutines.
        const bool written = co_await write_line(socket, event);
        if (!written) {
          co_return;
        }
      }
      if (!channel) {
        co_return;
      }
      for (;;) {
        auto [ec, event] = co_await channel->async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) {
          co_return;
        }
        if (vm && event.vm != *vm) {
          continue;
        }
        const bool written = co_await write_line(socket, event);
        if (!written) {
          co_return;
        }
      }
    };
    co_return response;
  });

  router.add(http::verb::get, "/v1/vms/{name}/console",
             [&registry](Request request) -> asio::awaitable<Response> {
               auto vm = registry.find(request.param("name"));
               if (!vm) {
                 co_return error_response(404, "NotFound",
                                          fmt::format("no VM named {}", request.param("name")));
               }
               if (!request.wants_upgrade) {
                 co_return error_response(
                     400, "BadRequest",
                     "the console is a raw byte stream: send Connection: Upgrade and "
                     "Upgrade: qmd-console (qmctl console does)");
               }
               auto console = std::make_shared<stream_socket>(
                   co_await asio::this_coro::executor);
               boost::system::error_code ec;
               console->connect(asio::local::stream_protocol::endpoint(
                                    vm->paths().console_socket()),
                                ec);
               if (ec) {
                 co_return error_response(
                     409, "Conflict",
                     fmt::format("VM {} has no console to attach to ({}: {}); is it running "
                                 "with autoattachSerialConsole?",
                                 vm->name(), vm->paths().console_socket(), ec.message()));
               }
               Response response;
               response.status = 101;
               response.content_type.clear();
               response.headers["Upgrade"] = "qmd-console";
               response.stream = [console](stream_socket& client) -> asio::awaitable<void> {
                 using namespace asio::experimental::awaitable_operators;
                 co_await (pump(client, *console) || pump(*console, client));
               };
               co_return response;
             });
}

}  // namespace qmd::daemon::api
