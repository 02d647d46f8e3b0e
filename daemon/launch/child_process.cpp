#include "daemon/launch/child_process.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <utility>

#include "daemon/launch/file_tail.hpp"
#include "daemon/launch/launcher.hpp"

namespace qmd::daemon {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// The caller's own directory, as a child it runs by hand would have: relative paths in its
// argv mean what they meant to the caller.
std::string current_dir() {
  std::error_code ec;
  const auto here = std::filesystem::current_path(ec);
  return ec ? std::string("/") : here.string();
}

}  // namespace

// launch() without the parts only QEMU needs (seccomp, a privilege drop, kept fds): the same
// fork, the same closed fds, signal reset, new session and log handling as every child of qmd.
std::expected<ChildProcess, std::string> ChildProcess::spawn(
    const std::vector<std::string>& argv, const std::string& log_path,
    const std::vector<std::string>& extra_env) {
  if (argv.empty()) {
    return std::unexpected("empty command");
  }
  LaunchSpec spec;
  spec.argv = argv;
  spec.env = extra_env;
  spec.log_path = log_path;
  spec.cwd = current_dir();
  spec.seccomp = false;
  auto launched = launch(spec);
  if (!launched) {
    return std::unexpected(fmt::format("cannot start {}: {}", argv[0], launched.error()));
  }
  return ChildProcess(launched->pid, UniqueFd(launched->pidfd));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { reset(); }

void ChildProcess::reset() {
  if (running()) {
    kill_now();
  }
  pid_ = -1;
  pidfd_.reset();
  status_.reset();
}

bool ChildProcess::wait_for(milliseconds timeout) {
  if (pid_ <= 0 || status_) {
    return true;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    siginfo_t info{};
    // WNOWAIT keeps the zombie, so its process group id cannot be reused while we kill
    // whatever the child left in its group; only then is it reaped.
    const int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0 && info.si_pid == pid_) {
      ::kill(-pid_, SIGKILL);
      reap();
      return true;
    }
    if (rc < 0 && errno != EINTR) {
      status_ = 0;  // not our child any more: nothing left to wait for
      return true;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd pfd{pidfd_.get(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(left.count()));
  }
}

void ChildProcess::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      break;
    }
  }
  status_ = status;
}

void ChildProcess::stop(milliseconds grace) {
  if (!running()) {
    return;
  }
  if (grace.count() > 0) {
    ::kill(-pid_, SIGTERM);
    if (wait_for(grace)) {
      return;
    }
  }
  ::kill(-pid_, SIGKILL);
  reap();
}

std::expected<void, std::string> run_to_completion(const std::vector<std::string>& argv,
                                                   const std::string& log_path,
                                                   milliseconds timeout) {
  auto child = ChildProcess::spawn(argv, log_path);
  if (!child) {
    return std::unexpected(child.error());
  }
  if (!child->wait_for(timeout)) {
    child->kill_now();
    return std::unexpected(fmt::format("{} did not finish within {} ms; log:\n{}", argv[0],
                                       timeout.count(), file_tail(log_path, 20)));
  }
  const int status = *child->status();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::unexpected(
        fmt::format("{} {}; log:\n{}", argv[0], describe_status(status), file_tail(log_path, 20)));
  }
  return {};
}

}  // namespace qmd::daemon
