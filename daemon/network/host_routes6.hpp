#pragma once
// The host's IPv6 routes (/proc/net/ipv6_route) and the two checks a network with IPv6
// makes before it comes up: its prefix clashes with no route elsewhere, and turning on IPv6
// forwarding (for NAT66) would not cost the host its own default route. With forwarding on,
// Linux ignores router advertisements on every interface whose accept_ra is 1, so a host
// that got its default route by RA would lose it when the route expires.
#include <optional>
#include <string>
#include <vector>

#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

struct HostRoute6 {
  std::string device;
  Ipv6Address destination{};
  int prefix = 0;
  bool from_ra = false;  // learnt from a router advertisement (RTF_ADDRCONF)
  bool operator==(const HostRoute6&) const = default;
};

std::vector<HostRoute6> parse_proc_net_ipv6_route(const std::string& text);
// The first route (not a default route, not through `own_bridge`, not local or multicast)
// that overlaps `prefix`.
std::optional<HostRoute6> clashing_route6(const Ipv6Prefix& prefix,
                                          const std::vector<HostRoute6>& routes,
                                          const std::string& own_bridge);
// The interfaces the host's default routes came in on by router advertisement.
std::vector<std::string> ra_default_devices(const std::vector<HostRoute6>& routes);
// Reads /proc/net/ipv6_route (blocking: a pool thread).
std::vector<HostRoute6> read_host_routes6();

}  // namespace qmd::daemon::network
