#pragma once
// A tiny BLOCKING QMP exchange for `qmctl trial` and the integration tests: connect, read
// the greeting, qmp_capabilities, query-status, optionally quit — each step bounded.
// A deliberately small stand-in until issue 3's asynchronous qmp/ client lands; the daemon
// must not use it.
#include <chrono>
#include <expected>
#include <functional>
#include <string>

namespace qmd::trial {

struct QmpStatus {
  std::string status;        // query-status "status": "prelaunch", "running", ...
  std::string qemu_version;  // from the greeting: "7.2.0"
};

// Connects to the QMP socket at `path`, retrying until it accepts, `timeout` passes or
// `still_alive` says QEMU is gone; negotiates, asks query-status and, when `quit` is set,
// sends quit and waits for its reply. The whole exchange ends by `timeout`; errors name the
// step.
std::expected<QmpStatus, std::string> qmp_check(const std::string& path, bool quit,
                                                std::chrono::milliseconds timeout,
                                                const std::function<bool()>& still_alive);

}  // namespace qmd::trial
