#include <doctest/doctest.h>

#include "daemon/network/leases.hpp"

using namespace qmd::daemon::network;

namespace {
const Ipv4Cidr kNet = *parse_cidr("10.91.0.0/24");
std::uint32_t ip(const char* text) { return *parse_ipv4(text); }
}  // namespace

TEST_CASE("no leases: nothing to serve") {
  LeaseTable t;
  CHECK(t.to_text().empty());
  CHECK(dhcp_hosts_text(t.leases()).empty());
  CHECK(LeaseTable::parse("", kNet).leases().empty());
}

TEST_CASE("addresses are handed out from after the gateway, and kept") {
  LeaseTable t;
  auto a = t.assign("web", "default", "52:54:00:AA:BB:01", kNet);
  auto b = t.assign("db", "default", "52:54:00:aa:bb:02", kNet);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == Lease{"web", "default", "52:54:00:aa:bb:01", ip("10.91.0.2")});
  CHECK(b->ipv4 == ip("10.91.0.3"));
  // Again (a restart): the same address; a changed MAC keeps the address.
  CHECK(t.assign("web", "default", "52:54:00:aa:bb:01", kNet)->ipv4 == ip("10.91.0.2"));
  CHECK(*t.assign("web", "default", "52:54:00:aa:bb:09", kNet) ==
        Lease{"web", "default", "52:54:00:aa:bb:09", ip("10.91.0.2")});
  // Written and read back (a qmd restart): the same table.
  const auto text = t.to_text();
  CHECK(text == "web default 52:54:00:aa:bb:09 10.91.0.2\ndb default 52:54:00:aa:bb:02 10.91.0.3\n");
  CHECK(LeaseTable::parse(text, kNet).leases() == t.leases());
}

TEST_CASE("a deleted VM's address is free again; the others keep theirs") {
  LeaseTable t;
  (void)t.assign("a", "default", "02:00:00:00:00:01", kNet);
  (void)t.assign("b", "default", "02:00:00:00:00:02", kNet);
  CHECK(t.release("a"));
  CHECK_FALSE(t.release("a"));
  CHECK(t.assign("b", "default", "02:00:00:00:00:02", kNet)->ipv4 == ip("10.91.0.3"));
  CHECK(t.assign("c", "default", "02:00:00:00:00:03", kNet)->ipv4 == ip("10.91.0.2"));
}

TEST_CASE("one interface's lease goes; the VM's other interface and other VMs keep theirs") {
  LeaseTable t;
  (void)t.assign("a", "default", "02:00:00:00:00:01", kNet);
  (void)t.assign("a", "extra", "02:00:00:00:00:11", kNet);
  (void)t.assign("b", "extra", "02:00:00:00:00:02", kNet);
  CHECK(t.release("a", "extra"));
  CHECK_FALSE(t.release("a", "extra"));
  CHECK_FALSE(t.release("c", "default"));
  CHECK(t.leases() == std::vector<Lease>{{"a", "default", "02:00:00:00:00:01", ip("10.91.0.2")},
                                         {"b", "extra", "02:00:00:00:00:02", ip("10.91.0.4")}});
  // Its address is the lowest free one again.
  CHECK(t.assign("c", "default", "02:00:00:00:00:03", kNet)->ipv4 == ip("10.91.0.3"));
}

TEST_CASE("a full network and a MAC two VMs claim are refused, naming them") {
  const Ipv4Cidr small = *parse_cidr("10.91.0.0/29");  // .2 to .6: five guests
  LeaseTable t;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(t.assign("vm" + std::to_string(i), "default",
                     "02:00:00:00:00:0" + std::to_string(i), small));
  }
  CHECK(t.assign("late", "default", "02:00:00:00:00:09", small).error() ==
        "the NAT network 10.91.0.0/29 has no free address left for VM late (5 leases); delete "
        "VMs or widen network.nat.ipv4");
  CHECK(t.assign("copy", "default", "02:00:00:00:00:01", small).error() ==
        "VM copy interface default: MAC 02:00:00:00:00:01 is VM vm1's (interface default) on "
        "the NAT network already; give one of them another macAddress");
  CHECK(t.assign("x", "default", "not-a-mac", small).error() ==
        "VM x interface default: \"not-a-mac\" is not a MAC address");
}

TEST_CASE("a stored table keeps only sane leases inside the network") {
  const auto t = LeaseTable::parse(
      "ok default 02:00:00:00:00:01 10.91.0.2\n"
      "garbage\n"
      "moved default 02:00:00:00:00:02 10.92.0.2\n"     // another CIDR: re-assigned later
      "gw default 02:00:00:00:00:03 10.91.0.1\n"        // the gateway
      "bcast default 02:00:00:00:00:04 10.91.0.255\n"   // the broadcast
      "twice default 02:00:00:00:00:05 10.91.0.2\n"     // an address taken already
      "badmac default 02:00:00:00:00 10.91.0.9\n",
      kNet);
  CHECK(t.leases() == std::vector<Lease>{{"ok", "default", "02:00:00:00:00:01", ip("10.91.0.2")}});
}

TEST_CASE("dnsmasq's hosts file names each VM once") {
  LeaseTable t;
  (void)t.assign("web", "default", "02:00:00:00:00:01", kNet);
  (void)t.assign("web", "second", "02:00:00:00:00:02", kNet);
  (void)t.assign("db", "default", "02:00:00:00:00:03", kNet);
  CHECK(dhcp_hosts_text(t.leases()) ==
        "02:00:00:00:00:01,10.91.0.2,web\n02:00:00:00:00:02,10.91.0.3\n"
        "02:00:00:00:00:03,10.91.0.4,db\n");
}

TEST_CASE("dnsmasq's hosts file: the IPv6 address in brackets beside the IPv4 one") {
  auto ula = *parse_ula_prefix("fd12:3456:789a:1::/64");
  std::vector<Lease> leases{{"web", "default", "02:00:00:00:00:01", ip("10.91.0.2"),
                             address_in(ula, 2)},
                            {"web", "second", "02:00:00:00:00:02", ip("10.91.0.3"),
                             address_in(ula, 3)}};
  CHECK(dhcp_hosts_text(leases) ==
        "02:00:00:00:00:01,10.91.0.2,[fd12:3456:789a:1::2],web\n"
        "02:00:00:00:00:02,10.91.0.3,[fd12:3456:789a:1::3]\n");
}
