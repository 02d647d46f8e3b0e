#pragma once
// A child process that cannot outlive its owner, for a blocking caller (a tool qmd runs to
// completion on the pool, `qmctl trial`): started by launch() (launcher.hpp) in a session of its
// own with stdout/stderr appended to a log file, waited on through its pidfd with a timeout,
// and killed (the whole group) when the object is destroyed while the child still runs. The
// loop's children are ProcessHandle's (process_handle.hpp).
#include <sys/types.h>

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"
#include "daemon/launch/wait_status.hpp"

namespace qmd::daemon {

class ChildProcess {
 public:
  // `argv[0]` is looked up in PATH when it has no slash. stdin is /dev/null, the directory
  // the caller's. `extra_env` (NAME=VALUE) is added to this process's environment, replacing
  // the same names.
  static std::expected<ChildProcess, std::string> spawn(
      const std::vector<std::string>& argv, const std::string& log_path,
      const std::vector<std::string>& extra_env = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  // Raw waitpid status once the child has been reaped.
  std::optional<int> status() const { return status_; }

  // Reaps the child if it has exited; waits at most `timeout`. True when it has exited.
  bool wait_for(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL to the whole group after `grace`; always reaps.
  void stop(std::chrono::milliseconds grace);
  void kill_now() { stop(std::chrono::milliseconds{0}); }

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  void reset();
  void reap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
};

// Runs `argv` to completion within `timeout`; the error says what failed and carries the
// tail of the log.
std::expected<void, std::string> run_to_completion(const std::vector<std::string>& argv,
                                                   const std::string& log_path,
                                                   std::chrono::milliseconds timeout);

}  // namespace qmd::daemon
