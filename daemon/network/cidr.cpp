#include "daemon/network/cidr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace qmd::daemon::network {

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  std::uint32_t out = 0;
  const char* at = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (at == end || *at != '.') {
        return std::nullopt;
      }
      ++at;
    }
    unsigned value = 0;
    const char* start = at;
    auto [next, ec] = std::from_chars(at, end, value);
    // No sign, no leading zeros (an octal reading elsewhere), at most 255.
    if (ec != std::errc{} || value > 255 || next - start > 3 ||
        (next - start > 1 && *start == '0')) {
      return std::nullopt;
    }
    out = (out << 8) | value;
    at = next;
  }
  return at == end ? std::optional(out) : std::nullopt;
}

std::string format_ipv4(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::expected<Ipv4Cidr, std::string> parse_cidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    return std::unexpected(fmt::format("\"{}\" is not an IPv4 CIDR such as 10.91.0.0/24", text));
  }
  const auto address = parse_ipv4(text.substr(0, slash));
  int prefix = -1;
  const std::string bits = text.substr(slash + 1);
  auto [next, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (!address || ec != std::errc{} || next != bits.data() + bits.size() || bits.empty() ||
      prefix < 0 || prefix > 32) {
    return std::unexpected(fmt::format("\"{}\" is not an IPv4 CIDR such as 10.91.0.0/24", text));
  }
  Ipv4Cidr cidr{*address, prefix};
  if ((*address & cidr.mask()) != *address) {
    return std::unexpected(fmt::format("\"{}\" has host bits set; the network is {}/{}", text,
                                       format_ipv4(*address & cidr.mask()), prefix));
  }
  return cidr;
}

std::string format_cidr(const Ipv4Cidr& cidr) {
  return fmt::format("{}/{}", format_ipv4(cidr.network), cidr.prefix);
}

std::string gateway_with_prefix(const Ipv4Cidr& cidr) {
  return fmt::format("{}/{}", format_ipv4(cidr.gateway()), cidr.prefix);
}

std::string netmask_text(const Ipv4Cidr& cidr) { return format_ipv4(cidr.mask()); }

bool overlaps(const Ipv4Cidr& a, const Ipv4Cidr& b) {
  const int shorter = std::min(a.prefix, b.prefix);
  const Ipv4Cidr wide{0, shorter};
  return (a.network & wide.mask()) == (b.network & wide.mask());
}

}  // namespace qmd::daemon::network
