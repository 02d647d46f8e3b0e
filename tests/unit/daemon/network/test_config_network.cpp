#include <doctest/doctest.h>
#include <unistd.h>

#include "daemon/config.hpp"

using qmd::daemon::Config;
using qmd::daemon::masquerade_mode;
using qmd::daemon::NetworkConfig;
using qmd::daemon::parse_config;

namespace {

std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}

}  // namespace

TEST_CASE("network: absent gives the documented defaults") {
  const Config c;
  CHECK_FALSE(c.network.masquerade.has_value());
  CHECK(c.network.nat.bridge == "qmd0");
  CHECK(c.network.nat.ipv4 == "10.91.0.0/24");
  CHECK(c.network.nat.dns == true);
  // Unset: nat for a root qmd, user (SLIRP) for anyone else.
  CHECK(masquerade_mode(c) == (::geteuid() == 0 ? NetworkConfig::Masquerade::nat
                                                : NetworkConfig::Masquerade::user));
}

TEST_CASE("network: every key read") {
  auto c = parse_config(
      "network:\n  masquerade: user\n  nat: {bridge: vmnat0, ipv4: 10.200.0.0/16, dns: false}\n",
      "qmd.yaml");
  REQUIRE(c);
  CHECK(c->network.masquerade == NetworkConfig::Masquerade::user);
  CHECK(masquerade_mode(*c) == NetworkConfig::Masquerade::user);
  CHECK(c->network.nat.bridge == "vmnat0");
  CHECK(c->network.nat.ipv4 == "10.200.0.0/16");
  CHECK(c->network.nat.dns == false);
  auto nat = parse_config("network: {masquerade: nat}\n", "qmd.yaml");
  REQUIRE(nat);
  CHECK(masquerade_mode(*nat) == NetworkConfig::Masquerade::nat);
}

TEST_CASE("network: bad values name the key, the value and what to write") {
  CHECK(errors_of("network: {masquerade: slirp}\n") ==
        "network.masquerade: \"slirp\" is not one of nat, user (qmd.yaml:1:23)\n");
  CHECK(errors_of("network:\n  nat: {ipv4: 10.91.0.1/24}\n") ==
        "network.nat.ipv4: \"10.91.0.1/24\" has host bits set; the network is 10.91.0.0/24 "
        "(qmd.yaml:2:15)\n");
  CHECK(errors_of("network:\n  nat: {ipv4: 10.91.0.0/30}\n") ==
        "network.nat.ipv4: 10.91.0.0/30: use a prefix from /16 to /29 (qmd.yaml:2:15)\n");
  CHECK(errors_of("network:\n  nat: {ipv4: 10.0.0.0/8}\n") ==
        "network.nat.ipv4: 10.0.0.0/8: use a prefix from /16 to /29 (qmd.yaml:2:15)\n");
  CHECK(errors_of("network:\n  nat: {bridge: a-name-far-too-long}\n") ==
        "network.nat.bridge: bridge \"a-name-far-too-long\" is 19 characters; a Linux "
        "interface name has 1 to 15 (qmd.yaml:2:17)\n");
  CHECK(errors_of("network: {nat: {bridg: x}}\n").find("bridg") != std::string::npos);
  CHECK(errors_of("bridges: {lan: qmd0}\n") ==
        "bridges.lan: qmd0 is the NAT network's bridge (network.nat.bridge), which only qmd's "
        "masquerade taps may join; name another bridge (qmd.yaml:1:16)\n");
  CHECK(errors_of("bridges: {lan: qmd0}\nnetwork: {nat: {bridge: vmnat}}\n").empty());
}

TEST_CASE("network.nat.ipv6: off by default; a unique local /64 or auto") {
  CHECK(Config{}.network.nat.ipv6.empty());
  auto c = parse_config("network:\n  nat: {ipv6: fd12:3456:789a:1::/64}\n", "qmd.yaml");
  REQUIRE(c);
  CHECK(c->network.nat.ipv6 == "fd12:3456:789a:1::/64");
  auto automatic = parse_config("network:\n  nat: {ipv6: auto}\n", "qmd.yaml");
  REQUIRE(automatic);
  CHECK(automatic->network.nat.ipv6 == "auto");
}

TEST_CASE("network.nat.ipv6: a global, a wrong-size or a malformed prefix names the place") {
  CHECK(errors_of("network:\n  nat: {ipv6: 2001:db8:1::/64}\n") ==
        "network.nat.ipv6: \"2001:db8:1::/64\" is not a unique local prefix (fd00::/8): "
        "NAT66 hides the guests behind the uplink's address; use a unique local /64 such as "
        "fd12:3456:789a:1::/64, or auto (qmd.yaml:2:15)\n");
  CHECK(errors_of("network:\n  nat: {ipv6: fd12:3456:789a::/48}\n") ==
        "network.nat.ipv6: \"fd12:3456:789a::/48\" is a /48, and a network qmd makes is one "
        "/64 link; use a unique local /64 such as fd12:3456:789a:1::/64, or auto "
        "(qmd.yaml:2:15)\n");
  CHECK(errors_of("network:\n  nat: {ipv6: yes}\n").find("network.nat.ipv6: \"yes\" has no "
                                                          "prefix length") == 0);
}
