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
