#include "daemon/runtime/tap_fds.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "devices/props.hpp"

namespace qmd::daemon {

devices::TapFds fd_numbers(const TapQueues& opened) {
  devices::TapFds out;
  for (const auto& fd : opened.queues) {
    out.queues.push_back(std::to_string(fd.get()));
  }
  for (const auto& fd : opened.vhost) {
    out.vhost.push_back(std::to_string(fd.get()));
  }
  return out;
}

std::expected<std::vector<std::string>, std::string> with_tap_fds(
    const std::vector<std::string>& args, const std::vector<cmdline::TapPlan>& taps,
    const std::vector<devices::TapFds>& fds) {
  std::vector<std::string> out = args;
  for (std::size_t t = 0; t < taps.size() && t < fds.size(); ++t) {
    const std::string by_name = devices::keyval(taps[t].netdev);
    bool found = false;
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
      if (out[i] == "-netdev" && out[i + 1] == by_name) {
        out[i + 1] = devices::keyval(devices::with_tap_fds(taps[t].netdev, fds[t]));
        found = true;
        break;
      }
    }
    if (!found) {
      return std::unexpected(fmt::format("interface {}: its -netdev ({}) is not in QEMU's argv",
                                         taps[t].interface, by_name));
    }
  }
  return out;
}

}  // namespace qmd::daemon
