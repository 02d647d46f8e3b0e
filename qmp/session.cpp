#include "qmp/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <exception>

#include "qmp/guest_text.hpp"
#include "qmp/pinned_socket.hpp"
#include "qmp/ready_read.hpp"

namespace qmd::qmp::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

QmpError protocol(std::string desc) {
  return QmpError{QmpError::Kind::protocol, "", std::move(desc)};
}

std::string string_or_empty(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_string()) {
    return std::string(v->get_string());
  }
  return {};
}

std::int64_t int_or_zero(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_int64()) {
    return v->get_int64();
  }
  if (v != nullptr && v->is_uint64()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return 0;
}

// One sendmsg of `line` with `fd` as SCM_RIGHTS; the bytes sent, or errno.
std::expected<std::size_t, int> send_with_descriptor(int socket, const std::string& line, int fd) {
  iovec iov{const_cast<char*>(line.data()), line.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  const auto n = ::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    return std::unexpected(errno);
  }
  return static_cast<std::size_t>(n);
}

// Asio throws for a path longer than sun_path; that is the caller's bad path, not a crash.
// Built outside the coroutine: under -fsanitize, g++ 12 constructed `{path}` inside
// `co_await async_connect({path})` before the length check above it had run.
std::optional<asio::local::stream_protocol::endpoint> endpoint_for(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return std::nullopt;
  }
  return asio::local::stream_protocol::endpoint(path);
}

}  // namespace

Session::Session(asio::local::stream_protocol::socket socket, QmpOptions options)
    : socket_(std::move(socket)), options_(options), decoder_(options.max_message) {}

asio::awaitable<std::optional<QmpError>> Session::open(std::string path,
                                                       std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // One deadline for the whole handshake; firing it closes the socket, which ends every wait.
  asio::steady_timer guard(socket_.get_executor(), deadline);
  guard.async_wait([weak = weak_from_this(), timeout](boost::system::error_code ec) {
    if (auto s = weak.lock(); s && !ec) {
      s->fail({QmpError::Kind::timeout, "",
               fmt::format("QMP handshake did not finish within {} ms", timeout.count())});
    }
  });
  if (!path.empty()) {
    if (!endpoint_for(path)) {
      fail({QmpError::Kind::transport, "",
            fmt::format("QMP socket path {} is longer than {} bytes", path,
                        sizeof(sockaddr_un::sun_path) - 1)});
      co_return closed_;
    }
    auto pinned = PinnedSocket::open(path);
    if (!pinned) {
      fail({QmpError::Kind::transport, "",
            fmt::format("cannot connect to QMP socket {}: {}", path,
                        socket_refusal(pinned.error()))});
      co_return closed_;
    }
    const auto endpoint = endpoint_for(pinned->path());
    auto [ec] = co_await socket_.async_connect(*endpoint, use_tuple);
    if (ec && !closed_) {
      fail({QmpError::Kind::transport, "",
            fmt::format("cannot connect to QMP socket {}: {}", path, ec.message())});
    }
    if (closed_) {
      co_return closed_;
    }
  }
  greeting_waiter_ = std::make_shared<Waiter>(socket_.get_executor());
  greeting_waiter_->timer.expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(socket_.get_executor(), read_loop(),
                 [weak = weak_from_this()](std::exception_ptr error) {
                   // Nothing in the loop should throw; if it does, fail loudly, never hang.
                   auto s = weak.lock();
                   if (error && s) {
                     s->fail(protocol("the QMP reader stopped on an unexpected exception"));
                   }
                 });
  if (!greeted_ && !closed_) {
    co_await greeting_waiter_->timer.async_wait(use_tuple);
  }
  greeting_waiter_.reset();
  if (closed_) {
    co_return closed_;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  auto negotiated = co_await execute("qmp_capabilities", {}, left);
  guard.cancel();
  if (!negotiated) {
    if (!closed_) {
      fail(negotiated.error());
    }
    co_return closed_;
  }
  co_return std::nullopt;
}

asio::awaitable<QmpResult> Session::execute(std::string name, boost::json::object arguments,
                                            std::chrono::milliseconds timeout,
                                            UniqueFd fd) {
  auto self = shared_from_this();
  if (closed_) {
    co_return std::unexpected(*closed_);
  }
  const std::uint64_t id = next_id_++;
  auto waiter = std::make_shared<Waiter>(socket_.get_executor());
  waiter->timer.expires_after(timeout);
  pending_.emplace(id, waiter);
  boost::json::object request{{"execute", name}, {"id", id}};
  if (!arguments.empty()) {
    request["arguments"] = std::move(arguments);
  }
  enqueue({boost::json::serialize(request) + "\r\n", std::move(fd)});
  co_await waiter->timer.async_wait(use_tuple);
  pending_.erase(id);
  if (waiter->result) {
    co_return std::move(*waiter->result);
  }
  // A late reply finds no waiter and is dropped; the connection itself is still good.
  co_return std::unexpected(
      QmpError{QmpError::Kind::timeout, "",
               fmt::format("{} got no reply within {} ms", name, timeout.count())});
}

void Session::fail(QmpError error) {
  if (closed_) {
    return;
  }
  closed_ = std::move(error);
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  for (auto& [id, waiter] : pending_) {
    if (waiter->result) {
      continue;  // answered; its caller has not resumed yet
    }
    waiter->result = std::unexpected(*closed_);
    waiter->timer.cancel();
  }
  if (greeting_waiter_) {
    greeting_waiter_->timer.cancel();
  }
  if (!writing_) {
    outbox_.clear();
  }
}

asio::awaitable<void> Session::read_loop() {
  auto self = shared_from_this();
  while (!closed_) {
    auto [ec, bytes] = co_await ready_read(socket_);  // no buffer held while QEMU is quiet
    if (closed_) {
      break;
    }
    if (ec == asio::error::eof) {
      fail({QmpError::Kind::closed, "", "QEMU closed the QMP connection"});
      break;
    }
    if (ec == asio::error::connection_reset) {
      // QEMU exiting with our last request unread resets instead of EOF; it is gone all the same.
      fail({QmpError::Kind::closed, "", "QEMU reset the QMP connection"});
      break;
    }
    if (ec) {
      fail({QmpError::Kind::transport, "", fmt::format("reading QMP socket: {}", ec.message())});
      break;
    }
    // Messages that arrived whole before any garbage still count.
    std::vector<boost::json::object> messages;
    const auto broken = decoder_.feed(bytes, messages);
    for (auto& message : messages) {
      dispatch(std::move(message));
      if (closed_) {
        break;
      }
    }
    if (broken && broken->kind == QmpError::Kind::oversize) {
      QmpError error{QmpError::Kind::oversize, "",
                     fmt::format("QEMU sent a QMP message over the {} byte limit; qmd closed "
                                 "the QMP connection",
                                 decoder_.max_message())};
      fail(error);
      if (options_.on_oversize) {
        options_.on_oversize(error);
      }
    } else if (broken) {
      fail(*broken);
    }
  }
}

void Session::dispatch(boost::json::object message) {
  if (message.contains("QMP")) {
    take_greeting(message);
  } else if (message.contains("event")) {
    dispatch_event(message);
  } else if (message.contains("return") || message.contains("error")) {
    dispatch_reply(message);
  } else {
    fail(protocol(fmt::format("unrecognised QMP message: {}", json_excerpt(message))));
  }
}

void Session::take_greeting(const boost::json::object& message) {
  if (greeted_) {
    fail(protocol("a second QMP greeting on the same connection"));
    return;
  }
  const auto* qmp = message.at("QMP").if_object();
  const auto* version = qmp != nullptr ? qmp->if_contains("version") : nullptr;
  const auto* qemu = version != nullptr && version->is_object()
                         ? version->as_object().if_contains("qemu")
                         : nullptr;
  if (qemu == nullptr || !qemu->is_object()) {
    fail(protocol(fmt::format("QMP greeting without a QEMU version: {}", json_excerpt(message))));
    return;
  }
  greeting_.major = static_cast<int>(int_or_zero(qemu->as_object(), "major"));
  greeting_.minor = static_cast<int>(int_or_zero(qemu->as_object(), "minor"));
  greeting_.micro = static_cast<int>(int_or_zero(qemu->as_object(), "micro"));
  greeting_.package = string_or_empty(version->as_object(), "package");
  if (const auto* caps = qmp->if_contains("capabilities"); caps != nullptr && caps->is_array()) {
    for (const auto& cap : caps->as_array()) {
      if (cap.is_string()) {
        greeting_.capabilities.emplace_back(cap.get_string());
      }
    }
  }
  greeted_ = true;
  if (greeting_waiter_) {
    greeting_waiter_->timer.cancel();
  }
}

void Session::dispatch_reply(const boost::json::object& message) {
  const auto* id = message.if_contains("id");
  if (id == nullptr) {
    // QEMU answers a request it could not parse without an id; ours are always well formed.
    spdlog::warn("QMP reply without an id ignored: {}", json_excerpt(message));
    return;
  }
  const auto number = id->is_uint64() ? id->get_uint64()
                      : id->is_int64() && id->get_int64() >= 0
                          ? static_cast<std::uint64_t>(id->get_int64())
                          : 0;
  const auto found = pending_.find(number);
  if (found == pending_.end()) {
    spdlog::debug("QMP reply for no waiting command (timed out?): {}", json_excerpt(message));
    return;
  }
  auto& waiter = *found->second;
  if (const auto* ret = message.if_contains("return")) {
    waiter.result = *ret;
  } else {
    const auto* err = message.at("error").if_object();
    if (err == nullptr) {
      fail(protocol(
          fmt::format("QMP error reply without an error object: {}", json_excerpt(message))));
      return;
    }
    waiter.result = std::unexpected(QmpError{
        QmpError::Kind::command, string_or_empty(*err, "class"), string_or_empty(*err, "desc")});
  }
  waiter.timer.cancel();
}

void Session::dispatch_event(const boost::json::object& message) {
  QmpEvent event;
  event.name = string_or_empty(message, "event");
  if (const auto* data = message.if_contains("data"); data != nullptr && data->is_object()) {
    event.data = data->as_object();
  }
  if (const auto* ts = message.if_contains("timestamp"); ts != nullptr && ts->is_object()) {
    const auto& t = ts->as_object();
    const auto seconds = int_or_zero(t, "seconds");
    const auto micros = int_or_zero(t, "microseconds");
    event.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(seconds) +
                                                            std::chrono::microseconds(micros));
  }
  for (const auto& handler : handlers_) {
    try {
      handler(event);
    } catch (const std::exception& e) {
      // One broken subscriber must not take the connection down with it.
      spdlog::error("QMP event handler for {} threw: {}", event.name, e.what());
    }
  }
}

void Session::enqueue(Outgoing out) {
  outbox_.push_back(std::move(out));
  if (!writing_) {
    write_next();
  }
}

void Session::write_next() {
  writing_ = true;
  if (outbox_.front().fd) {
    send_with_fd();
    return;
  }
  asio::async_write(socket_, asio::buffer(outbox_.front().line),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->written(ec);
                    });
}

// sendmsg on the loop thread never blocks: it waits for room first and sends MSG_DONTWAIT.
// Whatever the kernel did not take goes on as plain bytes (the descriptor went with the first).
void Session::send_with_fd() {
  socket_.async_wait(
      asio::socket_base::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) {
          self->written(ec);
          return;
        }
        auto& out = self->outbox_.front();
        const auto sent =
            send_with_descriptor(self->socket_.native_handle(), out.line, out.fd.get());
        if (!sent && (sent.error() == EAGAIN || sent.error() == EWOULDBLOCK)) {
          self->send_with_fd();
          return;
        }
        if (!sent) {
          self->written(boost::system::error_code(sent.error(), boost::system::system_category()));
          return;
        }
        out.fd.reset();
        out.line.erase(0, *sent);
        if (out.line.empty()) {
          self->written({});
        } else {
          self->write_next();
        }
      });
}

void Session::written(boost::system::error_code ec) {
  writing_ = false;
  if (ec || closed_) {
    outbox_.clear();
    if (ec) {
      fail({QmpError::Kind::transport, "", fmt::format("writing QMP socket: {}", ec.message())});
    }
    return;
  }
  outbox_.pop_front();
  if (!outbox_.empty()) {
    write_next();
  }
}

}  // namespace qmd::qmp::detail
