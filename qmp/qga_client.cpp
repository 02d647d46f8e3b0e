#include "qmp/qga_client.hpp"

#include <fmt/format.h>
#include <sys/un.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "qmp/guest_text.hpp"
#include "qmp/pinned_socket.hpp"
#include "qmp/ready_read.hpp"

namespace qmd::qmp {
namespace detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// qemu-ga treats 0xFF as "reset your parser"; it sends one back right before a sync reply.
constexpr char sentinel = '\xff';

std::optional<std::int64_t> as_int(const boost::json::value* v) {
  if (v != nullptr && v->is_int64()) {
    return v->get_int64();
  }
  if (v != nullptr && v->is_uint64() && v->get_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

// The agent's own words (an error's class and desc), made safe for messages and logs.
std::string guest_string_or_empty(const boost::json::object& o, std::string_view key,
                                  std::size_t max_chars) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? sanitize_guest_text(v->get_string(), max_chars)
                                        : std::string();
}

}  // namespace

class QgaState : public std::enable_shared_from_this<QgaState> {
 public:
  QgaState(asio::local::stream_protocol::socket socket, std::string path, QgaOptions options,
           bool can_reconnect)
      : socket_(std::move(socket)),
        path_(std::move(path)),
        options_(options),
        can_reconnect_(can_reconnect),
        random_(std::random_device{}()) {}

  asio::awaitable<QgaResult> run(std::string name, boost::json::object arguments,
                                 std::chrono::milliseconds timeout, bool want_reply) {
    auto self = shared_from_this();
    if (auto refused = co_await acquire()) {
      co_return std::unexpected(*refused);
    }
    auto result = co_await run_locked(std::move(name), std::move(arguments), timeout, want_reply);
    release();
    co_return result;
  }

  void close() {
    closed_ = true;
    drop_socket();
  }

  const std::string& path() const { return path_; }
  std::size_t queued() const { return waiters_.size(); }
  const QgaOptions& options() const { return options_; }

 private:
  // Bounds one step: when it fires, the socket's pending operations are cancelled. The step
  // number keeps a handler that was already queued from hitting a later step.
  class Deadline {
   public:
    Deadline(QgaState& state, std::chrono::milliseconds timeout)
        : state_(state), timer_(state.socket_.get_executor(), timeout) {
      const std::uint64_t step = ++state.step_;
      state.expired_ = false;
      timer_.async_wait([weak = state.weak_from_this(), step](boost::system::error_code ec) {
        auto s = weak.lock();
        if (!ec && s && s->step_ == step) {
          s->expired_ = true;
          boost::system::error_code ignored;
          s->socket_.cancel(ignored);
        }
      });
    }
    ~Deadline() {
      ++state_.step_;
      timer_.cancel();
    }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

   private:
    QgaState& state_;
    asio::steady_timer timer_;
  };

  asio::awaitable<std::optional<QmpError>> acquire() {
    if (busy_) {
      auto turn = std::make_shared<asio::steady_timer>(socket_.get_executor(),
                                                       asio::steady_timer::time_point::max());
      waiters_.push_back(turn);
      co_await turn->async_wait(use_tuple);  // release() hands the turn over by cancelling
    } else {
      busy_ = true;
    }
    if (closed_) {
      release();
      co_return closed_error();
    }
    co_return std::nullopt;
  }

  void release() {
    if (waiters_.empty()) {
      busy_ = false;
      return;
    }
    auto next = waiters_.front();
    waiters_.pop_front();
    next->cancel();
  }

  QmpError closed_error() const {
    return {QmpError::Kind::closed, "", fmt::format("the agent client for {} is closed", path_)};
  }

  void drop_socket() {
    boost::system::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // What a failed socket operation means, given why it ended.
  QmpError op_error(boost::system::error_code ec, std::string_view what,
                    std::chrono::milliseconds timeout) {
    if (closed_) {
      return closed_error();
    }
    if (expired_) {
      // The socket stays: whatever the agent sends late is discarded by the next sync.
      return {QmpError::Kind::timeout, "",
              fmt::format("agent not responding on {}: {} got no reply within {} ms", path_, what,
                          timeout.count())};
    }
    drop_socket();
    if (ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe) {
      return {QmpError::Kind::closed, "", fmt::format("agent socket {} closed", path_)};
    }
    return {QmpError::Kind::transport, "", fmt::format("agent socket {}: {}", path_, ec.message())};
  }

  // A message over its cap: the rest of it is not worth reading, so the channel goes (the
  // next command reconnects and resyncs) and the owner hears of it once per message.
  QmpError close_oversize(std::string_view what) {
    const std::size_t limit = decoder_ ? decoder_->max_message() : options_.max_message;
    oversize_.reset();
    drop_socket();
    QmpError error{QmpError::Kind::oversize, "",
                   fmt::format("agent on {} sent a message over the {} byte limit while qmd "
                               "waited for {}; the channel was closed",
                               path_, limit, what)};
    if (options_.on_oversize) {
      options_.on_oversize(error);
    }
    return error;
  }

  asio::awaitable<QgaResult> run_locked(std::string name, boost::json::object arguments,
                                        std::chrono::milliseconds timeout, bool want_reply) {
    if (auto failed = co_await ensure_connected(timeout)) {
      co_return std::unexpected(*failed);
    }
    if (auto failed = co_await sync(timeout)) {
      co_return std::unexpected(*failed);
    }
    Deadline deadline(*this, timeout);
    boost::json::object request{{"execute", name}};
    if (!arguments.empty()) {
      request["arguments"] = std::move(arguments);
    }
    const std::string line = boost::json::serialize(request) + "\n";
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), use_tuple);
    if (ec) {
      co_return std::unexpected(op_error(ec, name, timeout));
    }
    if (!want_reply) {
      co_return boost::json::value(nullptr);
    }
    co_return co_await read_reply(name, timeout);
  }

  asio::awaitable<std::optional<QmpError>> ensure_connected(std::chrono::milliseconds timeout) {
    if (socket_.is_open()) {
      co_return std::nullopt;
    }
    if (!can_reconnect_) {
      co_return QmpError{QmpError::Kind::closed, "", fmt::format("agent socket {} closed", path_)};
    }
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
      co_return QmpError{QmpError::Kind::transport, "",
                         fmt::format("agent socket path {} is longer than {} bytes", path_,
                                     sizeof(sockaddr_un::sun_path) - 1)};
    }
    auto pinned = PinnedSocket::open(path_);
    if (!pinned) {
      co_return QmpError{QmpError::Kind::transport, "",
                         fmt::format("cannot connect to agent socket {}: {}", path_,
                                     socket_refusal(pinned.error()))};
    }
    const asio::local::stream_protocol::endpoint endpoint(pinned->path());
    Deadline deadline(*this, timeout);
    auto [ec] = co_await socket_.async_connect(endpoint, use_tuple);
    if (ec) {
      auto error = op_error(ec, "connect", timeout);
      if (error.kind == QmpError::Kind::transport) {
        error.desc = fmt::format("cannot connect to agent socket {}: {}", path_, ec.message());
      }
      drop_socket();
      co_return error;
    }
    co_return std::nullopt;
  }

  asio::awaitable<std::optional<QmpError>> read_more(std::string_view what,
                                                     std::chrono::milliseconds timeout) {
    auto [ec, bytes] = co_await ready_read(socket_);  // no buffer held while the agent is quiet
    if (ec) {
      co_return op_error(ec, what, timeout);
    }
    raw_.append(bytes);
    co_return std::nullopt;
  }

  // guest-sync-delimited with a fresh id; everything before the agent's 0xFF and every reply
  // that is not ours (stale, from a command that timed out) is thrown away.
  asio::awaitable<std::optional<QmpError>> sync(std::chrono::milliseconds timeout) {
    Deadline deadline(*this, timeout);
    const std::int64_t id = std::uniform_int_distribution<std::int64_t>(1, INT32_MAX)(random_);
    raw_.clear();
    objects_.clear();
    after_sentinel_ = false;
    // Our own leading 0xFF resets the agent's parser if a timed-out write left half a line.
    const std::string line =
        std::string(1, sentinel) +
        boost::json::serialize(boost::json::object{
            {"execute", "guest-sync-delimited"}, {"arguments", boost::json::object{{"id", id}}}}) +
        "\n";
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), use_tuple);
    if (ec) {
      co_return op_error(ec, "guest-sync-delimited", timeout);
    }
    for (;;) {
      if (take_sync_reply(id)) {
        co_return std::nullopt;
      }
      if (oversize_) {
        co_return close_oversize("guest-sync-delimited");
      }
      if (auto failed = co_await read_more("guest-sync-delimited", timeout)) {
        co_return failed;
      }
    }
  }

  // Consumes raw_ up to our sync reply; true once it was seen. Whatever follows stays queued.
  bool take_sync_reply(std::int64_t id) {
    for (;;) {
      if (!after_sentinel_) {
        const auto at = raw_.find(sentinel);
        if (at == std::string::npos) {
          raw_.clear();
          return false;
        }
        raw_.erase(0, at + 1);
        after_sentinel_ = true;
        decoder_.emplace(options_.max_message);
      }
      const auto next = raw_.find(sentinel);
      std::vector<boost::json::object> decoded;
      auto broken = decoder_->feed(std::string_view(raw_).substr(0, next), decoded);
      raw_.erase(0, next == std::string::npos ? raw_.size() : next);
      if (broken && broken->kind == QmpError::Kind::oversize) {
        oversize_ = std::move(broken);
        return false;
      }
      for (std::size_t i = 0; i < decoded.size(); ++i) {
        if (as_int(decoded[i].if_contains("return")) == id) {
          objects_.assign(std::make_move_iterator(decoded.begin() + static_cast<long>(i) + 1),
                          std::make_move_iterator(decoded.end()));
          return true;
        }
      }
      if (broken || next != std::string::npos) {
        after_sentinel_ = false;  // garbage or another sentinel: start over at the next one
        continue;
      }
      return false;
    }
  }

  asio::awaitable<QgaResult> read_reply(const std::string& name,
                                        std::chrono::milliseconds timeout) {
    decoder_->set_max_message(name == "guest-exec-status" ? options_.max_exec_status_message
                                                          : options_.max_message);
    for (;;) {
      std::vector<boost::json::object> decoded;
      const auto broken = decoder_->feed(raw_, decoded);
      raw_.clear();
      objects_.insert(objects_.end(), std::make_move_iterator(decoded.begin()),
                      std::make_move_iterator(decoded.end()));
      while (!objects_.empty()) {
        auto reply = std::move(objects_.front());
        objects_.pop_front();
        if (auto* ret = reply.if_contains("return")) {
          co_return std::move(*ret);
        }
        if (const auto* err = reply.if_contains("error"); err != nullptr && err->is_object()) {
          co_return std::unexpected(
              QmpError{QmpError::Kind::command,
                       guest_string_or_empty(err->as_object(), "class", agent_version_max_chars),
                       guest_string_or_empty(err->as_object(), "desc", guest_text_max_chars)});
        }
      }
      if (broken && broken->kind == QmpError::Kind::oversize) {
        co_return std::unexpected(close_oversize(name));
      }
      if (broken) {
        // The next command's sync skips whatever is left of this.
        co_return std::unexpected(
            QmpError{QmpError::Kind::protocol, "",
                     fmt::format("agent on {} answered {}: {}", path_, name, broken->desc)});
      }
      if (auto failed = co_await read_more(name, timeout)) {
        co_return std::unexpected(*failed);
      }
    }
  }

  asio::local::stream_protocol::socket socket_;
  std::string path_;
  QgaOptions options_;
  bool can_reconnect_;
  std::mt19937_64 random_;
  bool busy_ = false;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
  bool closed_ = false;
  std::uint64_t step_ = 0;
  bool expired_ = false;
  std::string raw_;                           // bytes read and not yet decoded
  bool after_sentinel_ = false;               // raw_ starts after an agent 0xFF
  std::optional<JsonStreamDecoder> decoder_;  // fresh after every sentinel
  std::optional<QmpError> oversize_;          // take_sync_reply met a message over the cap
  std::deque<boost::json::object> objects_;   // decoded and not yet consumed
};

}  // namespace detail

QgaClient::QgaClient(asio::any_io_executor executor, std::string path, QgaOptions options)
    : state_(std::make_shared<detail::QgaState>(asio::local::stream_protocol::socket(executor),
                                                std::move(path), options, true)) {}

QgaClient::QgaClient(std::shared_ptr<detail::QgaState> state) : state_(std::move(state)) {}

QgaClient QgaClient::adopt(asio::local::stream_protocol::socket socket, std::string name,
                           QgaOptions options) {
  return QgaClient(
      std::make_shared<detail::QgaState>(std::move(socket), std::move(name), options, false));
}

QgaClient::QgaClient(QgaClient&&) noexcept = default;
QgaClient& QgaClient::operator=(QgaClient&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}
QgaClient::~QgaClient() { close(); }

asio::awaitable<QgaResult> QgaClient::execute(std::string name, boost::json::object arguments) {
  return execute(std::move(name), std::move(arguments), state_->options().command_timeout);
}

asio::awaitable<QgaResult> QgaClient::execute(std::string name, boost::json::object arguments,
                                              std::chrono::milliseconds timeout) {
  return state_->run(std::move(name), std::move(arguments), timeout, true);
}

asio::awaitable<QgaDone> QgaClient::execute_no_reply(std::string name,
                                                     boost::json::object arguments) {
  return execute_no_reply(std::move(name), std::move(arguments), state_->options().command_timeout);
}

asio::awaitable<QgaDone> QgaClient::execute_no_reply(std::string name,
                                                     boost::json::object arguments,
                                                     std::chrono::milliseconds timeout) {
  auto state = state_;
  auto sent = co_await state->run(std::move(name), std::move(arguments), timeout, false);
  if (!sent) {
    co_return std::unexpected(sent.error());
  }
  co_return QgaDone{};
}

const std::string& QgaClient::path() const { return state_->path(); }
std::size_t QgaClient::queued() const { return state_ ? state_->queued() : 0; }
void QgaClient::close() {
  if (state_) {
    state_->close();
  }
}

}  // namespace qmd::qmp
