#pragma once
// The connection behind a QmpClient: one reader loop, one write queue, the table of commands
// waiting for their reply. Shared-owned so the reader and in-flight writes keep it alive.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/unique_fd.hpp"
#include "qmp/client.hpp"

namespace qmd::qmp::detail {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::local::stream_protocol::socket socket, QmpOptions options);

  // Connects (when `path` is not empty), waits for the greeting and negotiates capabilities.
  asio::awaitable<std::optional<QmpError>> open(std::string path,
                                                std::chrono::milliseconds timeout);
  // `fd`, when set, travels with the command as SCM_RIGHTS (add-fd, getfd): QEMU takes a
  // descriptor from the message that carries it, so it goes out with the command's first byte.
  asio::awaitable<QmpResult> execute(std::string name, boost::json::object arguments,
                                     std::chrono::milliseconds timeout,
                                     UniqueFd fd = {});

  void subscribe(EventHandler handler) { handlers_.push_back(std::move(handler)); }
  void fail(QmpError error);  // ends the connection; every waiter gets `error`

  const QmpGreeting& greeting() const { return greeting_; }
  const std::optional<QmpError>& closed() const { return closed_; }
  std::size_t pending() const { return pending_.size(); }
  const QmpOptions& options() const { return options_; }

 private:
  // A caller parked on `timer` until its reply (or the connection's end) cancels the wait.
  struct Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::optional<QmpResult> result;
  };

  asio::awaitable<void> read_loop();
  void dispatch(boost::json::object message);
  void dispatch_reply(const boost::json::object& message);
  void dispatch_event(const boost::json::object& message);
  void take_greeting(const boost::json::object& message);
  // A command line waiting to be written, with the descriptor its first byte carries.
  struct Outgoing {
    std::string line;
    UniqueFd fd;
  };

  void enqueue(Outgoing out);
  void write_next();
  void send_with_fd();
  void written(boost::system::error_code ec);

  asio::local::stream_protocol::socket socket_;
  QmpOptions options_;
  JsonStreamDecoder decoder_;
  std::map<std::uint64_t, std::shared_ptr<Waiter>> pending_;
  std::shared_ptr<Waiter> greeting_waiter_;
  bool greeted_ = false;
  QmpGreeting greeting_;
  std::vector<EventHandler> handlers_;
  std::deque<Outgoing> outbox_;
  bool writing_ = false;
  std::uint64_t next_id_ = 1;
  std::optional<QmpError> closed_;
};

}  // namespace qmd::qmp::detail
