#include <doctest/doctest.h>

#include "daemon/network/host_routes.hpp"

using namespace qmd::daemon::network;

namespace {
// A real /proc/net/route: a default route, the LAN, docker and libvirt.
const char* kRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    "virbr0\t007AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "qmd0\t00005B0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
}  // namespace

TEST_CASE("/proc/net/route: network byte order, masks as prefixes") {
  const auto routes = parse_proc_net_route(kRoutes);
  REQUIRE(routes.size() == 5);
  CHECK(routes[0] == HostRoute{"eth0", *parse_cidr("0.0.0.0/0")});
  CHECK(routes[1] == HostRoute{"eth0", *parse_cidr("192.168.2.0/24")});
  CHECK(routes[2] == HostRoute{"docker0", *parse_cidr("172.17.0.0/16")});
  CHECK(routes[3] == HostRoute{"virbr0", *parse_cidr("192.168.122.0/24")});
  CHECK(parse_proc_net_route("").empty());
  CHECK(parse_proc_net_route("header\nshort line\n").empty());
}

TEST_CASE("a CIDR clashes with a route that overlaps it, not with the default or its own") {
  const auto routes = parse_proc_net_route(kRoutes);
  CHECK_FALSE(clashing_route(*parse_cidr("10.91.0.0/24"), routes, "qmd0"));
  CHECK(clashing_route(*parse_cidr("10.91.0.0/24"), routes, "other") ==
        HostRoute{"qmd0", *parse_cidr("10.91.0.0/24")});
  CHECK(clashing_route(*parse_cidr("172.17.5.0/24"), routes, "qmd0") ==
        HostRoute{"docker0", *parse_cidr("172.17.0.0/16")});
  CHECK(clashing_route(*parse_cidr("192.168.0.0/16"), routes, "qmd0") ==
        HostRoute{"eth0", *parse_cidr("192.168.2.0/24")});
}
