#pragma once
// A QEMU (or swtpm) child for the qmp/ integration tests: qmd's own ChildProcess (started by
// launch(), stdin from /dev/null, stdout and stderr appended to DIR/qemu.log, watched through
// its pidfd), killed and reaped on destruction so no test leaves a QEMU behind.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/launch/child_process.hpp"

namespace qmd::qmp::testing {

class QemuProcess {
 public:
  QemuProcess(const std::vector<std::string>& args, const std::string& dir)
      : child_(start(args, dir + "/qemu.log")) {}

  void signal(int sig) const { ::kill(child_.pid(), sig); }

  // The exit status once QEMU exits within `limit`.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (!child_.wait_for(limit)) {
      return std::nullopt;
    }
    return child_.status();
  }

 private:
  static daemon::ChildProcess start(const std::vector<std::string>& args, const std::string& log) {
    auto child = daemon::ChildProcess::spawn(args, log);
    INFO(log);
    REQUIRE_MESSAGE(child.has_value(), (child ? std::string() : child.error()));
    return std::move(*child);
  }

  daemon::ChildProcess child_;
};

}  // namespace qmd::qmp::testing
