#include <doctest/doctest.h>

#include "daemon/config.hpp"

using qmd::daemon::Config;
using qmd::daemon::ManagedBridgeConfig;
using qmd::daemon::parse_config;

namespace {

std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}

}  // namespace

TEST_CASE("bridges: a host bridge and a bridge qmd makes, side by side") {
  auto c = parse_config(
      "bridges:\n"
      "  lan: br0\n"
      "  lab:\n"
      "    bridge: qmdlab\n"
      "    ipv4: 10.92.0.0/24\n"
      "    dhcp: true\n"
      "    nat: false\n"
      "  l2: {bridge: qmdl2}\n",
      "qmd.yaml");
  REQUIRE(c);
  CHECK(c->bridges == std::map<std::string, std::string>{
                          {"lan", "br0"}, {"lab", "qmdlab"}, {"l2", "qmdl2"}});
  REQUIRE(c->managed_bridges.size() == 2);
  const ManagedBridgeConfig& lab = c->managed_bridges.at("lab");
  CHECK(lab.bridge == "qmdlab");
  CHECK(lab.ipv4 == "10.92.0.0/24");
  CHECK(lab.dhcp);
  CHECK(lab.dns);  // follows dhcp
  CHECK_FALSE(lab.nat);
  CHECK(lab.bridge_at == "qmd.yaml:4:13");
  CHECK(lab.ipv4_at == "qmd.yaml:5:11");
  // Without ipv4: a plain L2 bridge, no DHCP, DNS or NAT.
  const ManagedBridgeConfig& l2 = c->managed_bridges.at("l2");
  CHECK(l2.ipv4.empty());
  CHECK_FALSE(l2.dhcp);
  CHECK_FALSE(l2.dns);
  CHECK_FALSE(l2.nat);
  // With ipv4 and nothing else: DHCP and DNS on, NAT off.
  auto d = parse_config("bridges: {lab: {bridge: qmdlab, ipv4: 10.92.0.0/24}}\n", "qmd.yaml");
  REQUIRE(d);
  CHECK(d->managed_bridges.at("lab").dhcp);
  CHECK_FALSE(d->managed_bridges.at("lab").nat);
}

TEST_CASE("bridges: a bad CIDR, a missing bridge, an unknown key name the key and place") {
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, ipv4: 10.92.0.1/24}\n") ==
        "bridges.lab.ipv4: \"10.92.0.1/24\" has host bits set; the network is 10.92.0.0/24 "
        "(qmd.yaml:2:31)\n");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, ipv4: 10.92.0.0/30}\n") ==
        "bridges.lab.ipv4: 10.92.0.0/30: use a prefix from /16 to /29 (qmd.yaml:2:31)\n");
  CHECK(errors_of("bridges:\n  lab: {ipv4: 10.92.0.0/24}\n").find("bridges.lab.bridge") !=
        std::string::npos);
  CHECK(errors_of("bridges:\n  lab: {bridge: a-name-far-too-long}\n") ==
        "bridges.lab.bridge: bridge \"a-name-far-too-long\" is 19 characters; a Linux "
        "interface name has 1 to 15 (qmd.yaml:2:17)\n");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, dchp: true}\n").find("dchp") !=
        std::string::npos);
}

TEST_CASE("bridges: DHCP and NAT need the bridge's own network") {
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, dhcp: true}\n") ==
        "bridges.lab.dhcp: DHCP needs the bridge's own network: set ipv4 too (qmd.yaml:2:31)\n");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, nat: true}\n") ==
        "bridges.lab.nat: NAT needs the bridge's own network: set ipv4 too (qmd.yaml:2:30)\n");
}

TEST_CASE("bridges: a CIDR that overlaps the NAT network's or another bridge's is refused") {
  CHECK(errors_of("network: {masquerade: nat}\n"
                  "bridges:\n  lab: {bridge: qmdlab, ipv4: 10.91.0.128/25}\n") ==
        "bridges.lab.ipv4: 10.91.0.128/25 overlaps network.nat.ipv4 10.91.0.0/24; give each "
        "network its own CIDR (qmd.yaml:3:31)\n");
  // The NAT network is not run (user-mode masquerade): its CIDR is free.
  CHECK(errors_of("network: {masquerade: user}\n"
                  "bridges:\n  lab: {bridge: qmdlab, ipv4: 10.91.0.0/24}\n")
            .empty());
  CHECK(errors_of("bridges:\n"
                  "  a: {bridge: qmda, ipv4: 10.92.0.0/16}\n"
                  "  b: {bridge: qmdb, ipv4: 10.92.7.0/24}\n") ==
        "bridges.b.ipv4: 10.92.7.0/24 overlaps bridges.a.ipv4 10.92.0.0/16; give each network "
        "its own CIDR (qmd.yaml:3:27)\n");
}

TEST_CASE("bridges: the NAT network's bridge, and one bridge for two networks, are refused") {
  CHECK(errors_of("bridges: {lan: qmd0}\n") ==
        "bridges.lan: qmd0 is the NAT network's bridge (network.nat.bridge), which only qmd's "
        "masquerade taps may join; name another bridge (qmd.yaml:1:16)\n");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmd0}\n") ==
        "bridges.lab: qmd0 is the NAT network's bridge (network.nat.bridge), which only qmd's "
        "masquerade taps may join; name another bridge (qmd.yaml:2:8)\n");
  CHECK(errors_of("bridges:\n  lan: qmdlab\n  lab: {bridge: qmdlab}\n") ==
        "bridges.lab: bridge qmdlab is network lan's already; a bridge qmd makes serves one "
        "network, name another (qmd.yaml:3:8)\n");
  // Two networks on one host bridge stay allowed, as before.
  CHECK(errors_of("bridges:\n  a: br0\n  b: br0\n").empty());
}

TEST_CASE("bridges: ipv6 needs ipv4 with DHCP, and overlaps no other network's prefix") {
  auto c = parse_config("bridges:\n  lab: {bridge: qmdlab, ipv4: 10.92.0.0/24, ipv6: auto}\n",
                        "qmd.yaml");
  REQUIRE(c);
  CHECK(c->managed_bridges.at("lab").ipv6 == "auto");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, ipv6: fd12:3456:789a:2::/64}\n") ==
        "bridges.lab.ipv6: IPv6 needs the bridge's IPv4 network with DHCP: set ipv4 (and leave "
        "dhcp on) too (qmd.yaml:2:31)\n");
  CHECK(errors_of("bridges:\n  lab: {bridge: qmdlab, ipv4: 10.92.0.0/24, dhcp: false, "
                  "ipv6: auto}\n")
            .find("bridges.lab.ipv6: IPv6 needs the bridge's IPv4 network with DHCP") == 0);
  CHECK(errors_of("network: {masquerade: nat, nat: {ipv6: fd12:3456:789a:1::/64}}\n"
                  "bridges:\n  lab: {bridge: qmdlab, ipv4: 10.92.0.0/24, "
                  "ipv6: fd12:3456:789a:1::/64}\n") ==
        "bridges.lab.ipv6: fd12:3456:789a:1::/64 overlaps network.nat.ipv6 "
        "fd12:3456:789a:1::/64; give each network its own prefix (qmd.yaml:3:51)\n");
  CHECK(errors_of("bridges:\n"
                  "  a: {bridge: qmda, ipv4: 10.92.0.0/24, ipv6: fd12:3456:789a:2::/64}\n"
                  "  b: {bridge: qmdb, ipv4: 10.93.0.0/24, ipv6: fd12:3456:789a:2::/64}\n")
            .find("bridges.b.ipv6: fd12:3456:789a:2::/64 overlaps bridges.a.ipv6") == 0);
}
