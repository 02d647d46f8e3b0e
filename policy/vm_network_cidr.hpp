#pragma once
// KubeVirt's networks[].pod.vmNetworkCIDR and vmIPv6NetworkCIDR, read as KubeVirt reads them
// (Go's net.ParseCIDR: host bits may be set and are dropped), with the addresses qmd gives
// out in the IPv4 one: the first for the gateway (KubeVirt's masquerade gateway), the second
// for the guest (its masquerade guest), the third for user-mode networking's DNS server. With
// the network and broadcast addresses that is five, so the prefix is /29 at most.
#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace qmd::policy {

struct VmNetworkCidr {
  std::uint32_t network = 0;  // host order, host bits zero
  int prefix = 0;
  std::uint32_t gateway() const { return network + 1; }
  std::uint32_t guest() const { return network + 2; }
  std::uint32_t dns() const { return network + 3; }
  std::uint32_t netmask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
};

// /8 .. /29: wider would take in addresses the guest must reach through its gateway.
inline constexpr int kMinVmNetworkPrefix = 8;
inline constexpr int kMaxVmNetworkPrefix = 29;

// vmNetworkCIDR. The error says what is wrong and what to write.
std::expected<VmNetworkCidr, std::string> parse_vm_network_cidr(std::string_view text);

struct VmIpv6NetworkCidr {
  std::array<std::uint8_t, 16> network{};  // host bits zero
  int prefix = 0;
};

// KubeVirt's masquerade needs four addresses in it (network, gateway, guest and one more).
inline constexpr int kMaxVmIpv6NetworkPrefix = 126;

// vmIPv6NetworkCIDR, checked as KubeVirt would read it.
std::expected<VmIpv6NetworkCidr, std::string> parse_vm_ipv6_network_cidr(std::string_view text);

std::string format_ipv4(std::uint32_t address);            // dotted quad
std::string format_vm_network(const VmNetworkCidr& cidr);  // "10.0.2.0/24"

}  // namespace qmd::policy
