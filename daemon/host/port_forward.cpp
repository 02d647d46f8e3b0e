#include "daemon/host/port_forward.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "base/unique_fd.hpp"
#include "daemon/host/port_hold.hpp"

namespace qmd::daemon {

namespace {

using policy::PortForward;
using Key = std::pair<std::string, std::uint16_t>;

std::string where(const std::string& vm, const PortForward& f) {
  return fmt::format("VM {} (interface {})", vm, f.interface);
}

// A free port of `range` for `protocol`, skipping what is held or taken in this allocation.
std::expected<std::uint16_t, std::string> from_range(const std::string& protocol,
                                                     const PortRange& range,
                                                     const HeldPorts& held,
                                                     const std::set<Key>& mine) {
  std::string last = "every port is held by a VM";
  for (unsigned port = range.low; port <= range.high; ++port) {
    const Key key{protocol, static_cast<std::uint16_t>(port)};
    if (held.contains(key) || mine.contains(key)) {
      continue;
    }
    auto free = probe_host_port(protocol, key.second);
    if (free) {
      return key.second;
    }
    last = free.error();
  }
  return std::unexpected(fmt::format("no free {} port in network.ports.range {}-{} ({}); "
                                     "widen it in qmd.yaml",
                                     protocol, range.low, range.high, last));
}

}  // namespace

std::expected<void, std::string> probe_host_port(const std::string& protocol,
                                                 std::uint16_t port) {
  const int type = protocol == "UDP" ? SOCK_DGRAM : SOCK_STREAM;
  // IPv6 with v6only off covers IPv4 too, as QEMU's and passt's listeners do. Past
  // connections in TIME_WAIT do not hold a port, listeners do: SO_REUSEADDR for TCP. Not for
  // UDP: there it would share a port with another SO_REUSEADDR socket (slirp's) instead of
  // failing.
  auto fd = bound_dual_stack(type, port, type == SOCK_STREAM);
  if (!fd) {
    return std::unexpected(std::strerror(fd.error()));
  }
  return {};
}

constexpr std::uint16_t kFirstUnprivilegedPort = 1024;

std::expected<std::vector<PortForward>, std::string> allocate_host_ports(
    const std::string& vm, std::vector<PortForward> wanted, const PortRange& range,
    const HeldPorts& held) {
  std::set<Key> mine;
  for (auto& forward : wanted) {
    const Key own{forward.protocol, forward.guest_port};
    std::string why;
    if (forward.guest_port < kFirstUnprivilegedPort) {
      // QEMU and passt cannot bind it as the QEMU user, and a VM must not shadow a host
      // service that is down for a moment (sshd, a web server): privileged ports never.
      why = "ports below 1024 are the host's own";
    } else if (auto holder = held.find(own); holder != held.end()) {
      why = fmt::format("{} forwards it", holder->second);
    } else if (mine.contains(own)) {
      why = fmt::format("another interface of VM {} forwards it", vm);
    } else if (auto free = probe_host_port(forward.protocol, forward.guest_port); !free) {
      why = fmt::format("it cannot be bound on this host: {}", free.error());
    }
    if (why.empty()) {
      forward.host_port = forward.guest_port;
    } else if (range.low == 0) {
      return std::unexpected(fmt::format(
          "{}: host {} port {} for ports[] of the interface is taken ({}), and qmd.yaml has no "
          "network.ports.range to take another from; free the port, or set network: {{ports: "
          "{{range: \"20000-20999\"}}}}",
          where(vm, forward), forward.protocol, forward.guest_port, why));
    } else {
      auto picked = from_range(forward.protocol, range, held, mine);
      if (!picked) {
        return std::unexpected(fmt::format("{}: host {} port {} is taken ({}), and {}",
                                           where(vm, forward), forward.protocol,
                                           forward.guest_port, why, picked.error()));
      }
      forward.host_port = *picked;
    }
    mine.insert({forward.protocol, forward.host_port});
  }
  return wanted;
}

}  // namespace qmd::daemon
