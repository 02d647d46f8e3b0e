#include "daemon/trial/qmp_status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"

namespace qmd::trial {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Answer = std::expected<QmpStatus, std::string>;

milliseconds left(Clock::time_point deadline) {
  return std::max(milliseconds{0},
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// QEMU binds its socket a moment after it starts: a socket that is not there yet, or refuses,
// is tried again every 20 ms. Commands later get what is left of the deadline.
asio::awaitable<std::expected<qmp::QmpClient, std::string>> connect_when_listening(
    std::string path, Clock::time_point deadline, std::function<bool()> still_alive) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer pause(executor);
  std::string last = "not tried";
  for (;;) {
    const milliseconds rest = left(deadline);
    if (rest.count() == 0) {
      co_return std::unexpected(fmt::format("connect to QMP socket {}: {} (timed out)", path, last));
    }
    qmp::QmpOptions options;
    options.command_timeout = rest;
    auto client = co_await qmp::QmpClient::connect(path, rest, options);
    if (client) {
      co_return std::move(*client);
    }
    if (client.error().kind != qmp::QmpError::Kind::transport) {
      co_return std::unexpected(fmt::format("QMP handshake: {}", client.error().to_string()));
    }
    last = client.error().desc;
    if (still_alive && !still_alive()) {
      co_return std::unexpected(fmt::format("connect to QMP socket {}: QEMU is gone", path));
    }
    pause.expires_after(std::min(rest, milliseconds{20}));
    co_await pause.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<Answer> ask(std::string path, Clock::time_point deadline,
                            std::function<bool()> still_alive) {
  auto connected = co_await connect_when_listening(path, deadline, still_alive);
  if (!connected) {
    co_return std::unexpected(connected.error());
  }
  qmp::QmpClient client = std::move(*connected);
  QmpStatus out;
  const qmp::QmpGreeting& greeting = client.greeting();
  out.qemu_version = fmt::format("{}.{}.{}", greeting.major, greeting.minor, greeting.micro);
  auto status = co_await qmp::query_status(client);
  if (!status) {
    co_return std::unexpected(fmt::format("query-status: {}", status.error().to_string()));
  }
  out.status = status->status;
  auto bye = co_await qmp::quit(client);
  if (!bye) {
    co_return std::unexpected(fmt::format("quit: {}", bye.error().to_string()));
  }
  co_return out;
}

asio::awaitable<void> ask_into(std::string path, Clock::time_point deadline,
                               std::function<bool()> still_alive, std::optional<Answer>* slot) {
  auto answer = co_await ask(std::move(path), deadline, std::move(still_alive));
  slot->emplace(std::move(answer));
}

}  // namespace

std::expected<QmpStatus, std::string> query_status_and_quit(
    const std::string& path, milliseconds timeout, const std::function<bool()>& still_alive) {
  const auto deadline = Clock::now() + timeout;
  asio::io_context io;
  std::optional<Answer> answer;
  asio::co_spawn(io, ask_into(path, deadline, still_alive, &answer),
                 [](std::exception_ptr error) {
                   if (error) {
                     std::rethrow_exception(error);
                   }
                 });
  // Every step is bounded by the deadline already; this bound only catches a bug.
  io.run_for(timeout + std::chrono::seconds{1});
  if (!answer) {
    return std::unexpected(
        fmt::format("QMP on {}: no answer within {} ms", path, timeout.count()));
  }
  return std::move(*answer);
}

}  // namespace qmd::trial
