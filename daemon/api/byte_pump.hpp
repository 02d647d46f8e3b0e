#pragma once
// Byte pumps with write deadlines, for qmd's stream routes and qmctl's relays alike: a peer
// that stops reading is dropped, never waited for. Deadlines are a timer raced against the
// write (asio's || cancels the loser), so an expired write never stays pending.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <utility>
#include <variant>

namespace qmd::daemon::api {

// Writes all of `data`; false when the peer failed or did not take it within `deadline`.
template <typename Stream>
boost::asio::awaitable<bool> write_within(Stream& stream, boost::asio::const_buffer data,
                                          std::chrono::milliseconds deadline) {
  namespace asio = boost::asio;
  using namespace asio::experimental::awaitable_operators;
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer timer(stream.get_executor(), deadline);
  auto write = asio::async_write(stream, data, tuple);
  auto expiry = timer.async_wait(tuple);
  auto raced = std::move(write) || std::move(expiry);
  auto outcome = co_await std::move(raced);
  if (outcome.index() != 0) {
    co_return false;  // the deadline passed first
  }
  const auto [ec, n] = std::get<0>(outcome);
  co_return !ec;
}

// Copies bytes one way, `Chunk` at a time, until either side ends or a write misses
// `deadline`.
template <std::size_t Chunk, typename From, typename To>
boost::asio::awaitable<void> pump(From& from, To& to, std::chrono::milliseconds deadline) {
  namespace asio = boost::asio;
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  std::array<char, Chunk> buffer{};
  for (;;) {
    const asio::mutable_buffer space = asio::buffer(buffer);
    auto [ec, n] = co_await from.async_read_some(space, tuple);
    if (ec || n == 0) {
      co_return;
    }
    const asio::const_buffer data = asio::buffer(buffer.data(), n);
    const bool written = co_await write_within(to, data, deadline);
    if (!written) {
      co_return;
    }
  }
}

}  // namespace qmd::daemon::api
