#include "daemon/async/unix_connect.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

namespace qmd::daemon {

using StreamSocket = asio::local::stream_protocol::socket;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kConnectRetry{50};

// One non-blocking connect(2): 0, or the errno (EAGAIN: the listener's backlog is full).
int try_connect(int fd, const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return ENAMETOOLONG;
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  return rc == 0 ? 0 : errno;
}

}  // namespace

asio::awaitable<boost::system::error_code> connect_within(StreamSocket& socket, std::string path,
                                                          std::chrono::milliseconds deadline) {
  boost::system::error_code ec;
  socket.open(asio::local::stream_protocol(), ec);
  if (ec) {
    co_return ec;
  }
  socket.non_blocking(true, ec);
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  asio::steady_timer pause(socket.get_executor());
  for (;;) {
    const int err = try_connect(socket.native_handle(), path);
    if (err == 0) {
      socket.non_blocking(false, ec);
      co_return boost::system::error_code{};
    }
    if (err != EAGAIN && err != EINTR) {
      co_return boost::system::error_code(err, boost::system::system_category());
    }
    if (std::chrono::steady_clock::now() + kConnectRetry > give_up) {
      co_return asio::error::timed_out;
    }
    pause.expires_after(kConnectRetry);
    auto [wait_ec] = co_await pause.async_wait(kTuple);
    if (wait_ec) {
      co_return wait_ec;  // cancelled: qmd is stopping
    }
  }
}

}  // namespace qmd::daemon
