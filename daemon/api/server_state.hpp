#pragma once
// Internal to the HTTP server: what the accept loop and the connection coroutines share. The
// coroutines hold the state by shared_ptr, so it outlives HttpServer until the last
// connection has closed; HttpServer's destructor closes every connection to get there.
#include <sys/types.h>

#include <atomic>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/api/http_server.hpp"

namespace qmd::daemon::api::detail {

using Socket = asio::local::stream_protocol::socket;

// One accepted connection. Everything here is touched only on the socket's strand.
struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(Socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

  // On expiry, either stop reading (the session may still answer 408) or close outright
  // (a write that does not drain).
  enum class OnExpiry { stop_reading, close };
  void arm(std::chrono::milliseconds after, OnExpiry what);
  void disarm();
  void close();

  Socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
  std::uint64_t generation =
      0;              // bumped by arm/disarm: a late expiry of an old deadline is ignored
  bool busy = false;  // between the first byte of a request and the end of its response
  PeerCred peer;
  // Bound to the session coroutine: on shutdown it cancels whatever a handler or a stream
  // (events --follow waiting for the next event) is waiting for, not only socket reads.
  asio::cancellation_signal cancel;
};

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(asio::any_io_executor ex, ServerOptions opts, Handler h);

  void register_connection(std::uint64_t id, std::weak_ptr<Connection> connection);
  void unregister_connection(std::uint64_t id);
  // Counts the connection against its uid's cap, or says why it may not open (logged once a
  // minute per uid). release() when it closes.
  std::optional<std::string> admit(const PeerCred& peer);
  void release(uid_t uid);
  // Returns freed heap to the system soon (coalesced: one trim per burst of requests).
  void trim_heap_soon();
  // Closes every connection, or only those between requests (`idle_only`).
  void close_connections(bool idle_only);
  std::size_t connection_count() const;

  asio::any_io_executor executor;
  ServerOptions options;
  Handler handler;
  asio::local::stream_protocol::acceptor acceptor;  // on its own strand
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_id{1};

 private:
  mutable std::mutex mutex_;
  ConnectionCounts counts_;
  std::map<uid_t, std::chrono::steady_clock::time_point> refusal_logged_;
  std::atomic<bool> trim_pending_{false};
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections_;
};

// The whole life of one connection: peer check, requests in order, then close.
asio::awaitable<void> run_session(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<Connection> connection);

}  // namespace qmd::daemon::api::detail
