#include <doctest/doctest.h>

#include "daemon/network/cidr.hpp"

using namespace qmd::daemon::network;

TEST_CASE("an IPv4 address is four decimal octets and nothing else") {
  CHECK(parse_ipv4("10.91.0.7") == 0x0a5b0007u);
  CHECK(parse_ipv4("255.255.255.255") == 0xffffffffu);
  CHECK(parse_ipv4("0.0.0.0") == 0u);
  for (const char* bad : {"", "10.91.0", "10.91.0.7.1", "10.91.0.256", "10.91.0.07", "10.91.0.-1",
                          "10.91.0.7 ", "a.b.c.d", "10..0.7"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_ipv4(bad).has_value());
  }
  CHECK(format_ipv4(0x0a5b0007u) == "10.91.0.7");
}

TEST_CASE("a CIDR: network, gateway, broadcast, mask") {
  auto cidr = parse_cidr("10.91.0.0/24");
  REQUIRE(cidr);
  CHECK(format_cidr(*cidr) == "10.91.0.0/24");
  CHECK(format_ipv4(cidr->gateway()) == "10.91.0.1");
  CHECK(format_ipv4(cidr->broadcast()) == "10.91.0.255");
  CHECK(netmask_text(*cidr) == "255.255.255.0");
  CHECK(gateway_with_prefix(*cidr) == "10.91.0.1/24");
  CHECK(cidr->contains(*parse_ipv4("10.91.0.200")));
  CHECK_FALSE(cidr->contains(*parse_ipv4("10.91.1.1")));
  CHECK(parse_cidr("0.0.0.0/0")->mask() == 0u);
}

TEST_CASE("a bad CIDR says what is wrong") {
  CHECK(parse_cidr("10.91.0.1/24").error() ==
        "\"10.91.0.1/24\" has host bits set; the network is 10.91.0.0/24");
  CHECK(parse_cidr("10.91.0.0").error() ==
        "\"10.91.0.0\" is not an IPv4 CIDR such as 10.91.0.0/24");
  for (const char* bad : {"10.91.0.0/", "10.91.0.0/33", "10.91.0.0/-1", "10.91.0.0/2x", "/24"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_cidr(bad).has_value());
  }
}

TEST_CASE("overlap: either contains the other") {
  const auto a = *parse_cidr("10.91.0.0/24");
  CHECK(overlaps(a, *parse_cidr("10.0.0.0/8")));
  CHECK(overlaps(*parse_cidr("10.0.0.0/8"), a));
  CHECK(overlaps(a, *parse_cidr("10.91.0.128/25")));
  CHECK(overlaps(a, *parse_cidr("0.0.0.0/0")));  // a default route overlaps everything
  CHECK_FALSE(overlaps(a, *parse_cidr("10.91.1.0/24")));
  CHECK_FALSE(overlaps(a, *parse_cidr("192.168.122.0/24")));
}
