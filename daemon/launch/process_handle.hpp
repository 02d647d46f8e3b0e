#pragma once
// One supervised process (QEMU or swtpm) seen through its pidfd: the loop learns of its exit
// at once, signals go to exactly that process (never to a reused pid), and a child of this
// qmd is reaped with its status. A process adopted after a restart of qmd is not our child:
// its exit is seen, its status is not.
#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <expected>
#include <optional>
#include <string>

namespace qmd::daemon {

namespace asio = boost::asio;

class ProcessHandle {
 public:
  // Takes ownership of `pidfd`.
  ProcessHandle(asio::any_io_executor executor, pid_t pid, int pidfd, bool is_child);
  // pidfd_open on a running process that qmd did not start (adoption).
  static std::expected<ProcessHandle, std::string> open(asio::any_io_executor executor,
                                                        pid_t pid);
  ProcessHandle(ProcessHandle&&) noexcept = default;
  ProcessHandle& operator=(ProcessHandle&&) noexcept = default;
  ~ProcessHandle();

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  // Wait status for a reaped child; nullopt while running or for an adopted process.
  std::optional<int> status() const { return status_; }

  // Completes when the process has exited (reaps a child). Safe to call again after exit.
  asio::awaitable<void> wait_exit();
  // Completes at exit or after `limit`; true when it exited.
  asio::awaitable<bool> wait_exit_for(std::chrono::milliseconds limit);
  // pidfd_send_signal; false when the process is already gone.
  bool signal(int sig);
  // "exited with status 0", "killed by signal 9 (Killed)", "exited (status unknown: adopted)".
  std::string describe() const;

 private:
  bool poll_exit();  // non-blocking: reaps when readable

  pid_t pid_ = -1;
  std::optional<asio::posix::stream_descriptor> pidfd_;
  bool is_child_ = false;
  bool exited_ = false;
  std::optional<int> status_;
};

}  // namespace qmd::daemon
