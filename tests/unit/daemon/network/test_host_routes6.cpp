#include <doctest/doctest.h>

#include "daemon/network/host_routes6.hpp"

using namespace qmd::daemon::network;

namespace {
// A real /proc/net/ipv6_route: eth0's prefix from an RA, its default route from the same RA
// (RTF_ADDRCONF 0x40000), a static one on wg0, link-local, loopback and multicast.
const char* kRoutes =
    "20010db8000000010000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00040001     eth0\n"
    "fd998877665544330000000000000000 30 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000400 00000001 00000000 00000001      wg0\n"
    "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fe80000000000000021122fffe334455 00000400 00000001 00000000 00050003     eth0\n"
    "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo\n"
    "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000004 00000000 00000001     eth0\n";
}  // namespace

TEST_CASE("/proc/net/ipv6_route: prefixes, devices, and which came by RA") {
  const auto routes = parse_proc_net_ipv6_route(kRoutes);
  REQUIRE(routes.size() == 6);
  CHECK(routes[0].device == "eth0");
  CHECK(format_ipv6(routes[0].destination) == "2001:db8:0:1::");
  CHECK(routes[0].prefix == 64);
  CHECK(routes[0].from_ra);
  CHECK(routes[1].prefix == 48);
  CHECK_FALSE(routes[1].from_ra);
  CHECK(parse_proc_net_ipv6_route("short line\n").empty());
}

TEST_CASE("a prefix clashes with a route that overlaps it, not with default, local or its own") {
  const auto routes = parse_proc_net_ipv6_route(kRoutes);
  const auto clash = clashing_route6(*parse_ula_prefix("fd99:8877:6655:1::/64"), routes, "qmd0");
  REQUIRE(clash);
  CHECK(clash->device == "wg0");
  CHECK_FALSE(clashing_route6(*parse_ula_prefix("fd12:3456:789a:1::/64"), routes, "qmd0"));
  CHECK_FALSE(clashing_route6(*parse_ula_prefix("fd99:8877:6655:1::/64"), routes, "wg0"));
}

TEST_CASE("the interfaces whose default route came by router advertisement") {
  CHECK(ra_default_devices(parse_proc_net_ipv6_route(kRoutes)) ==
        std::vector<std::string>{"eth0"});
  CHECK(ra_default_devices({}).empty());
}
