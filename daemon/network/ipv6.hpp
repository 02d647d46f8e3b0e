#pragma once
// IPv6 on a managed network: an RFC 4193 unique local /64 (ULA, fd00::/8) beside the IPv4
// CIDR. The bridge has PREFIX::1; each VM interface gets PREFIX::N, where N is the host part
// of its IPv4 lease (10.91.0.7 -> ::7), so the address is as stable as the lease and needs
// no book of its own. A guest's link-local address is the EUI-64 one of its MAC.
#include <array>
#include <cstdint>
#include <expected>
#include <string>

namespace qmd::daemon::network {

using Ipv6Address = std::array<std::uint8_t, 16>;

struct Ipv6Prefix {
  Ipv6Address network{};  // host bits zero
  int prefix = 64;
  bool operator==(const Ipv6Prefix&) const = default;
};

// qmd.yaml's `ipv6: auto`: a random prefix made once and kept in the network's state dir.
inline constexpr const char* kAutoIpv6 = "auto";
inline constexpr int kIpv6Prefix = 64;  // DHCPv6 and router advertisements on one link

// "fd12:3456:789a:1::/64"; the error says what is wrong: not an address, not a /64, not in
// fd00::/8 (global or fc00::/8 prefixes are refused), host bits set.
std::expected<Ipv6Prefix, std::string> parse_ula_prefix(const std::string& text);
std::string format_ipv6(const Ipv6Address& address);
std::string format_prefix(const Ipv6Prefix& prefix);
// PREFIX + host: the gateway is host 1.
Ipv6Address address_in(const Ipv6Prefix& prefix, std::uint64_t host);
// "fd12:3456:789a:1::1/64", as `ip addr` takes it.
std::string ipv6_gateway_with_prefix(const Ipv6Prefix& prefix);
// fe80::/64 with the modified EUI-64 of `mac` (canonical aa:bb:cc:dd:ee:ff).
Ipv6Address link_local_of(const std::string& mac);
// The address as the 128-bit number nftables compares a raw payload with ("0xfd12...").
std::string nft_number(const Ipv6Address& address);
// RFC 4193 section 3.2: fd + a 40-bit random global ID, subnet 0. `global_id` is the
// caller's randomness (getrandom), so this stays pure.
Ipv6Prefix ula_prefix_from(const std::array<std::uint8_t, 5>& global_id);

}  // namespace qmd::daemon::network
