#include "daemon/runtime/console_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon/async/unix_connect.hpp"
#include "qmp/ready_read.hpp"

namespace qmd::daemon {

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// QEMU's console socket takes a connection at once unless its backlog is full.
constexpr std::chrono::seconds kConnectTimeout{5};

pid_t peer_pid(ConsoleLog::Socket& socket) {
  ucred cred{};
  socklen_t size = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    return 0;
  }
  return cred.pid;
}

}  // namespace

// Until the ring first fills, every byte sits at its own offset, so the buffer grows with
// what the guest printed: a VM that prints a banner costs a few bytes, not the capacity
// (a whole MiB per running VM, zero-filled, was most of qmd's memory with many VMs).
void ByteRing::append(std::string_view bytes) {
  if (capacity_ == 0) {
    return;
  }
  if (bytes.size() >= capacity_) {
    end_ += bytes.size() - capacity_;  // only the last capacity_ bytes can stay
    bytes.remove_prefix(bytes.size() - capacity_);
    data_.resize(capacity_);
  }
  if (data_.size() < capacity_) {  // not yet full: data_.size() == end_
    const std::size_t n = std::min(bytes.size(), capacity_ - data_.size());
    if (data_.capacity() < data_.size() + n) {
      data_.reserve(std::min(capacity_, std::max(data_.size() + n, 2 * data_.capacity())));
    }
    data_.insert(data_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    end_ += n;
    bytes.remove_prefix(n);
  }
  for (char c : bytes) {
    data_[end_ % capacity_] = c;
    ++end_;
  }
}

ByteRing::Slice ByteRing::read(std::uint64_t from, std::size_t max) const {
  Slice slice;
  const std::uint64_t start = std::max(from, begin());
  slice.lost = start - std::min(from, start);
  const std::uint64_t stop = std::min<std::uint64_t>(end_, start + max);
  slice.bytes.reserve(static_cast<std::size_t>(stop - std::min(start, stop)));
  for (std::uint64_t at = start; at < stop; ++at) {
    slice.bytes.push_back(data_[at % capacity_]);
  }
  slice.next = std::max(start, stop);
  return slice;
}

ConsoleLog::ConsoleLog(asio::any_io_executor executor)
    : executor_(executor),
      wake_(std::make_shared<asio::steady_timer>(executor,
                                                 asio::steady_timer::time_point::max())) {}

asio::awaitable<std::optional<std::string>> ConsoleLog::connect(std::string path,
                                                                pid_t qemu_pid,
                                                                std::string banner) {
  disconnect();
  auto socket = std::make_shared<Socket>(executor_);
  Socket& plain = *socket;
  const std::chrono::milliseconds deadline = kConnectTimeout;
  const auto ec = co_await connect_within(plain, path, deadline);
  if (ec) {
    co_return fmt::format("{}: {}", path, ec.message());
  }
  const pid_t listener = peer_pid(*socket);
  if (listener != qemu_pid) {
    co_return fmt::format("{} is served by pid {}, not by the VM's QEMU (pid {})", path,
                          listener, qemu_pid);
  }
  ring_.append(banner);
  qemu_ = socket;
  wake();
  auto self = shared_from_this();
  asio::co_spawn(
      executor_, [self, socket] { return self->read_loop(socket); }, asio::detached);
  co_return std::nullopt;
}

void ConsoleLog::disconnect() {
  if (!qemu_) {
    return;
  }
  boost::system::error_code ignored;
  qemu_->close(ignored);
  qemu_.reset();
  wake();
}

asio::awaitable<void> ConsoleLog::read_loop(std::shared_ptr<Socket> socket) {
  for (;;) {
    auto [ec, bytes] = co_await qmp::ready_read(*socket);  // no buffer held while quiet
    if (ec || bytes.empty()) {
      break;
    }
    ring_.append(bytes);
    wake();
  }
  if (qemu_ == socket) {
    qemu_.reset();
    wake();
  }
}

void ConsoleLog::wake() { wake_->cancel(); }

asio::awaitable<void> ConsoleLog::wait_beyond(std::uint64_t offset,
                                              std::shared_ptr<Socket> connection) {
  while (ring_.end() <= offset && qemu_ == connection && connection) {
    auto timer = wake_;  // kept alive for the wait
    auto [ec] = co_await timer->async_wait(kTuple);
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      co_return;  // the session is ending
    }
    (void)ec;  // woken: look again
  }
}

}  // namespace qmd::daemon
