#pragma once
// The host's IPv4 routes (/proc/net/route, the main table) and the check that the managed
// network's CIDR clashes with none of them: guests on a CIDR the host already routes
// elsewhere could not reach that network, and the host would send their replies astray.
#include <optional>
#include <string>
#include <vector>

#include "daemon/network/cidr.hpp"

namespace qmd::daemon::network {

struct HostRoute {
  std::string device;
  Ipv4Cidr destination;
  bool operator==(const HostRoute&) const = default;
};

// /proc/net/route's text: addresses in hex, in the kernel's (network) byte order.
std::vector<HostRoute> parse_proc_net_route(const std::string& text);
// The first route that overlaps `cidr`, leaving out default routes (they overlap
// everything and clash with nothing) and routes through `own_bridge` (the network's own).
std::optional<HostRoute> clashing_route(const Ipv4Cidr& cidr, const std::vector<HostRoute>& routes,
                                        const std::string& own_bridge);
// Reads /proc/net/route (blocking: a pool thread).
std::vector<HostRoute> read_host_routes();

}  // namespace qmd::daemon::network
