#pragma once
// Internal to qmctl vnc (vnc_relay.cpp, vnc_websocket.cpp): byte pumps with write deadlines
// between the viewer's socket and qmd's upgraded connection.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>

namespace qmd::qmctl::vnc {

namespace asio = boost::asio;
using QmdSocket = asio::local::stream_protocol::socket;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A viewer or qmd that takes no bytes for this long is gone.
inline constexpr std::chrono::seconds kWriteDeadline{20};
inline constexpr std::size_t kChunk = 16 * 1024;

// Writes all of `data` within kWriteDeadline; false when the peer failed or stalled.
template <typename Stream>
asio::awaitable<bool> write_within(Stream& stream, asio::const_buffer data) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(stream.get_executor(), kWriteDeadline);
  auto write = asio::async_write(stream, data, kTuple);
  auto expiry = timer.async_wait(kTuple);
  auto raced = std::move(write) || std::move(expiry);
  auto outcome = co_await std::move(raced);
  if (outcome.index() != 0) {
    co_return false;
  }
  const auto [ec, n] = std::get<0>(outcome);
  co_return !ec;
}

// Copies bytes one way until either side ends or a write stalls.
template <typename From, typename To>
asio::awaitable<void> pump(From& from, To& to) {
  std::array<char, kChunk> buffer{};
  for (;;) {
    const asio::mutable_buffer space = asio::buffer(buffer);
    auto [ec, n] = co_await from.async_read_some(space, kTuple);
    if (ec || n == 0) {
      co_return;
    }
    const asio::const_buffer data = asio::buffer(buffer.data(), n);
    const bool written = co_await write_within(to, data);
    if (!written) {
      co_return;
    }
  }
}

}  // namespace qmd::qmctl::vnc
