#pragma once
// QEMU's answer on its QMP socket for a blocking caller (`qmctl trial`, the host-setup test):
// qmp/'s QmpClient on an io_context of this call's own, connected once QEMU listens, asked
// query-status, then told to quit; one deadline bounds it all.
#include <chrono>
#include <expected>
#include <functional>
#include <string>

namespace qmd::trial {

struct QmpStatus {
  std::string status;        // query-status "status": "prelaunch", "running", ...
  std::string qemu_version;  // from the greeting: "7.2.0"
};

// Connects to the QMP socket at `path`, trying again while QEMU has not bound it yet (until
// `timeout` passes or `still_alive` says QEMU is gone), asks query-status, sends quit and
// waits for its reply. The error names the step.
std::expected<QmpStatus, std::string> query_status_and_quit(
    const std::string& path, std::chrono::milliseconds timeout,
    const std::function<bool()>& still_alive);

}  // namespace qmd::trial
