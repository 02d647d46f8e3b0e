#include "daemon/launch/launch_child.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Only async-signal-safe calls below this line: raw syscalls and the POSIX list.
namespace qmd::daemon::detail {
namespace {

[[noreturn]] void fail(const ChildPlan& plan, ChildStep step) noexcept {
  const ChildFailure failure{static_cast<int>(step), errno};
  while (::write(plan.error_fd, &failure, sizeof failure) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

// qmd's handlers and ignored signals (SIGPIPE) must not leak into QEMU, nor qmd's mask.
bool reset_signals() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &dfl, nullptr);  // glibc's reserved signals say EINVAL: fine
    }
  }
  sigset_t none;
  ::sigemptyset(&none);
  return ::sigprocmask(SIG_SETMASK, &none, nullptr) == 0;
}

bool redirect_stdio(const ChildPlan& plan) noexcept {
  return ::dup2(plan.stdin_fd, 0) == 0 && ::dup2(plan.stdout_fd, 1) == 1 &&
         ::dup2(plan.log_fd, 2) == 2;
}

// Marks every fd >= 3 close-on-exec except the kept ones; the error pipe stays usable until
// execve closes it, which is how the parent learns that execve succeeded.
bool close_other_fds(const ChildPlan& plan) noexcept {
  unsigned low = 3;
  for (std::size_t i = 0; i < plan.keep_count; ++i) {
    const auto keep = static_cast<unsigned>(plan.keep_fds[i]);
    if (keep > low && ::syscall(SYS_close_range, low, keep - 1, CLOSE_RANGE_CLOEXEC) != 0) {
      return false;
    }
    low = keep + 1;
  }
  return ::syscall(SYS_close_range, low, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
}

bool pass_kept_fds(const ChildPlan& plan) noexcept {
  for (std::size_t i = 0; i < plan.keep_count; ++i) {
    const int flags = ::fcntl(plan.keep_fds[i], F_GETFD);
    if (flags < 0 || ::fcntl(plan.keep_fds[i], F_SETFD, flags & ~FD_CLOEXEC) < 0) {
      return false;
    }
  }
  return true;
}

// Raw syscalls: they change this (the only) thread's credentials without glibc's setxid
// broadcast machinery.
void drop_privileges(const ChildPlan& plan) noexcept {
  if (::syscall(SYS_setgroups, plan.group_count, plan.groups) != 0) {
    fail(plan, ChildStep::Setgroups);
  }
  if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) {
    fail(plan, ChildStep::Setgid);
  }
  gid_t rg = 0, eg = 0, sg = 0;
  if (::syscall(SYS_getresgid, &rg, &eg, &sg) != 0 || rg != plan.gid || eg != plan.gid ||
      sg != plan.gid) {
    errno = EPERM;
    fail(plan, ChildStep::Setgid);
  }
  if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    fail(plan, ChildStep::Setuid);
  }
  uid_t ru = 0, eu = 0, su = 0;
  if (::syscall(SYS_getresuid, &ru, &eu, &su) != 0 || ru != plan.uid || eu != plan.uid ||
      su != plan.uid) {
    errno = EPERM;
    fail(plan, ChildStep::Setuid);
  }
  // Once dropped, root must be out of reach for good.
  if (plan.uid != 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0) {
    errno = EPERM;
    fail(plan, ChildStep::Setuid);
  }
}

// The parent-death signal, then a check that the parent did not die already.
void tie_to_parent(const ChildPlan& plan) {
  if (plan.parent_death_signal == 0) {
    return;
  }
  if (::prctl(PR_SET_PDEATHSIG, plan.parent_death_signal) != 0) {
    fail(plan, ChildStep::ParentDeath);
  }
  if (::getppid() != plan.parent) {
    errno = ESRCH;  // the parent is gone
    fail(plan, ChildStep::ParentDeath);
  }
}

}  // namespace

void run_child(const ChildPlan& plan) noexcept {
  tie_to_parent(plan);  // before anything else
  if (!reset_signals()) {
    fail(plan, ChildStep::Signals);
  }
  if (::setsid() < 0) {
    fail(plan, ChildStep::Setsid);
  }
  if (!redirect_stdio(plan)) {
    fail(plan, ChildStep::Log);
  }
  if (!close_other_fds(plan)) {
    fail(plan, ChildStep::CloseFds);
  }
  if (!pass_kept_fds(plan)) {
    fail(plan, ChildStep::KeepFds);
  }
  if (::chdir(plan.cwd) != 0) {
    fail(plan, ChildStep::Chdir);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fail(plan, ChildStep::NoNewPrivs);
  }
  if (plan.drop) {
    drop_privileges(plan);
    tie_to_parent(plan);  // a change of uid or gid clears the parent-death signal
  }
  for (std::size_t i = 0; i < plan.seccomp_count; ++i) {
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &plan.seccomp[i], 0, 0) != 0) {
      fail(plan, ChildStep::Seccomp);
    }
  }
  ::execve(plan.exec_path, plan.argv, plan.envp);
  fail(plan, ChildStep::Execve);
}

}  // namespace qmd::daemon::detail
