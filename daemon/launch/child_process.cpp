#include "daemon/launch/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "daemon/launch/launcher.hpp"
#include "daemon/store/file_tail.hpp"

extern char** environ;

namespace qmd::daemon {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// posix_spawn file actions and attributes, released on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::expected<ChildProcess, std::string> ChildProcess::spawn(
    const std::vector<std::string>& argv, const std::string& log_path,
    const std::vector<std::string>& extra_env) {
  if (argv.empty()) {
    return std::unexpected("empty command");
  }
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0640);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  // Another thread may be spawning at the same moment: never leak its fds into this child.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  // Own process group, default signal handling, nothing blocked.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  std::vector<std::string> env_strings = merged_environment(extra_env);
  std::vector<char*> env;
  env.reserve(env_strings.size() + 1);
  for (auto& entry : env_strings) {
    env.push_back(entry.data());
  }
  env.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), env.data());
  if (rc != 0) {
    return std::unexpected(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return ChildProcess(pid, open_pidfd(pid));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { reset(); }

void ChildProcess::reset() {
  if (running()) {
    kill_now();
  }
  if (pidfd_ >= 0) {
    ::close(pidfd_);
  }
  pid_ = -1;
  pidfd_ = -1;
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
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::min(left, milliseconds{10}));
    }
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
