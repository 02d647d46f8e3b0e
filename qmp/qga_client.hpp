#pragma once
// Asynchronous client for the QEMU guest agent (qemu-ga) over the unix socket of its chardev.
// The agent answers one request at a time and its channel may hold stale bytes (a reply that
// came after our timeout, output from before a restart), so every command is preceded by
// guest-sync-delimited with a fresh random id, and commands run one at a time, FIFO.
// Use it from the thread that runs its executor.
#include <boost/asio/any_io_executor.hpp>
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

#include "qmp/error.hpp"
#include "qmp/framing.hpp"

namespace qmd::qmp {

namespace asio = boost::asio;

struct QgaOptions {
  std::chrono::milliseconds command_timeout{10000};  // for execute() without its own timeout
  std::size_t max_message = qga_max_message;  // every message but a guest-exec-status reply
  std::size_t max_exec_status_message = qga_exec_status_max_message;
  // Called when a message over its cap made the client close the channel (the command that
  // was waiting gets Kind::oversize); the next command reconnects and resyncs.
  std::function<void(const QmpError&)> on_oversize;
};

using QgaResult = std::expected<boost::json::value, QmpError>;
using QgaDone = std::expected<void, QmpError>;

namespace detail {
class QgaState;
}

class QgaClient {
 public:
  // Connects lazily, on the first command (and again after the agent's socket closed): QEMU's
  // chardev accepts a connection whether or not an agent runs in the guest, so only a command
  // can tell whether anyone is there.
  QgaClient(asio::any_io_executor executor, std::string path, QgaOptions options = {});
  // Over an already connected socket (a socketpair in tests); `name` stands in for the path
  // in error messages. Once that socket closes, commands fail with Kind::closed.
  static QgaClient adopt(asio::local::stream_protocol::socket socket, std::string name,
                         QgaOptions options = {});

  QgaClient(QgaClient&&) noexcept;
  QgaClient& operator=(QgaClient&&) noexcept;
  ~QgaClient();  // closes the socket; commands still running or queued fail with Kind::closed

  // Syncs, then runs one command and returns its "return" (or the agent's error as
  // Kind::command). Each step (sync, command) is bounded by `timeout`; time spent queued
  // behind earlier commands is not. An absent or hung agent gives Kind::timeout, "agent not
  // responding on PATH: ...". A message over its cap (QgaOptions) gives Kind::oversize and
  // closes the socket. The client must outlive the co_await.
  asio::awaitable<QgaResult> execute(std::string name, boost::json::object arguments = {});
  asio::awaitable<QgaResult> execute(std::string name, boost::json::object arguments,
                                     std::chrono::milliseconds timeout);

  // For commands the agent does not answer when they succeed (guest-shutdown,
  // guest-suspend-*): syncs (so an absent agent is still reported), sends, and returns.
  asio::awaitable<QgaDone> execute_no_reply(std::string name, boost::json::object arguments = {});
  asio::awaitable<QgaDone> execute_no_reply(std::string name, boost::json::object arguments,
                                            std::chrono::milliseconds timeout);

  const std::string& path() const;
  std::size_t queued() const;  // commands waiting for the one in flight
  void close();

 private:
  explicit QgaClient(std::shared_ptr<detail::QgaState> state);
  std::shared_ptr<detail::QgaState> state_;
};

}  // namespace qmd::qmp
