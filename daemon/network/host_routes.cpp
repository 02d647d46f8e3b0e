#include "daemon/network/host_routes.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

namespace qmd::daemon::network {

namespace {

std::optional<std::uint32_t> hex_address(const std::string& text) {
  if (text.size() != 8 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return std::nullopt;
  }
  return ntohl(static_cast<std::uint32_t>(std::stoul(text, nullptr, 16)));
}

int prefix_of(std::uint32_t mask) {
  int bits = 0;
  while (bits < 32 && (mask & (0x80000000u >> bits)) != 0) {
    ++bits;
  }
  return bits;
}

}  // namespace

std::vector<HostRoute> parse_proc_net_route(const std::string& text) {
  std::vector<HostRoute> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string device, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> device >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) {
      continue;
    }
    const auto dest = hex_address(destination);
    const auto netmask = hex_address(mask);
    if (!dest || !netmask) {
      continue;
    }
    const int prefix = prefix_of(*netmask);
    out.push_back({device, Ipv4Cidr{*dest & Ipv4Cidr{0, prefix}.mask(), prefix}});
  }
  return out;
}

std::optional<HostRoute> clashing_route(const Ipv4Cidr& cidr, const std::vector<HostRoute>& routes,
                                        const std::string& own_bridge) {
  for (const auto& route : routes) {
    if (route.destination.prefix > 0 && route.device != own_bridge &&
        overlaps(cidr, route.destination)) {
      return route;
    }
  }
  return std::nullopt;
}

std::vector<HostRoute> read_host_routes() {
  std::ifstream in("/proc/net/route");
  std::stringstream text;
  text << in.rdbuf();
  return parse_proc_net_route(text.str());
}

}  // namespace qmd::daemon::network
