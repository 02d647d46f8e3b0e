#include "daemon/network/host_routes6.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace qmd::daemon::network {

namespace {

constexpr unsigned long kRtfAddrconf = 0x00040000;  // linux/ipv6_route.h

std::optional<Ipv6Address> hex_address(const std::string& text) {
  if (text.size() != 32) {
    return std::nullopt;
  }
  Ipv6Address out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto [next, ec] = std::from_chars(text.data() + i * 2, text.data() + i * 2 + 2, out[i], 16);
    if (ec != std::errc{} || next != text.data() + i * 2 + 2) {
      return std::nullopt;
    }
  }
  return out;
}

bool same_bits(const Ipv6Address& a, const Ipv6Address& b, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int mask = 0x80 >> (i % 8);
    if ((a[i / 8] & mask) != (b[i / 8] & mask)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<HostRoute6> parse_proc_net_ipv6_route(const std::string& text) {
  std::vector<HostRoute6> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string dest, dest_len, src, src_len, next_hop, metric, refcnt, use, flags, device;
    if (!(fields >> dest >> dest_len >> src >> src_len >> next_hop >> metric >> refcnt >> use >>
          flags >> device)) {
      continue;
    }
    const auto address = hex_address(dest);
    int prefix = -1;
    unsigned long bits = 0;
    const auto len_ok = std::from_chars(dest_len.data(), dest_len.data() + dest_len.size(),
                                        prefix, 16);
    const auto flags_ok = std::from_chars(flags.data(), flags.data() + flags.size(), bits, 16);
    if (!address || len_ok.ec != std::errc{} || flags_ok.ec != std::errc{} || prefix < 0 ||
        prefix > 128) {
      continue;
    }
    out.push_back({device, *address, prefix, (bits & kRtfAddrconf) != 0});
  }
  return out;
}

std::optional<HostRoute6> clashing_route6(const Ipv6Prefix& prefix,
                                          const std::vector<HostRoute6>& routes,
                                          const std::string& own_bridge) {
  for (const auto& route : routes) {
    const bool special = route.destination[0] == 0xff || route.device == "lo";
    if (route.prefix == 0 || special || route.device == own_bridge) {
      continue;
    }
    if (same_bits(prefix.network, route.destination, std::min(prefix.prefix, route.prefix))) {
      return route;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ra_default_devices(const std::vector<HostRoute6>& routes) {
  std::vector<std::string> out;
  for (const auto& route : routes) {
    if (route.prefix == 0 && route.from_ra && std::ranges::find(out, route.device) == out.end()) {
      out.push_back(route.device);
    }
  }
  return out;
}

std::vector<HostRoute6> read_host_routes6() {
  std::ifstream in("/proc/net/ipv6_route");
  std::stringstream text;
  text << in.rdbuf();
  return parse_proc_net_ipv6_route(text.str());
}

}  // namespace qmd::daemon::network
