// The listener: binds the Unix socket (replacing a stale one), accepts, and spawns one
// session coroutine per connection. Connections live on their own strands.
#include "daemon/api/http_server.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/api/server_state.hpp"

namespace qmd::daemon::api {

namespace detail {

void Connection::arm(std::chrono::milliseconds after, OnExpiry what) {
  timed_out = false;
  const auto armed = ++generation;
  timer.expires_after(after);
  timer.async_wait([weak = weak_from_this(), armed, what](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->generation != armed) {
      return;  // disarmed, or the connection is gone
    }
    self->timed_out = true;
    boost::system::error_code ignored;
    if (what == OnExpiry::close) {
      self->socket.close(ignored);
      return;
    }
    // Reads end (pending ones are cancelled, later ones see EOF); writes still work, so
    // the session can answer 408.
    self->socket.cancel(ignored);
    self->socket.shutdown(Socket::shutdown_receive, ignored);
  });
}

void Connection::disarm() {
  ++generation;
  timer.cancel();
}

void Connection::close() {
  boost::system::error_code ignored;
  timer.cancel();
  if (socket.is_open()) {
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
  }
}

ServerState::ServerState(asio::any_io_executor ex, ServerOptions opts, Handler h)
    : executor(ex),
      options(std::move(opts)),
      handler(std::move(h)),
      acceptor(asio::make_strand(ex)) {}

void ServerState::register_connection(std::uint64_t id, std::weak_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  connections_[id] = std::move(connection);
}

void ServerState::unregister_connection(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

std::optional<std::string> ServerState::admit(const PeerCred& peer) {
  constexpr auto kLogEvery = std::chrono::minutes(1);
  std::lock_guard lock(mutex_);
  const bool privileged = peer.uid == 0 || peer.uid == geteuid();
  auto refusal = refuse_connection(options.caps, counts_, peer.uid, privileged);
  if (!refusal) {
    ++counts_.total;
    ++counts_.per_uid[peer.uid];
    return std::nullopt;
  }
  const auto now = std::chrono::steady_clock::now();
  auto [it, first] = refusal_logged_.try_emplace(peer.uid, now);
  if (first || now - it->second >= kLogEvery) {
    it->second = now;
    spdlog::warn("api: refused a connection of uid {} (pid {}): {} (logged once a minute)",
                 peer.uid, peer.pid, *refusal);
  }
  return refusal;
}

void ServerState::release(uid_t uid) {
  std::lock_guard lock(mutex_);
  --counts_.total;
  if (auto it = counts_.per_uid.find(uid); it != counts_.per_uid.end() && --it->second == 0) {
    counts_.per_uid.erase(it);
  }
}

void ServerState::trim_heap_soon() {
  constexpr std::chrono::milliseconds kCoalesce{100};
  if (trim_pending_.exchange(true)) {
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(executor, kCoalesce);
  timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code&) {
    self->trim_pending_ = false;
    malloc_trim(0);
  });
}

std::size_t ServerState::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void ServerState::close_connections(bool idle_only) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, weak] : connections_) {
    auto connection = weak.lock();
    if (!connection) {
      continue;
    }
    // Sockets are not thread-safe: close on the connection's own strand.
    asio::post(connection->socket.get_executor(), [connection, idle_only] {
      if (!idle_only) {
        connection->cancel.emit(asio::cancellation_type::terminal);
      }
      if (!idle_only || !connection->busy) {
        connection->close();
      }
    });
  }
}

namespace {

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state) {
  while (!state->stopping) {
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::make_strand(state->executor),
                                                              asio::as_tuple(asio::use_awaitable));
    if (state->stopping || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      // Out of fds and the like: keep serving, but do not spin.
      spdlog::warn("api: accept failed: {}", ec.message());
      asio::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto connection = std::make_shared<detail::Connection>(std::move(socket));
    const auto executor = connection->socket.get_executor();
    auto& cancel = connection->cancel;
    asio::co_spawn(executor, detail::run_session(state, std::move(connection)),
                   asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  }
}

// A socket file at `path`: is anyone still listening behind it?
bool someone_listens(const std::string& path) {
  asio::io_context probe;
  asio::local::stream_protocol::socket socket(probe);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  // EAGAIN: a listener with a full backlog is still a listener.
  return !ec || ec == asio::error::try_again;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

}  // namespace detail

struct HttpServer::Impl {
  std::shared_ptr<detail::ServerState> state;
  dev_t device = 0;  // the socket file we created, to remove only that one
  ino_t inode = 0;
};

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::bind(
    asio::any_io_executor executor, ServerOptions options, Handler handler) {
  const std::string path = options.socket_path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return std::unexpected("socket path \"" + path + "\" is empty or longer than " +
                           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return std::unexpected(path + " exists and is not a socket; not replacing it");
    }
    if (detail::someone_listens(path)) {
      return std::unexpected("another qmd is listening on " + path);
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return std::unexpected("cannot remove stale socket " + path + ": " + detail::errno_text());
    }
    spdlog::info("api: replaced stale socket {}", path);
  }

  auto state =
      std::make_shared<detail::ServerState>(executor, std::move(options), std::move(handler));
  auto& acceptor = state->acceptor;
  boost::system::error_code ec;
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) {
    acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
  }
  if (ec) {
    return std::unexpected("cannot bind " + path + ": " + ec.message());
  }
  const auto& group = state->options.group;
  const bool ok = chmod(path.c_str(), group ? 0660 : 0600) == 0 &&
                  (!group || chown(path.c_str(), static_cast<uid_t>(-1), *group) == 0);
  if (!ok) {
    const std::string why = detail::errno_text();
    unlink(path.c_str());
    return std::unexpected("cannot set owner/mode of " + path + ": " + why);
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    unlink(path.c_str());
    return std::unexpected("cannot listen on " + path + ": " + ec.message());
  }
  auto impl = std::make_unique<Impl>();
  impl->state = std::move(state);
  if (lstat(path.c_str(), &st) == 0) {
    impl->device = st.st_dev;
    impl->inode = st.st_ino;
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
  impl_->state->close_connections(false);
  const auto& path = impl_->state->options.socket_path;
  struct stat st {};
  // Only our own file: a newer qmd may have replaced it already.
  if (lstat(path.c_str(), &st) == 0 && st.st_dev == impl_->device && st.st_ino == impl_->inode) {
    unlink(path.c_str());
  }
}

void HttpServer::start() {
  auto state = impl_->state;
  asio::co_spawn(state->acceptor.get_executor(), detail::accept_loop(state), asio::detached);
}

void HttpServer::stop() {
  auto state = impl_->state;
  if (state->stopping.exchange(true)) {
    return;
  }
  asio::post(state->acceptor.get_executor(), [state] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  state->close_connections(true);
}

const ServerOptions& HttpServer::options() const { return impl_->state->options; }

std::size_t HttpServer::connection_count() const { return impl_->state->connection_count(); }

}  // namespace qmd::daemon::api
