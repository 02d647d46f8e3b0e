// pod.vmNetworkCIDR and vmIPv6NetworkCIDR: read as Go's net.ParseCIDR reads them, the
// addresses qmd gives out in them, and every value refused with what to write instead.
#include <doctest/doctest.h>

#include <string>

#include "policy/parse.hpp"
#include "policy/vm_network_cidr.hpp"

using namespace qmd::policy;

namespace {

std::string error_of(std::string_view text) {
  auto cidr = parse_vm_network_cidr(text);
  return cidr ? std::string("(parsed)") : cidr.error();
}

std::string ipv6_error_of(std::string_view text) {
  auto cidr = parse_vm_ipv6_network_cidr(text);
  return cidr ? std::string("(parsed)") : cidr.error();
}

// A VM whose pod network carries `pod` (lines 1-13; `pod` starts on line 14, indent 6).
std::string vm_with_pod(const std::string& pod) {
  return "apiVersion: kubevirt.io/v1\n"
         "kind: VirtualMachineInstance\n"
         "metadata: {name: t}\n"
         "spec:\n"
         "  domain:\n"
         "    devices:\n"
         "      interfaces:\n"
         "      - name: default\n"
         "        masquerade: {}\n"
         "  networks:\n"
         "  - name: default\n"
         "    pod:\n"
         "      # the pod network's fields\n" +
         pod;
}

}  // namespace

TEST_CASE("KubeVirt's default network: gateway .1, guest .2, DNS .3") {
  auto cidr = parse_vm_network_cidr("10.0.2.0/24");
  REQUIRE(cidr);
  CHECK(format_vm_network(*cidr) == "10.0.2.0/24");
  CHECK(format_ipv4(cidr->gateway()) == "10.0.2.1");
  CHECK(format_ipv4(cidr->guest()) == "10.0.2.2");
  CHECK(format_ipv4(cidr->dns()) == "10.0.2.3");
  CHECK(format_ipv4(cidr->netmask()) == "255.255.255.0");
}

TEST_CASE("host bits are dropped, as Go's ParseCIDR drops them") {
  auto cidr = parse_vm_network_cidr("172.20.7.99/20");
  REQUIRE(cidr);
  CHECK(format_vm_network(*cidr) == "172.20.0.0/20");
  CHECK(format_ipv4(cidr->guest()) == "172.20.0.2");
}

TEST_CASE("the prefix may have leading zeros (Go's dtoi); /8 and /29 are the bounds") {
  CHECK(format_vm_network(*parse_vm_network_cidr("192.168.50.0/024")) == "192.168.50.0/24");
  CHECK(format_vm_network(*parse_vm_network_cidr("10.0.0.0/8")) == "10.0.0.0/8");
  auto smallest = parse_vm_network_cidr("192.168.9.8/29");
  REQUIRE(smallest);
  CHECK(format_ipv4(smallest->gateway()) == "192.168.9.9");
  CHECK(format_ipv4(smallest->dns()) == "192.168.9.11");
}

TEST_CASE("attack: not a CIDR at all, or Go would not read it") {
  const std::string what =
      " is not an IPv4 CIDR; write a network address and a prefix length, such as 10.0.2.0/24";
  for (const char* bad :
       {"", "10.0.2.0", "10.0.2.0/", "/24", "10.0.2/24", "10.0.2.0.0/24", "10.0.02.0/24",
        "256.0.2.0/24", "10.0.2.0/33", "10.0.2.0/-1", "10.0.2.0/+24", " 10.0.2.0/24",
        "10.0.2.0/24 ", "10.0.2.0/24/24", "10.0.2.0/2a", "ten.0.2.0/24", "10..2.0/24",
        "0x0a.0.2.0/24", "10.0.2.0/99999999999"}) {
    CAPTURE(bad);
    CHECK(error_of(bad) == "\"" + std::string(bad) + "\"" + what);
  }
}

TEST_CASE("attack: an IPv6 network in the IPv4 field says where it goes") {
  CHECK(error_of("fd10:0:2::/120") ==
        "\"fd10:0:2::/120\" is an IPv6 network; vmNetworkCIDR takes IPv4 (such as "
        "10.0.2.0/24): put an IPv6 network in vmIPv6NetworkCIDR");
}

TEST_CASE("attack: too small to hold the gateway, the guest and DNS") {
  for (const char* small : {"10.0.2.0/30", "10.0.2.0/31", "10.0.2.0/32"}) {
    CAPTURE(small);
    const std::string prefix = std::string(small).substr(std::string(small).find('/') + 1);
    CHECK(error_of(small) == "\"" + std::string(small) + "\": a /" + prefix +
                                 " has too few addresses for the network, the gateway, the "
                                 "guest, the DNS server and the broadcast address; use a "
                                 "prefix of /29 or shorter (such as /24)");
  }
}

TEST_CASE("attack: a network wider than /8") {
  CHECK(error_of("0.0.0.0/0") ==
        "\"0.0.0.0/0\": a /0 would take in most of the addresses the guest reaches through its "
        "gateway; use a prefix between /8 and /29 (such as /24)");
}

TEST_CASE("attack: loopback, multicast and reserved networks") {
  const std::string tail = ", which no guest network may use; choose a private network such "
                           "as 10.0.2.0/24";
  CHECK(error_of("127.0.0.0/24") == "\"127.0.0.0/24\" overlaps loopback, 127.0.0.0/8" + tail);
  CHECK(error_of("0.1.2.0/24") == "\"0.1.2.0/24\" overlaps \"this network\", 0.0.0.0/8" + tail);
  CHECK(error_of("224.1.0.0/16") ==
        "\"224.1.0.0/16\" overlaps multicast, 224.0.0.0/4" + tail);
  CHECK(error_of("250.0.0.0/24") == "\"250.0.0.0/24\" overlaps reserved, 240.0.0.0/4" + tail);
}

TEST_CASE("attack: a huge value is cut short in the message") {
  const std::string huge(100000, '9');
  const auto error = error_of(huge);
  CHECK(error.size() < 200);
  CHECK(error.starts_with("\"" + std::string(48, '9') + "...\" is not an IPv4 CIDR"));
}

TEST_CASE("vmIPv6NetworkCIDR: KubeVirt's default and host bits dropped") {
  auto cidr = parse_vm_ipv6_network_cidr("fd10:0:2::ff/120");
  REQUIRE(cidr);
  CHECK(cidr->prefix == 120);
  CHECK(cidr->network[15] == 0);
  CHECK(cidr->network[0] == 0xfd);
  CHECK(ipv6_error_of("fd10:0:2::/126") == "(parsed)");
}

TEST_CASE("attack: bad vmIPv6NetworkCIDR values") {
  CHECK(ipv6_error_of("10.0.2.0/24") ==
        "\"10.0.2.0/24\" is an IPv4 network; vmIPv6NetworkCIDR takes IPv6 (such as "
        "fd10:0:2::/120): put an IPv4 network in vmNetworkCIDR");
  for (const char* bad : {"fd10::", "fd10::/", "fd10::/129", "fd10:::1/64", "fe80::1%eth0/64",
                          "fd10::g/64", "/64"}) {
    CAPTURE(bad);
    CHECK(ipv6_error_of(bad) == "\"" + std::string(bad) +
                                    "\" is not an IPv6 CIDR; write a network address and a "
                                    "prefix length, such as fd10:0:2::/120");
  }
  CHECK(ipv6_error_of("fd10::/127") ==
        "\"fd10::/127\": a /127 has fewer than the four addresses KubeVirt's masquerade needs; "
        "use a prefix of /126 or shorter (such as /120)");
}

TEST_CASE("a spec with vmNetworkCIDR parses and keeps it") {
  auto spec = parse_spec(vm_with_pod("      vmNetworkCIDR: 10.11.12.0/24\n"), "vm.yaml");
  REQUIRE(spec);
  CHECK(spec->networks.at(0).vm_network_cidr == "10.11.12.0/24");
  CHECK(spec->warnings.empty());
}

TEST_CASE("an empty vmNetworkCIDR is KubeVirt's default, as in KubeVirt") {
  auto spec = parse_spec(vm_with_pod("      vmNetworkCIDR: \"\"\n"), "vm.yaml");
  REQUIRE(spec);
  CHECK(spec->networks.at(0).vm_network_cidr.empty());
}

TEST_CASE("attack: a bad vmNetworkCIDR names its file:line:column and what to write") {
  auto spec = parse_spec(vm_with_pod("      vmNetworkCIDR: 10.0.2.0/30\n"), "vm.yaml");
  REQUIRE_FALSE(spec);
  CHECK(to_string(spec.error()) ==
        "spec.networks[0].pod.vmNetworkCIDR: \"10.0.2.0/30\": a /30 has too few addresses for "
        "the network, the gateway, the guest, the DNS server and the broadcast address; use a "
        "prefix of /29 or shorter (such as /24) (vm.yaml:14:22)\n");
}

TEST_CASE("attack: a misspelt pod field is an unknown field, not ignored") {
  auto spec = parse_spec(vm_with_pod("      vmNetworkCidr: 10.0.2.0/24\n"), "vm.yaml");
  REQUIRE_FALSE(spec);
  CHECK(to_string(spec.error()).find("vmNetworkCidr") != std::string::npos);
  CHECK(to_string(spec.error()).find("vm.yaml:14:7") != std::string::npos);
}

TEST_CASE("vmIPv6NetworkCIDR is checked, and accepted with a warning that it is not applied") {
  auto spec = parse_spec(vm_with_pod("      vmIPv6NetworkCIDR: fd10:0:2::/120\n"), "vm.yaml");
  REQUIRE(spec);
  CHECK(spec->networks.at(0).vm_ipv6_network_cidr == "fd10:0:2::/120");
  REQUIRE(spec->warnings.size() == 1);
  CHECK(spec->warnings.at(0).to_string() ==
        "spec.networks[0].pod.vmIPv6NetworkCIDR: is checked but not applied: a guest's IPv6 "
        "addresses come from its interface's binding (user-mode networking: fec0::/64; passt: "
        "the host's; the NAT network: qmd.yaml's network.nat) (vm.yaml:14:26)");
  auto bad = parse_spec(vm_with_pod("      vmIPv6NetworkCIDR: 10.0.2.0/24\n"), "vm.yaml");
  REQUIRE_FALSE(bad);
  CHECK(to_string(bad.error()).find("(vm.yaml:14:26)") != std::string::npos);
}
