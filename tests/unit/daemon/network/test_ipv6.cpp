#include <doctest/doctest.h>

#include "daemon/network/ipv6.hpp"

using namespace qmd::daemon::network;

TEST_CASE("a unique local /64 is read; its gateway and guests are in it") {
  const auto p = parse_ula_prefix("fd12:3456:789a:1::/64");
  REQUIRE(p);
  CHECK(format_prefix(*p) == "fd12:3456:789a:1::/64");
  CHECK(ipv6_gateway_with_prefix(*p) == "fd12:3456:789a:1::1/64");
  CHECK(format_ipv6(address_in(*p, 7)) == "fd12:3456:789a:1::7");
  CHECK(format_ipv6(address_in(*p, 0x1fe)) == "fd12:3456:789a:1::1fe");
  CHECK(nft_number(address_in(*p, 2)) == "0xfd123456789a00010000000000000002");
}

TEST_CASE("anything but a unique local /64 without host bits is refused, saying why") {
  const auto why = [](const char* text) {
    auto p = parse_ula_prefix(text);
    REQUIRE_FALSE(p);
    return p.error();
  };
  CHECK(why("2001:db8::/64") ==
        "\"2001:db8::/64\" is not a unique local prefix (fd00::/8): NAT66 hides the guests "
        "behind the uplink's address; use a unique local /64 such as fd12:3456:789a:1::/64, "
        "or auto");
  CHECK(why("fc00:1::/64").find("is not a unique local prefix") != std::string::npos);
  CHECK(why("fd12:3456:789a::/48") ==
        "\"fd12:3456:789a::/48\" is a /48, and a network qmd makes is one /64 link; use a "
        "unique local /64 such as fd12:3456:789a:1::/64, or auto");
  CHECK(why("fd12:3456:789a:1::5/64").find("has host bits set") != std::string::npos);
  CHECK(why("fd12:3456:789a:1::").find("has no prefix length") != std::string::npos);
  CHECK(why("fd12::zz/64").find("is not an IPv6 prefix") != std::string::npos);
  CHECK(why("fd12::/6x").find("is not an IPv6 prefix") != std::string::npos);
  CHECK(why("10.91.0.0/24").find("is not an IPv6 prefix") != std::string::npos);
}

TEST_CASE("a guest's link-local address is the modified EUI-64 of its MAC") {
  CHECK(format_ipv6(link_local_of("02:00:00:5a:00:01")) == "fe80::ff:fe5a:1");
  CHECK(format_ipv6(link_local_of("52:54:00:12:34:56")) == "fe80::5054:ff:fe12:3456");
}

TEST_CASE("auto: fd, the 40-bit global ID, subnet 0 (RFC 4193)") {
  const auto p = ula_prefix_from({0x12, 0x34, 0x56, 0x78, 0x9a});
  CHECK(format_prefix(p) == "fd12:3456:789a::/64");
  CHECK(parse_ula_prefix(format_prefix(p)) == p);
}
