#include "daemon/api/stream_io.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace qmd::daemon::api {

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

asio::awaitable<void> relay(StreamSocket& a, StreamSocket& b,
                            std::chrono::milliseconds deadline) {
  using namespace asio::experimental::awaitable_operators;
  auto there = pump<4096>(a, b, deadline);
  auto back = pump<4096>(b, a, deadline);
  auto either = std::move(there) || std::move(back);
  co_await std::move(either);
}

asio::awaitable<bool> client_closed(StreamSocket& socket) {
  auto [ec] = co_await socket.async_wait(StreamSocket::wait_read, kTuple);
  if (ec) {
    co_return true;
  }
  std::array<char, 512> sink{};
  boost::system::error_code read_ec;
  socket.non_blocking(true, read_ec);  // a spurious wake-up must not block the loop
  const std::size_t n = socket.read_some(asio::buffer(sink), read_ec);
  boost::system::error_code ignored;
  socket.non_blocking(false, ignored);
  co_return read_ec == asio::error::would_block ? false : (read_ec || n == 0);
}

}  // namespace qmd::daemon::api
