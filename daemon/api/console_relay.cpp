#include "daemon/api/console_relay.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace qmd::daemon::api {

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 16 * 1024;

using QemuSocket = std::shared_ptr<ConsoleLog::Socket>;

// The log to the client, from `offset` on, for as long as `qemu` is the log's connection.
asio::awaitable<void> to_client(StreamSocket& client, std::shared_ptr<ConsoleLog> log,
                                QemuSocket qemu, std::uint64_t offset,
                                std::chrono::milliseconds deadline) {
  for (;;) {
    co_await log->wait_beyond(offset, qemu);
    auto slice = log->ring().read(offset, kChunk);
    if (slice.lost > 0) {
      const std::string notice = fmt::format(
          "\r\n[qmd: {} bytes of console output lost: this session read too slowly]\r\n",
          slice.lost);
      const asio::const_buffer data = asio::buffer(notice);
      const bool written = co_await write_within(client, data, deadline);
      if (!written) {
        co_return;
      }
    }
    offset = slice.next;
    if (!slice.bytes.empty()) {
      const asio::const_buffer data = asio::buffer(slice.bytes);
      const bool written = co_await write_within(client, data, deadline);
      if (!written) {
        co_return;
      }
    }
    if (slice.bytes.empty() && log->connection() != qemu) {
      co_return;  // the run is over and everything it printed was sent
    }
  }
}

// The client's bytes to QEMU until the client ends its side.
asio::awaitable<void> to_console(StreamSocket& client, QemuSocket qemu,
                                 std::chrono::milliseconds deadline) {
  std::array<char, 4096> buffer{};
  for (;;) {
    const asio::mutable_buffer space = asio::buffer(buffer);
    auto [ec, n] = co_await client.async_read_some(space, kTuple);
    if (ec || n == 0) {
      co_return;
    }
    const asio::const_buffer data = asio::buffer(buffer.data(), n);
    const bool written = co_await write_within(*qemu, data, deadline);
    if (!written) {
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<void> console_relay(StreamSocket& client, std::shared_ptr<ConsoleLog> log,
                                    std::chrono::milliseconds deadline) {
  using namespace asio::experimental::awaitable_operators;
  QemuSocket qemu = log->connection();
  if (!qemu) {
    co_return;
  }
  const std::uint64_t from = log->ring().end();
  auto out = to_client(client, log, qemu, from, deadline);
  auto in = to_console(client, qemu, deadline);
  auto either = std::move(out) || std::move(in);
  co_await std::move(either);
}

}  // namespace qmd::daemon::api
