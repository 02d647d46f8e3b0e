#pragma once
// The dnsmasq configuration of the managed network, as libvirt writes its own: bound to the
// bridge alone (bind-dynamic, never lo), DHCP only for the static leases qmd keeps (a MAC
// without a lease gets no address), the host's resolv.conf left alone, and DNS forwarded
// to the host's resolvers unless network.nat.dns is off.
#include <string>

#include "daemon/network/cidr.hpp"

namespace qmd::daemon::network {

struct DnsmasqPlan {
  std::string bridge;
  Ipv4Cidr cidr;
  bool dns = true;
  std::string pid_file;
  std::string hosts_file;  // --dhcp-hostsfile: dhcp_hosts_text(), re-read on SIGHUP
  std::string lease_file;
};

std::string dnsmasq_conf(const DnsmasqPlan& plan);

}  // namespace qmd::daemon::network
