#include "daemon/launch/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "daemon/launch/launch_child.hpp"
#include "daemon/launch/seccomp_filter.hpp"
#include "base/unique_fd.hpp"

extern char** environ;

namespace qmd::daemon {
namespace {

using detail::ChildFailure;
using detail::ChildPlan;
using detail::ChildStep;

std::string errno_text(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }


// A relative path means relative to qmd's directory, not the child's cwd (it chdirs first).
std::string absolute(const std::string& path) {
  if (path.starts_with('/')) {
    return path;
  }
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) + "/" + path : path;
}

// execvp's PATH search done before fork (execvp is not async-signal-safe), with the PATH the
// child will see.
std::expected<std::string, int> resolve_executable(const std::string& name,
                                                   const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    return absolute(name);
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) {
      path = entry.substr(5);
    }
  }
  int err = ENOENT;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        return absolute(candidate);
      }
      err = EACCES;
    }
    if (end == std::string::npos) {
      return std::unexpected(err);
    }
    start = end + 1;
  }
}

// The child's stdio numbers 0..2 are dup2 targets: the fds the plan hands over must be above.
UniqueFd above_stdio(UniqueFd fd) {
  if (fd.get() >= 0 && fd.get() < 3) {
    return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  }
  return fd;
}

std::expected<UniqueFd, std::string> open_log(const std::string& path) {
  if (path.empty()) {
    return std::unexpected("open log: no log path");
  }
  // Never through a link: some logs live in the run dir, which the QEMU user owns.
  // Non-blocking: a FIFO planted there must not stall the loop (it is refused below).
  constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK;
  // Created here with exactly 0640 (whatever the umask); an existing log is appended to.
  UniqueFd fd(::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0640));
  if (fd) {
    if (::fchmod(fd.get(), 0640) != 0) {
      return std::unexpected(errno_text("chmod log " + path, errno));
    }
  } else if (errno == EEXIST) {
    fd.reset(::open(path.c_str(), kFlags));
  }
  if (!fd) {
    return std::unexpected(errno_text("open log " + path, errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::unexpected("open log " + path + ": not a regular file");
  }
  const int status = ::fcntl(fd.get(), F_GETFL);
  if (status < 0 || ::fcntl(fd.get(), F_SETFL, status & ~O_NONBLOCK) != 0) {  // the child's stdout
    return std::unexpected(errno_text("open log " + path, errno));
  }
  fd = above_stdio(std::move(fd));
  if (!fd) {
    return std::unexpected(errno_text("open log " + path, errno));
  }
  return fd;
}

std::string step_text(ChildStep step, const LaunchSpec& spec, const std::string& exec_path) {
  switch (step) {
    case ChildStep::ParentDeath:
      return "parent death signal";
    case ChildStep::Signals:
      return "signals";
    case ChildStep::Setsid:
      return "setsid";
    case ChildStep::Log:
      return "log";
    case ChildStep::CloseFds:
      return "close_range";
    case ChildStep::KeepFds:
      return "keep_fds";
    case ChildStep::Chdir:
      return "chdir " + (spec.cwd.empty() ? std::string("/") : spec.cwd);
    case ChildStep::NoNewPrivs:
      return "no_new_privs";
    case ChildStep::Setgroups:
      return "setgroups";
    case ChildStep::Setgid:
      return "setgid " + std::to_string(spec.drop_to->gid);
    case ChildStep::Setuid:
      return "setuid " + std::to_string(spec.drop_to->uid);
    case ChildStep::Seccomp:
      return "seccomp";
    case ChildStep::Execve:
      return "execve " + exec_path;
  }
  return "child";
}

// NUL-terminated char* views of strings that outlive the fork.
std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Blocks every signal between fork and the child's own reset, so no qmd handler runs in the
// child; restored in the parent on scope exit.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~AllSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

// What the child needs, made before fork (after it the child may only make async-signal-safe
// calls): the fds it takes over, the resolved executable, the filters, the strings. The plan
// points into it, so a Prepared stays where launch() made it.
struct Prepared {
  std::vector<int> keep;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string exec_path;
  std::string cwd;
  std::vector<sock_fprog> filters;
  UniqueFd null_fd;
  UniqueFd log_fd;
  UniqueFd stdout_fd;
  UniqueFd error_read;
  UniqueFd error_write;
  std::vector<char*> argv_ptrs;
  std::vector<char*> env_ptrs;
};

// Sorted, unique, each open and above stdio.
std::expected<std::vector<int>, std::string> checked_keep_fds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  for (int fd : keep) {
    if (fd < 3) {
      return std::unexpected("keep_fd " + std::to_string(fd) + ": stdio cannot be passed on");
    }
    if (::fcntl(fd, F_GETFD) < 0) {
      return std::unexpected(errno_text("keep_fd " + std::to_string(fd), errno));
    }
  }
  return keep;
}

// A copy of a caller's fd (stdin, stdout, output) above stdio, closed on exec; -1 stays empty.
std::expected<UniqueFd, std::string> copy_of(int fd, std::string_view what) {
  if (fd < 0) {
    return UniqueFd();
  }
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!copy) {
    return std::unexpected(errno_text("dup the " + std::string(what) + " fd", errno));
  }
  return copy;
}

// The child's stdio: stdin (the caller's fd or /dev/null), stderr (the output fd or the log)
// and stdout (the caller's fd, else as stderr).
std::optional<std::string> open_stdio(const LaunchSpec& spec, Prepared& out) {
  auto in = copy_of(spec.stdin_fd, "stdin");
  if (in && !*in) {
    in = above_stdio(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    if (!*in) {
      return errno_text("open /dev/null", errno);
    }
  }
  auto log = spec.output_fd >= 0 ? copy_of(spec.output_fd, "output") : open_log(spec.log_path);
  auto stdout_fd = copy_of(spec.stdout_fd, "stdout");
  for (const auto* made : {&in, &log, &stdout_fd}) {
    if (!*made) {
      return made->error();
    }
  }
  out.null_fd = std::move(*in);
  out.log_fd = std::move(*log);
  out.stdout_fd = std::move(*stdout_fd);
  return std::nullopt;
}

// The error pipe, the executable, the filters and the strings; then the plan over them.
std::optional<std::string> prepare(const LaunchSpec& spec, Prepared& out) {
  auto keep = checked_keep_fds(spec.keep_fds);
  if (!keep) {
    return keep.error();
  }
  out.keep = std::move(*keep);
  out.env = merged_environment(spec.env);
  auto exec_path = resolve_executable(spec.argv[0], out.env);
  if (!exec_path) {
    return errno_text("execve " + spec.argv[0], exec_path.error());
  }
  out.exec_path = std::move(*exec_path);
  if (spec.seccomp) {
    const auto& program = qmd_seccomp_program();
    if (!program) {
      return "seccomp: " + program.error();
    }
    out.filters = program->fprogs();
  }
  if (auto failed = open_stdio(spec, out)) {
    return failed;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return errno_text("pipe", errno);
  }
  out.error_read.reset(pipe_fds[0]);
  out.error_write = above_stdio(UniqueFd(pipe_fds[1]));
  out.argv = spec.argv;
  out.argv_ptrs = c_strings(out.argv);
  out.env_ptrs = c_strings(out.env);
  out.cwd = spec.cwd.empty() ? "/" : spec.cwd;
  return std::nullopt;
}

ChildPlan plan_of(const LaunchSpec& spec, const Prepared& p) {
  ChildPlan plan;
  plan.stdin_fd = p.null_fd.get();
  plan.log_fd = p.log_fd.get();
  plan.stdout_fd = p.stdout_fd ? p.stdout_fd.get() : p.log_fd.get();
  plan.error_fd = p.error_write.get();
  plan.keep_fds = p.keep.data();
  plan.keep_count = p.keep.size();
  plan.cwd = p.cwd.c_str();
  plan.exec_path = p.exec_path.c_str();
  plan.argv = p.argv_ptrs.data();
  plan.envp = p.env_ptrs.data();
  if (spec.drop_to) {
    plan.drop = true;
    plan.uid = spec.drop_to->uid;
    plan.gid = spec.drop_to->gid;
    plan.groups = spec.drop_to->groups.data();
    plan.group_count = spec.drop_to->groups.size();
  }
  plan.seccomp = p.filters.data();
  plan.seccomp_count = p.filters.size();
  plan.parent_death_signal = spec.parent_death_signal;
  plan.parent = ::getpid();
  return plan;
}

// Reads the child's report: nothing (the pipe closed at execve) means it runs.
std::optional<std::string> child_failure(const UniqueFd& error_read, pid_t pid,
                                         const LaunchSpec& spec, const std::string& exec_path) {
  ChildFailure failure;
  ssize_t got = 0;
  do {
    got = ::read(error_read.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == 0) {
    return std::nullopt;
  }
  reap(pid);
  if (got != static_cast<ssize_t>(sizeof failure)) {
    return "launch: lost the child's report";
  }
  return errno_text(step_text(static_cast<ChildStep>(failure.step), spec, exec_path),
                    failure.err);
}

}  // namespace

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& e) {
      return env_name(e) == env_name(text);
    });
    if (!replaced) {
      out.push_back(text);
    }
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::expected<Launched, std::string> launch(const LaunchSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return std::unexpected("launch: empty argv");
  }
  Prepared prepared;
  if (auto failed = prepare(spec, prepared)) {
    return std::unexpected(*failed);
  }
  const ChildPlan plan = plan_of(spec, prepared);
  pid_t pid = -1;
  {
    AllSignalsBlocked blocked;
    pid = ::fork();
    if (pid == 0) {
      detail::run_child(plan);
    }
  }
  if (pid < 0) {
    return std::unexpected(errno_text("fork", errno));
  }
  prepared.error_write.reset();
  if (auto failed = child_failure(prepared.error_read, pid, spec, prepared.exec_path)) {
    return std::unexpected(*failed);
  }
  // The child is ours and not yet reaped, so its pid cannot have been reused.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    reap(pid);
    return std::unexpected(errno_text("pidfd_open", err));
  }
  return Launched{pid, pidfd};
}

}  // namespace qmd::daemon
