#pragma once
// The child half of launch(): what runs between fork and execve. Everything it needs is
// prepared by the parent beforehand, because after fork in a threaded process only
// async-signal-safe calls are allowed (no malloc, no locks, no libseccomp).
#include <linux/filter.h>
#include <sys/types.h>

#include <cstddef>

namespace qmd::daemon::detail {

// The steps, in order; a failure reports the step and errno through the error pipe.
enum class ChildStep : int {
  ParentDeath,
  Signals,
  Setsid,
  Log,
  CloseFds,
  KeepFds,
  Chdir,
  NoNewPrivs,
  Setgroups,
  Setgid,
  Setuid,
  Seccomp,
  Execve,
};

struct ChildFailure {
  int step = 0;  // a ChildStep
  int err = 0;   // errno
};

struct ChildPlan {
  int stdin_fd = -1;              // /dev/null or the caller's, >= 3
  int log_fd = -1;                // stderr, >= 3
  int stdout_fd = -1;             // >= 3; the log_fd unless the caller gave its own
  int error_fd = -1;              // write end of the CLOEXEC error pipe
  const int* keep_fds = nullptr;  // sorted, unique, all >= 3
  std::size_t keep_count = 0;
  const char* cwd = "/";
  const char* exec_path = nullptr;  // resolved already (PATH lookup done by the parent)
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  const sock_fprog* seccomp = nullptr;  // programs loaded in order; none: no filter
  std::size_t seccomp_count = 0;
  int parent_death_signal = 0;  // PR_SET_PDEATHSIG, first of all; 0: none
  pid_t parent = 0;             // the forking process: gone already means fail
};

// Runs the steps and execs; on failure writes a ChildFailure to error_fd and _exits(127).
[[noreturn]] void run_child(const ChildPlan& plan) noexcept;

}  // namespace qmd::daemon::detail
