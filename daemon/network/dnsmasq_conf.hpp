#pragma once
// The dnsmasq configuration of the managed network, as libvirt writes its own: bound to the
// bridge alone (bind-dynamic, never lo), DHCP only for the static leases qmd keeps (a MAC
// without a lease gets no address), the host's resolv.conf left alone, and DNS forwarded
// to the host's resolvers unless network.nat.dns is off.
#include <string>

#include <optional>

#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

struct DnsmasqPlan {
  std::string bridge;
  Ipv4Cidr cidr;
  bool dns = true;
  std::string pid_file;
  std::string hosts_file;  // --dhcp-hostsfile: dhcp_hosts_text(), re-read on SIGHUP
  std::string lease_file;
  // DHCPv6 for the static leases only, and router advertisements with the M flag and the
  // prefix on-link but not autonomous: a guest takes its lease, not a SLAAC address of its
  // own making (which its guard would drop).
  std::optional<Ipv6Prefix> ipv6{};
  // Whether the advertisements offer the bridge as a default router (router lifetime 0
  // otherwise): a bridge network without NAT routes nothing beyond the link.
  bool ipv6_router = true;
};

std::string dnsmasq_conf(const DnsmasqPlan& plan);

}  // namespace qmd::daemon::network
