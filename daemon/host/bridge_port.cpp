#include "daemon/host/bridge_port.hpp"

#include <net/if.h>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

namespace fs = std::filesystem;

std::optional<std::string> bridge_of(const std::string& interface) {
  if (interface.empty() || interface.find('/') != std::string::npos) {
    return std::nullopt;
  }
  std::error_code ec;
  const fs::path master = fs::read_symlink("/sys/class/net/" + interface + "/master", ec);
  if (ec) {
    return std::nullopt;
  }
  return master.filename().string();
}

std::vector<std::string> bridge_ports(const std::string& bridge) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/class/net/" + bridge + "/brif", ec)) {
    out.push_back(entry.path().filename().string());
  }
  std::ranges::sort(out);
  return out;
}

std::expected<void, std::string> leave_bridge(const std::string& interface) {
  const auto bridge = bridge_of(interface);
  if (!bridge) {
    return {};
  }
  UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (control.get() < 0) {
    return std::unexpected(fmt::format("{}: socket: {}", interface, std::strerror(errno)));
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, bridge->c_str(), IFNAMSIZ - 1);
  ifr.ifr_ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
  if (ifr.ifr_ifindex == 0 || ::ioctl(control.get(), SIOCBRDELIF, &ifr) != 0) {
    return std::unexpected(fmt::format("{}: leave bridge {}: {}", interface, *bridge,
                                       std::strerror(errno)));
  }
  return {};
}

bool is_qmd_tap_name(const std::string& name) {
  constexpr std::size_t kDigits = 8;
  if (name.size() != 4 + kDigits || !name.starts_with("tap-")) {
    return false;
  }
  return std::ranges::all_of(name.substr(4), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::expected<void, std::string> check_tap_binding(const std::string& interface,
                                                   const std::string& tap,
                                                   const std::vector<std::string>& managed) {
  if (is_qmd_tap_name(tap)) {
    return std::unexpected(fmt::format(
        "interface {}: tap {} has the form of the taps qmd makes for its VMs (tap- and 8 hex "
        "digits), which a tap binding may not open; name a tap of your own",
        interface, tap));
  }
  const auto bridge = bridge_of(tap);
  if (bridge && std::ranges::find(managed, *bridge) != managed.end()) {
    return std::unexpected(fmt::format(
        "interface {}: tap {} is a port of bridge {}, which qmd manages: a tap binding may "
        "not open it; name a tap of your own that is on none of qmd's bridges",
        interface, tap, *bridge));
  }
  return {};
}

}  // namespace qmd::daemon
