#include "daemon/network/dnsmasq_conf.hpp"

#include <fmt/format.h>

namespace qmd::daemon::network {

std::string dnsmasq_conf(const DnsmasqPlan& p) {
  const std::string gateway = format_ipv4(p.cidr.gateway());
  std::string out = fmt::format(
      "# qmd's managed network on {} ({}): written by qmd at each start, edits are lost.\n"
      "strict-order\n"
      "pid-file={}\n"
      "except-interface=lo\n"
      "bind-dynamic\n"
      "interface={}\n"
      "no-hosts\n"
      "log-facility=-\n"
      "log-dhcp\n"
      "dhcp-range={},static,{},1h\n"
      "dhcp-no-override\n"
      "dhcp-authoritative\n"
      "dhcp-ignore-names\n"  // a guest may not name itself (wpad, another VM) in DNS
      "dhcp-ignore-clid\n"  // a client is its chaddr (which its guard checks), not a client id
      "dhcp-hostsfile={}\n"
      "dhcp-leasefile={}\n"
      "dhcp-option=option:router,{}\n",
      p.bridge, format_cidr(p.cidr), p.pid_file, p.bridge, format_ipv4(p.cidr.network),
      netmask_text(p.cidr), p.hosts_file, p.lease_file, gateway);
  if (p.dns) {
    out += fmt::format("dhcp-option=option:dns-server,{}\n", gateway);
  } else {
    out += "port=0\n";  // no DNS server at all, and none offered to the guests
    out += "dhcp-option=option:dns-server\n";
  }
  if (p.ipv6) {
    out += fmt::format("dhcp-range={},static,{},1h\n", format_ipv6(p.ipv6->network),
                       p.ipv6->prefix);
    out += "enable-ra\n";
    if (!p.ipv6_router) {
      out += fmt::format("ra-param={},60,0\n", p.bridge);
    }
    // [::]: the bridge's own address; empty: none (as for IPv4).
    out += p.dns ? "dhcp-option=option6:dns-server,[::]\n" : "dhcp-option=option6:dns-server\n";
  }
  return out;
}

}  // namespace qmd::daemon::network
