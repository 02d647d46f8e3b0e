#pragma once
// A host port forwarded by DNAT (the NAT network's interfaces[].ports) belongs to no process:
// nftables rewrites the packets before any socket sees them. Left unbound, a host service
// that was down when the VM started could not bind it again once back, or a service binding
// it first would be shadowed by the VM. qmd holds a socket bound to the port (every address,
// IPv4 and IPv6) for the run: bound only, when it can be (a connection to it is refused),
// else listening. Blocking only as much as socket(2) and bind(2).
#include <cstdint>
#include <expected>
#include <string>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

// A socket (SOCK_STREAM or SOCK_DGRAM) bound to `port` on every address, IPv4 and IPv6;
// `reuse`: SO_REUSEADDR first. The error is the errno.
std::expected<UniqueFd, int> bound_dual_stack(int type, std::uint16_t port, bool reuse);

// `protocol` is "TCP" or "UDP". The error names the protocol, the port and the bind's error.
std::expected<UniqueFd, std::string> hold_host_port(const std::string& protocol,
                                                    std::uint16_t port);

}  // namespace qmd::daemon
