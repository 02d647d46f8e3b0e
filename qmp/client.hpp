#pragma once
// Asynchronous QMP client over a unix socket (Boost.Asio coroutines). Use it from the thread
// that runs its io_context. Commands run concurrently, each correlated by its own "id" and
// bounded by its own timeout; events go to subscribers in the order QEMU sent them.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "qmp/error.hpp"
#include "qmp/framing.hpp"

namespace qmd::qmp {

namespace asio = boost::asio;

struct QmpGreeting {
  int major = 0;
  int minor = 0;
  int micro = 0;
  std::string package;
  std::vector<std::string> capabilities;  // offered by QEMU (e.g. "oob"); none are enabled
};

struct QmpEvent {
  std::string name;
  boost::json::object data;                         // empty when QEMU sent none
  std::chrono::system_clock::time_point timestamp;  // QEMU's, not ours
};

struct QmpOptions {
  std::chrono::milliseconds command_timeout{30000};  // for execute() without its own timeout
  std::size_t max_message = qmp_max_message;
  // Called once when a message over max_message ended the connection (every waiting command
  // gets Kind::oversize; the client stays closed).
  std::function<void(const QmpError&)> on_oversize;
};

using QmpResult = std::expected<boost::json::value, QmpError>;
using EventHandler = std::function<void(const QmpEvent&)>;

namespace detail {
class Session;
}

class QmpClient {
 public:
  // Connects, reads the greeting and negotiates qmp_capabilities, all within `timeout`.
  static asio::awaitable<std::expected<QmpClient, QmpError>> connect(
      std::string path, std::chrono::milliseconds timeout, QmpOptions options = {});
  // The same handshake over an already connected socket (a socketpair in tests, or an fd
  // inherited across a daemon restart).
  static asio::awaitable<std::expected<QmpClient, QmpError>> adopt(
      asio::local::stream_protocol::socket socket, std::chrono::milliseconds timeout,
      QmpOptions options = {});

  QmpClient(QmpClient&&) noexcept;
  QmpClient& operator=(QmpClient&&) noexcept;
  ~QmpClient();  // closes the connection; pending commands fail with Kind::closed

  // Runs one command. The client must outlive the co_await.
  asio::awaitable<QmpResult> execute(std::string name, boost::json::object arguments = {});
  asio::awaitable<QmpResult> execute(std::string name, boost::json::object arguments,
                                     std::chrono::milliseconds timeout);

  // Runs one command that hands QEMU `fd` (add-fd, getfd): the descriptor goes with the
  // command over the socket as SCM_RIGHTS and is closed here once sent.
  asio::awaitable<QmpResult> execute_with_fd(std::string name, boost::json::object arguments,
                                             UniqueFd fd,
                                             std::chrono::milliseconds timeout);

  // Handlers run on the io_context thread, in subscription order, for every later event.
  void on_event(EventHandler handler);

  const QmpGreeting& greeting() const;
  bool is_open() const;
  // Why the connection ended (EOF, reset, protocol error, close()); empty while open.
  const QmpError* close_reason() const;
  std::size_t pending() const;  // commands sent and not yet answered
  void close();

 private:
  explicit QmpClient(std::shared_ptr<detail::Session> session);
  static asio::awaitable<std::expected<QmpClient, QmpError>> open(
      std::shared_ptr<detail::Session> session, std::string path,
      std::chrono::milliseconds timeout);
  std::shared_ptr<detail::Session> session_;
};

}  // namespace qmd::qmp
