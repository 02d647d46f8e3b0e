#include "qmp/ready_read.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace qmd::qmp {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// One per thread; only the loop thread reads sockets, and no read suspends while using it.
thread_local std::array<char, 64 * 1024> shared_buffer;

}  // namespace

asio::awaitable<std::pair<boost::system::error_code, std::string_view>> ready_read(
    asio::local::stream_protocol::socket& socket) {
  for (;;) {
    auto [wait_ec] = co_await socket.async_wait(asio::socket_base::wait_read, use_tuple);
    if (wait_ec) {
      co_return std::pair{wait_ec, std::string_view()};
    }
    boost::system::error_code ec;
    socket.non_blocking(true, ec);  // a spurious wake-up must not block the loop
    if (ec) {
      co_return std::pair{ec, std::string_view()};
    }
    const std::size_t n = socket.read_some(asio::buffer(shared_buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      continue;
    }
    co_return std::pair{ec, std::string_view(shared_buffer.data(), ec ? 0 : n)};
  }
}

}  // namespace qmd::qmp
