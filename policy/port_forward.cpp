#include "policy/port_forward.hpp"

#include <algorithm>

namespace qmd::policy {

std::vector<PortForward> wanted_forwards(const VmSpec& spec) {
  std::vector<PortForward> out;
  for (const auto& nic : spec.domain.devices.interfaces) {
    for (const auto& port : nic.ports) {
      if (port.port < 1 || port.port > 65535) {
        continue;
      }
      const auto number = static_cast<std::uint16_t>(port.port);
      out.push_back({nic.name, port.name.value_or(""), port.protocol, number, number});
    }
  }
  return out;
}

std::vector<PortForward> interface_forwards(const VmSpec& spec, const std::string& iface,
                                            const std::vector<PortForward>& chosen) {
  std::vector<PortForward> out;
  for (auto wanted : wanted_forwards(spec)) {
    if (wanted.interface != iface) {
      continue;
    }
    const auto same = std::ranges::find_if(chosen, [&](const PortForward& c) {
      return c.interface == wanted.interface && c.protocol == wanted.protocol &&
             c.guest_port == wanted.guest_port;
    });
    if (same != chosen.end()) {
      wanted.host_port = same->host_port;
    }
    out.push_back(std::move(wanted));
  }
  return out;
}

}  // namespace qmd::policy
