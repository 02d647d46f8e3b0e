#include "policy/vm_network_cidr.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace qmd::policy {

namespace {

// How a value reads in a message: quoted, and cut short when it is long.
std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 48;
  return text.size() <= kShown ? fmt::format("\"{}\"", text)
                               : fmt::format("\"{}...\"", text.substr(0, kShown));
}

// One octet as Go reads it: 1-3 digits, no leading zero, at most 255.
std::optional<std::uint32_t> octet(std::string_view text) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 255) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint32_t> ipv4(std::string_view text) {
  std::uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = text.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) {
      return std::nullopt;
    }
    const auto value = octet(text.substr(0, dot));
    if (!value) {
      return std::nullopt;
    }
    out = (out << 8) | *value;
    text = i < 3 ? text.substr(dot + 1) : std::string_view{};
  }
  return out;
}

// The prefix length as Go's dtoi reads it: decimal digits (leading zeros allowed), at most `max`.
std::optional<int> prefix_length(std::string_view text, int max) {
  if (text.empty() || text.size() > 8 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > max) {
    return std::nullopt;
  }
  return value;
}

// Networks no guest network may take in, with what they are.
struct Reserved {
  std::uint32_t network;
  int prefix;
  std::string_view what;
};
constexpr std::array<Reserved, 4> kReserved{{
    {0x00000000, 8, "\"this network\", 0.0.0.0/8"},
    {0x7f000000, 8, "loopback, 127.0.0.0/8"},
    {0xe0000000, 4, "multicast, 224.0.0.0/4"},
    {0xf0000000, 4, "reserved, 240.0.0.0/4"},
}};

std::uint32_t mask_of(int prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

std::optional<std::string_view> reserved_overlap(const VmNetworkCidr& cidr) {
  for (const auto& r : kReserved) {
    const auto mask = mask_of(std::min(r.prefix, cidr.prefix));
    if ((r.network & mask) == (cidr.network & mask)) {
      return r.what;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string format_ipv4(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string format_vm_network(const VmNetworkCidr& cidr) {
  return fmt::format("{}/{}", format_ipv4(cidr.network), cidr.prefix);
}

std::expected<VmNetworkCidr, std::string> parse_vm_network_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (text.substr(0, slash).find(':') != std::string_view::npos) {
    return std::unexpected(fmt::format(
        "{} is an IPv6 network; vmNetworkCIDR takes IPv4 (such as 10.0.2.0/24): put an IPv6 "
        "network in vmIPv6NetworkCIDR",
        quoted(text)));
  }
  const auto address = ipv4(text.substr(0, slash));
  const auto prefix = slash == std::string_view::npos
                          ? std::nullopt
                          : prefix_length(text.substr(slash + 1), 32);
  if (!address || !prefix) {
    return std::unexpected(fmt::format(
        "{} is not an IPv4 CIDR; write a network address and a prefix length, such as "
        "10.0.2.0/24",
        quoted(text)));
  }
  VmNetworkCidr out;
  out.prefix = *prefix;
  out.network = *address & out.netmask();
  if (out.prefix > kMaxVmNetworkPrefix) {
    return std::unexpected(fmt::format(
        "{}: a /{} has too few addresses for the network, the gateway, the guest, the DNS "
        "server and the broadcast address; use a prefix of /{} or shorter (such as /24)",
        quoted(text), out.prefix, kMaxVmNetworkPrefix));
  }
  if (out.prefix < kMinVmNetworkPrefix) {
    return std::unexpected(fmt::format(
        "{}: a /{} would take in most of the addresses the guest reaches through its gateway; "
        "use a prefix between /{} and /{} (such as /24)",
        quoted(text), out.prefix, kMinVmNetworkPrefix, kMaxVmNetworkPrefix));
  }
  if (auto what = reserved_overlap(out)) {
    return std::unexpected(fmt::format(
        "{} overlaps {}, which no guest network may use; choose a private network such as "
        "10.0.2.0/24",
        quoted(text), *what));
  }
  return out;
}

std::expected<VmIpv6NetworkCidr, std::string> parse_vm_ipv6_network_cidr(
    std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  if (address.find(':') == std::string::npos && ipv4(address)) {
    return std::unexpected(fmt::format(
        "{} is an IPv4 network; vmIPv6NetworkCIDR takes IPv6 (such as fd10:0:2::/120): put an "
        "IPv4 network in vmNetworkCIDR",
        quoted(text)));
  }
  VmIpv6NetworkCidr out;
  const auto prefix = slash == std::string_view::npos
                          ? std::nullopt
                          : prefix_length(text.substr(slash + 1), 128);
  if (!prefix || address.find(':') == std::string::npos ||
      ::inet_pton(AF_INET6, address.c_str(), out.network.data()) != 1) {
    return std::unexpected(fmt::format(
        "{} is not an IPv6 CIDR; write a network address and a prefix length, such as "
        "fd10:0:2::/120",
        quoted(text)));
  }
  out.prefix = *prefix;
  for (int bit = out.prefix; bit < 128; ++bit) {
    out.network[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (out.prefix > kMaxVmIpv6NetworkPrefix) {
    return std::unexpected(fmt::format(
        "{}: a /{} has fewer than the four addresses KubeVirt's masquerade needs; use a prefix "
        "of /{} or shorter (such as /120)",
        quoted(text), out.prefix, kMaxVmIpv6NetworkPrefix));
  }
  return out;
}

}  // namespace qmd::policy
