#pragma once
// Runs one helper program (qemu -version, swtpm --print-capabilities, a Hyper-V probe) with
// its output captured and a hard timeout, so that a hung or crashing helper can never stall
// or take down the host probe.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::policy {

struct ProcessResult {
  bool started = false;    // false: fork/exec failed (see `error`)
  bool timed_out = false;  // killed with SIGKILL after the timeout
  int exit_code = -1;      // when it exited normally
  int signal = 0;          // when a signal ended it (SIGABRT for a QEMU assertion)
  std::string out;
  std::string err;
  std::string error;  // why it did not start

  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  // "exit 1", "signal 6 (abort)", "timed out after 3000 ms", "cannot run: ..."
  std::string status() const;
  // The last non-empty line of stderr, which is where QEMU puts its reason.
  std::string last_error_line() const;
};

// argv[0] is looked up in PATH when it has no slash. `input` is written to stdin, which is
// then closed. stdin/stdout/stderr are the only descriptors the child inherits.
ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input,
                          std::chrono::milliseconds timeout);

}  // namespace qmd::policy
