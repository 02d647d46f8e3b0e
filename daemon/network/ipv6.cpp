#include "daemon/network/ipv6.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace qmd::daemon::network {

namespace {

constexpr std::uint8_t kUla = 0xfd;

std::string refused(const std::string& text, const std::string& why) {
  return fmt::format("\"{}\" {}; use a unique local /64 such as fd12:3456:789a:1::/64, or auto",
                     text, why);
}

}  // namespace

std::expected<Ipv6Prefix, std::string> parse_ula_prefix(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    return std::unexpected(refused(text, "has no prefix length"));
  }
  Ipv6Prefix out;
  const std::string address = text.substr(0, slash);
  if (::inet_pton(AF_INET6, address.c_str(), out.network.data()) != 1) {
    return std::unexpected(refused(text, "is not an IPv6 prefix"));
  }
  const std::string bits = text.substr(slash + 1);
  int length = -1;
  auto [next, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), length);
  if (ec != std::errc{} || next != bits.data() + bits.size() || bits.empty()) {
    return std::unexpected(refused(text, "is not an IPv6 prefix"));
  }
  if (length != kIpv6Prefix) {
    return std::unexpected(refused(text, fmt::format("is a /{}, and a network qmd makes is "
                                                     "one /64 link",
                                                     length)));
  }
  if (out.network[0] != kUla) {
    return std::unexpected(refused(text, "is not a unique local prefix (fd00::/8): NAT66 "
                                         "hides the guests behind the uplink's address"));
  }
  for (std::size_t i = 8; i < out.network.size(); ++i) {
    if (out.network[i] != 0) {
      return std::unexpected(refused(text, "has host bits set"));
    }
  }
  return out;
}

std::string format_ipv6(const Ipv6Address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, address.data(), text, sizeof text);
  return text;
}

std::string format_prefix(const Ipv6Prefix& p) {
  return fmt::format("{}/{}", format_ipv6(p.network), p.prefix);
}

Ipv6Address address_in(const Ipv6Prefix& p, std::uint64_t host) {
  Ipv6Address out = p.network;
  for (int i = 15; i >= 8; --i) {
    out[i] = static_cast<std::uint8_t>(host & 0xff);
    host >>= 8;
  }
  return out;
}

std::string ipv6_gateway_with_prefix(const Ipv6Prefix& p) {
  return fmt::format("{}/{}", format_ipv6(address_in(p, 1)), p.prefix);
}

Ipv6Address link_local_of(const std::string& mac) {
  std::array<std::uint8_t, 6> m{};
  for (std::size_t i = 0; i < m.size() && i * 3 + 1 < mac.size(); ++i) {
    std::from_chars(mac.data() + i * 3, mac.data() + i * 3 + 2, m[i], 16);
  }
  return {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(m[0] ^ 0x02), m[1], m[2],
          0xff, 0xfe, m[3], m[4], m[5]};
}

std::string nft_number(const Ipv6Address& address) {
  std::string out = "0x";
  for (auto byte : address) {
    out += fmt::format("{:02x}", byte);
  }
  return out;
}

Ipv6Prefix ula_prefix_from(const std::array<std::uint8_t, 5>& global_id) {
  Ipv6Prefix out;
  out.network[0] = kUla;
  for (std::size_t i = 0; i < global_id.size(); ++i) {
    out.network[i + 1] = global_id[i];
  }
  return out;  // subnet ID 0
}

}  // namespace qmd::daemon::network
