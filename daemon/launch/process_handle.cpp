#include "daemon/launch/process_handle.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/launch/wait_status.hpp"

namespace qmd::daemon {

ProcessHandle::ProcessHandle(asio::any_io_executor executor, pid_t pid, int pidfd, bool is_child)
    : pid_(pid), is_child_(is_child) {
  pidfd_.emplace(executor, pidfd);
}

std::expected<ProcessHandle, std::string> ProcessHandle::open(asio::any_io_executor executor,
                                                              pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return std::unexpected(fmt::format("pidfd_open {}: {}", pid, std::strerror(errno)));
  }
  return ProcessHandle(std::move(executor), pid, fd, false);
}

ProcessHandle::~ProcessHandle() = default;

bool ProcessHandle::poll_exit() {
  if (exited_) {
    return true;
  }
  if (!pidfd_ || !pidfd_->is_open()) {
    return false;
  }
  pollfd p{pidfd_->native_handle(), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0) {
    return false;
  }
  exited_ = true;
  if (is_child_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
    }
  }
  return true;
}

asio::awaitable<void> ProcessHandle::wait_exit() {
  while (!poll_exit()) {
    boost::system::error_code ec;
    co_await pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted && !pidfd_->is_open()) {
      co_return;
    }
  }
}

asio::awaitable<bool> ProcessHandle::wait_exit_for(std::chrono::milliseconds limit) {
  using namespace asio::experimental::awaitable_operators;
  if (poll_exit()) {
    co_return true;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  boost::system::error_code ec;
  co_await (pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec)) ||
            timer.async_wait(asio::redirect_error(asio::use_awaitable, ec)));
  co_return poll_exit();
}

bool ProcessHandle::signal(int sig) {
  if (poll_exit() || !pidfd_) {
    return false;
  }
  return ::syscall(SYS_pidfd_send_signal, pidfd_->native_handle(), sig, nullptr, 0) == 0;
}

std::string ProcessHandle::describe() const {
  if (!exited_) {
    return "running";
  }
  if (status_) {
    return describe_status(*status_);
  }
  return "exited (status unknown: not a child of this qmd)";
}

}  // namespace qmd::daemon
