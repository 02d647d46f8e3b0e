#pragma once
// IPv4 addresses and prefixes as numbers: the managed network's CIDR, its gateway and the
// addresses it hands out, and whether two prefixes overlap (a host route that would clash).
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace qmd::daemon::network {

struct Ipv4Cidr {
  std::uint32_t network = 0;  // host order, host bits zero
  int prefix = 0;             // 0..32

  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  std::uint32_t broadcast() const { return network | ~mask(); }
  // The first address: the bridge's own (the guests' router, DNS and DHCP server).
  std::uint32_t gateway() const { return network + 1; }
  bool contains(std::uint32_t address) const { return (address & mask()) == network; }
  bool operator==(const Ipv4Cidr&) const = default;
};

// "10.91.0.7" -> number; nothing when it is not four decimal octets.
std::optional<std::uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(std::uint32_t address);
// "10.91.0.0/24"; the error says what is wrong (host bits set, prefix out of range ...).
std::expected<Ipv4Cidr, std::string> parse_cidr(const std::string& text);
std::string format_cidr(const Ipv4Cidr& cidr);
// "10.91.0.1/24": the gateway with the prefix, as `ip addr` takes it.
std::string gateway_with_prefix(const Ipv4Cidr& cidr);
// "255.255.255.0"
std::string netmask_text(const Ipv4Cidr& cidr);
bool overlaps(const Ipv4Cidr& a, const Ipv4Cidr& b);

// The smallest and largest prefix a managed network may have: /16 is 65 533 guests, /29
// still leaves the gateway and five guests.
inline constexpr int kMinNatPrefix = 16;
inline constexpr int kMaxNatPrefix = 29;

}  // namespace qmd::daemon::network
