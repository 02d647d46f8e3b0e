#pragma once
// Host ports for interfaces[].ports. Each forward gets its guest port's own number on the
// host when nothing holds it (no other VM of this qmd, and a bind succeeds), else the first
// free port of qmd.yaml's network.ports.range; with no range, a taken port is an error that
// names the VM, the interface and the port. Probing binds sockets: run it on the blocking
// pool, never on the loop thread.
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daemon/host/port_range.hpp"
#include "policy/port_forward.hpp"

namespace qmd::daemon {

// The host ports running VMs forward: (protocol, host port) -> "VM vm1 (interface default)".
using HeldPorts = std::map<std::pair<std::string, std::uint16_t>, std::string>;

// Whether `port` (TCP or UDP) can be bound on every address now; the error is the bind's.
std::expected<void, std::string> probe_host_port(const std::string& protocol,
                                                 std::uint16_t port);

// Host ports for `wanted` (host_port = guest port) of VM `vm`: blocking (it probes).
std::expected<std::vector<policy::PortForward>, std::string> allocate_host_ports(
    const std::string& vm, std::vector<policy::PortForward> wanted, const PortRange& range,
    const HeldPorts& held);

}  // namespace qmd::daemon
