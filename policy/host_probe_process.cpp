#include "policy/host_probe_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "base/unique_fd.hpp"

extern char** environ;

namespace qmd::policy {
namespace {

using Clock = std::chrono::steady_clock;

// Kills (the whole process group) and reaps the child unless it was reaped already, so that
// no early return leaves a zombie or a running QEMU behind.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ > 0) {
      kill_group();
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  void kill_group() const { ::kill(-pid_, SIGKILL); }
  // Non-blocking reap; true once the child is gone (status filled in).
  bool try_reap(int& status) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  void reap(int& status) {
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  const char* path = ::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
  }
  return name;
}

UniqueFd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  (void)pid;
  return UniqueFd();
#endif
}

// In the forked child: only async-signal-safe calls from here to execve.
[[noreturn]] void exec_child(pid_t parent, int in, int out, int err, const char* path,
                             char* const* argv) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // A probe QEMU (-S, waiting on its stdin) must not outlive a qmd that is killed mid-probe.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {  // qmd died before the line above: nobody would signal us
    ::_exit(127);
  }
  ::setpgid(0, 0);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
    ::_exit(127);
  }
  ::close_range(3, ~0U, 0);
  ::execve(path, argv, environ);
  ::_exit(127);
}

}  // namespace

std::string ProcessResult::status() const {
  if (!started) {
    return fmt::format("cannot run: {}", error);
  }
  if (timed_out) {
    return "timed out";
  }
  if (signal != 0) {
    return fmt::format("killed by signal {}{}", signal, signal == SIGABRT ? " (abort)" : "");
  }
  return fmt::format("exit {}", exit_code);
}

std::string ProcessResult::last_error_line() const {
  std::string_view rest = err;
  std::string_view last;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      last = line;
    }
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  return std::string(last);
}

// Pipes, fork, exec, then one poll loop that feeds stdin, drains stdout/stderr and enforces the
// deadline; kept whole so every fd is closed on every path in one place.
ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input,
                          std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (argv.empty()) {
    result.error = "empty command";
    return result;
  }
  // Everything the child needs is prepared before fork.
  const std::string path = resolve(argv[0]);
  std::vector<char*> cargv;
  for (const auto& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));
  }
  cargv.push_back(nullptr);

  // stdin is a socket so that writing to a child that has gone gives EPIPE, not SIGPIPE.
  std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in.data()) < 0) {
    result.error = std::strerror(errno);
    return result;
  }
  UniqueFd in_parent(in[0]), in_child(in[1]);
  if (::pipe2(out.data(), O_CLOEXEC) < 0) {
    result.error = std::strerror(errno);
    return result;
  }
  UniqueFd out_parent(out[0]), out_child(out[1]);
  if (::pipe2(err.data(), O_CLOEXEC) < 0) {
    result.error = std::strerror(errno);
    return result;
  }
  UniqueFd err_parent(err[0]), err_child(err[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    exec_child(parent, in_child.get(), out_child.get(), err_child.get(), path.c_str(),
               cargv.data());
  }
  ChildGuard child(pid);
  result.started = true;
  in_child.reset();
  out_child.reset();
  err_child.reset();
  UniqueFd pidfd = open_pidfd(pid);
  for (int fd : {in_parent.get(), out_parent.get(), err_parent.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  const auto deadline = Clock::now() + timeout;
  std::size_t written = 0;
  if (input.empty()) {
    ::shutdown(in_parent.get(), SHUT_WR);
    in_parent.reset();
  }
  bool exited = false;
  int status = 0;
  std::array<char, 4096> buf{};
  while (out_parent || err_parent || !exited) {
    const auto now = Clock::now();
    if (now >= deadline) {
      result.timed_out = !exited;
      break;
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    std::array<pollfd, 4> fds{};
    nfds_t n = 0;
    const auto add = [&](const UniqueFd& fd, short events) {
      fds[n++] = pollfd{fd ? fd.get() : -1, events, 0};
    };
    add(out_parent, POLLIN);
    add(err_parent, POLLIN);
    add(in_parent, POLLOUT);
    if (!exited && pidfd) {
      fds[n++] = pollfd{pidfd.get(), POLLIN, 0};
    } else if (!exited) {
      wait_ms = std::min<long long>(wait_ms, 20);  // no pidfd: poll waitpid instead
    }
    const int ready = ::poll(fds.data(), n, static_cast<int>(std::max<long long>(wait_ms, 1)));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    const auto drain = [&](UniqueFd& fd, std::string& into, short revents) {
      if (!fd || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        return;
      }
      const ssize_t got = ::read(fd.get(), buf.data(), buf.size());
      if (got > 0) {
        into.append(buf.data(), static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd.reset();
      }
    };
    drain(out_parent, result.out, fds[0].revents);
    drain(err_parent, result.err, fds[1].revents);
    if (in_parent && (fds[2].revents & (POLLOUT | POLLHUP | POLLERR)) != 0) {
      const ssize_t put = ::send(in_parent.get(), input.data() + written, input.size() - written,
                                 MSG_NOSIGNAL);
      if (put > 0) {
        written += static_cast<std::size_t>(put);
      }
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        ::shutdown(in_parent.get(), SHUT_WR);
        in_parent.reset();
      }
    }
    if (!exited && child.try_reap(status)) {
      exited = true;
    }
  }
  if (!exited) {
    if (result.timed_out) {
      child.kill_group();
    }
    child.reap(status);
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
  }
  if (result.exit_code == 127 && result.out.empty() && result.err.empty() &&
      !std::filesystem::exists(path)) {
    result.started = false;
    result.error = fmt::format("{} not found", argv[0]);
  }
  return result;
}

}  // namespace qmd::policy
