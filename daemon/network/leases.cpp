#include "daemon/network/leases.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace qmd::daemon::network {

std::optional<std::string> canonical_mac(const std::string& text) {
  if (text.size() != 17) {
    return std::nullopt;
  }
  std::string out = text;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool colon = i % 3 == 2;
    if (colon ? out[i] != ':' : !std::isxdigit(static_cast<unsigned char>(out[i]))) {
      return std::nullopt;
    }
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

LeaseTable LeaseTable::parse(const std::string& text, const Ipv4Cidr& cidr) {
  LeaseTable table;
  std::istringstream in(text);
  std::set<std::uint32_t> taken;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string vm, interface, mac, address, extra;
    if (!(words >> vm >> interface >> mac >> address) || (words >> extra)) {
      continue;
    }
    const auto ip = parse_ipv4(address);
    const auto canonical = canonical_mac(mac);
    if (!ip || !canonical || !cidr.contains(*ip) || *ip <= cidr.gateway() ||
        *ip >= cidr.broadcast() || !taken.insert(*ip).second) {
      continue;
    }
    table.leases_.push_back({vm, interface, *canonical, *ip});
  }
  return table;
}

std::string LeaseTable::to_text() const {
  std::string out;
  for (const auto& l : leases_) {
    out += fmt::format("{} {} {} {}\n", l.vm, l.interface, l.mac, format_ipv4(l.ipv4));
  }
  return out;
}

std::expected<Lease, std::string> LeaseTable::assign(const std::string& vm,
                                                     const std::string& interface,
                                                     const std::string& mac,
                                                     const Ipv4Cidr& cidr) {
  const auto canonical = canonical_mac(mac);
  if (!canonical) {
    return std::unexpected(fmt::format("VM {} interface {}: \"{}\" is not a MAC address", vm,
                                       interface, mac));
  }
  for (const auto& l : leases_) {
    if (l.mac == *canonical && (l.vm != vm || l.interface != interface)) {
      return std::unexpected(fmt::format(
          "VM {} interface {}: MAC {} is VM {}'s (interface {}) on the NAT network already; "
          "give one of them another macAddress",
          vm, interface, *canonical, l.vm, l.interface));
    }
  }
  for (auto& l : leases_) {
    if (l.vm == vm && l.interface == interface) {
      l.mac = *canonical;
      return l;
    }
  }
  std::set<std::uint32_t> taken;
  for (const auto& l : leases_) {
    taken.insert(l.ipv4);
  }
  for (std::uint32_t ip = cidr.gateway() + 1; ip < cidr.broadcast(); ++ip) {
    if (!taken.contains(ip)) {
      leases_.push_back({vm, interface, *canonical, ip});
      return leases_.back();
    }
  }
  return std::unexpected(fmt::format("the NAT network {} has no free address left for VM {} "
                                     "({} leases); delete VMs or widen network.nat.ipv4",
                                     format_cidr(cidr), vm, leases_.size()));
}

bool LeaseTable::release(const std::string& vm) {
  return std::erase_if(leases_, [&vm](const Lease& l) { return l.vm == vm; }) > 0;
}

bool LeaseTable::release(const std::string& vm, const std::string& interface) {
  return std::erase_if(leases_, [&](const Lease& l) {
           return l.vm == vm && l.interface == interface;
         }) > 0;
}

std::string dhcp_hosts_text(const std::vector<Lease>& leases) {
  std::string out;
  std::set<std::string> named;
  for (const auto& l : leases) {
    out += fmt::format("{},{}", l.mac, format_ipv4(l.ipv4));
    if (l.ipv6) {
      out += fmt::format(",[{}]", format_ipv6(*l.ipv6));
    }
    out += named.insert(l.vm).second ? fmt::format(",{}\n", l.vm) : std::string("\n");
  }
  return out;
}

}  // namespace qmd::daemon::network
