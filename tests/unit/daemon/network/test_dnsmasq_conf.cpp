#include <doctest/doctest.h>

#include "daemon/network/dnsmasq_conf.hpp"

using namespace qmd::daemon::network;

TEST_CASE("dnsmasq: on the bridge only, static leases, DNS on the gateway") {
  DnsmasqPlan p{"qmd0", *parse_cidr("10.91.0.0/24"), true, "/run/qmd/network/dnsmasq.pid",
                "/run/qmd/network/dhcp-hosts", "/run/qmd/network/dnsmasq.leases"};
  CHECK(dnsmasq_conf(p) ==
        "# qmd's managed network on qmd0 (10.91.0.0/24): written by qmd at each start, edits "
        "are lost.\n"
        "strict-order\n"
        "pid-file=/run/qmd/network/dnsmasq.pid\n"
        "except-interface=lo\n"
        "bind-dynamic\n"
        "interface=qmd0\n"
        "no-hosts\n"
        "log-facility=-\n"
        "log-dhcp\n"
        "dhcp-range=10.91.0.0,static,255.255.255.0,1h\n"
        "dhcp-no-override\n"
        "dhcp-authoritative\n"
        "dhcp-ignore-names\n"
        "dhcp-ignore-clid\n"
        "dhcp-hostsfile=/run/qmd/network/dhcp-hosts\n"
        "dhcp-leasefile=/run/qmd/network/dnsmasq.leases\n"
        "dhcp-option=option:router,10.91.0.1\n"
        "dhcp-option=option:dns-server,10.91.0.1\n");
  p.dns = false;
  const auto no_dns = dnsmasq_conf(p);
  CHECK(no_dns.ends_with("dhcp-option=option:router,10.91.0.1\nport=0\n"
                         "dhcp-option=option:dns-server\n"));
}

TEST_CASE("dnsmasq with IPv6: DHCPv6 for the static leases, router advertisements, DNS") {
  DnsmasqPlan p{"qmd0", *parse_cidr("10.91.0.0/24"), true, "/run/qmd/network/dnsmasq.pid",
                "/run/qmd/network/dhcp-hosts", "/run/qmd/network/dnsmasq.leases"};
  const std::string v4 = dnsmasq_conf(p);
  p.ipv6 = *parse_ula_prefix("fd12:3456:789a:1::/64");
  // Without slaac the advertisements carry the M flag and the prefix without the A flag.
  CHECK(dnsmasq_conf(p) == v4 +
                               "dhcp-range=fd12:3456:789a:1::,static,64,1h\n"
                               "enable-ra\n"
                               "dhcp-option=option6:dns-server,[::]\n");
  // A bridge network without NAT: no default route over the bridge.
  p.ipv6_router = false;
  CHECK(dnsmasq_conf(p) == v4 +
                               "dhcp-range=fd12:3456:789a:1::,static,64,1h\n"
                               "enable-ra\n"
                               "ra-param=qmd0,60,0\n"
                               "dhcp-option=option6:dns-server,[::]\n");
  p.ipv6_router = true;
  p.dns = false;
  CHECK(dnsmasq_conf(p).ends_with("port=0\ndhcp-option=option:dns-server\n"
                                  "dhcp-range=fd12:3456:789a:1::,static,64,1h\nenable-ra\n"
                                  "dhcp-option=option6:dns-server\n"));
}
