// qmd.yaml's bridges: a multus network on an existing host bridge (a name), or on a bridge
// qmd creates and owns (a mapping), each checked against the NAT network and the others.
#include <fmt/format.h>

#include "daemon/config_parts.hpp"
#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::config_parts {

namespace {

using policy::yaml::MapReader;

std::string where(MapReader& reader, std::string_view key) {
  const auto mark = reader.value_mark(key);
  return fmt::format("{}:{}:{}", reader.doc().file(), mark.line, mark.column);
}

// The CIDR of another network `cidr` overlaps, named by its qmd.yaml key; empty: none.
std::string overlapping(const network::Ipv4Cidr& cidr, const Config& out) {
  if (masquerade_mode(out) == NetworkConfig::Masquerade::nat) {
    auto nat = network::parse_cidr(out.network.nat.ipv4);
    if (nat && network::overlaps(cidr, *nat)) {
      return fmt::format("network.nat.ipv4 {}", out.network.nat.ipv4);
    }
  }
  for (const auto& [name, other] : out.managed_bridges) {
    auto theirs = network::parse_cidr(other.ipv4);
    if (!other.ipv4.empty() && theirs && network::overlaps(cidr, *theirs)) {
      return fmt::format("bridges.{}.ipv4 {}", name, other.ipv4);
    }
  }
  return {};
}

// The prefix of another network `prefix` is, named by its qmd.yaml key; empty: none. (Two
// `auto` prefixes are random, each network's own.)
std::string overlapping6(const network::Ipv6Prefix& prefix, const Config& out) {
  auto nat = network::parse_ula_prefix(out.network.nat.ipv6);
  if (masquerade_mode(out) == NetworkConfig::Masquerade::nat && nat && *nat == prefix) {
    return fmt::format("network.nat.ipv6 {}", out.network.nat.ipv6);
  }
  for (const auto& [name, other] : out.managed_bridges) {
    auto theirs = network::parse_ula_prefix(other.ipv6);
    if (theirs && *theirs == prefix) {
      return fmt::format("bridges.{}.ipv6 {}", name, other.ipv6);
    }
  }
  return {};
}

void read_ipv4(MapReader& entry, ManagedBridgeConfig& b, const Config& out) {
  std::optional<std::string> text;
  entry.read("ipv4", text);
  if (!text) {
    return;
  }
  b.ipv4 = *text;
  b.ipv4_at = where(entry, "ipv4");
  auto cidr = network::parse_cidr(*text);
  if (!cidr) {
    entry.error_at("ipv4", cidr.error());
  } else if (cidr->prefix < network::kMinNatPrefix || cidr->prefix > network::kMaxNatPrefix) {
    entry.error_at("ipv4", fmt::format("{}: use a prefix from /{} to /{}", *text,
                                       network::kMinNatPrefix, network::kMaxNatPrefix));
  } else if (auto other = overlapping(*cidr, out); !other.empty()) {
    entry.error_at("ipv4", fmt::format("{} overlaps {}; give each network its own CIDR", *text,
                                       other));
  }
}

// The bridge's name: an interface name, not the NAT network's, not another entry's.
void check_bridge_name(MapReader& bridges, const std::string& network, const std::string& bridge,
                       const Config& out, bool managed) {
  if (bridge == out.network.nat.bridge) {
    // A tap joined there by a bridge binding would have no anti-spoofing guard.
    bridges.error_at(network, fmt::format("{} is the NAT network's bridge (network.nat.bridge), "
                                          "which only qmd's masquerade taps may join; name "
                                          "another bridge",
                                          bridge));
    return;
  }
  for (const auto& [name, other] : out.bridges) {
    const bool theirs_managed = out.managed_bridges.contains(name);
    if (other == bridge && (managed || theirs_managed)) {
      bridges.error_at(network, fmt::format("bridge {} is network {}'s already; a bridge qmd "
                                            "makes serves one network, name another",
                                            bridge, name));
      return;
    }
  }
}

void read_managed(MapReader& bridges, const std::string& network, Config& out) {
  ManagedBridgeConfig b;
  bool ok = true;
  bridges.read_map(network, [&](MapReader& entry) {
    entry.require("bridge");
    entry.read("bridge", b.bridge);
    b.bridge_at = where(entry, "bridge");
    if (auto why = bad_ifname(b.bridge); why && !b.bridge.empty()) {
      entry.error_at("bridge", fmt::format("bridge \"{}\" {}", b.bridge, *why));
      ok = false;
    }
    read_ipv4(entry, b, out);
    std::optional<bool> flag;
    entry.read("dhcp", flag);
    b.dhcp = flag.value_or(!b.ipv4.empty());
    if (flag == true && b.ipv4.empty()) {
      entry.error_at("dhcp", "DHCP needs the bridge's own network: set ipv4 too");
    }
    flag.reset();
    entry.read("dns", flag);
    b.dns = flag.value_or(b.dhcp);
    flag.reset();
    entry.read("nat", flag);
    b.nat = flag.value_or(false);
    if (b.nat && b.ipv4.empty()) {
      entry.error_at("nat", "NAT needs the bridge's own network: set ipv4 too");
    }
    std::optional<std::string> ipv6;
    entry.read("ipv6", ipv6);
    if (ipv6 && (b.ipv4.empty() || !b.dhcp)) {
      // A guest's IPv6 address is its IPv4 lease's host part in the prefix.
      entry.error_at("ipv6", "IPv6 needs the bridge's IPv4 network with DHCP: set ipv4 "
                             "(and leave dhcp on) too");
    } else if (ipv6) {
      check_ipv6(entry, "ipv6", *ipv6, out);
      b.ipv6 = *ipv6;
    }
  });
  if (!ok || b.bridge.empty()) {
    return;
  }
  check_bridge_name(bridges, network, b.bridge, out, true);
  out.bridges.emplace(network, b.bridge);
  out.managed_bridges.emplace(network, std::move(b));
}

}  // namespace

void check_ipv6(MapReader& map, std::string_view key, const std::string& text,
                const Config& out) {
  if (text == network::kAutoIpv6) {
    return;
  }
  auto prefix = network::parse_ula_prefix(text);
  if (!prefix) {
    map.error_at(key, prefix.error());
  } else if (auto other = overlapping6(*prefix, out); !other.empty()) {
    map.error_at(key, fmt::format("{} overlaps {}; give each network its own prefix", text,
                                  other));
  }
}

void read_bridges(MapReader& top, Config& out) {
  auto node = top.take("bridges");
  if (!node) {
    return;
  }
  MapReader bridges(top.doc(), *node, top.child_path("bridges"), top.key_mark("bridges"));
  if (!node->IsMap()) {
    return;  // the reader has said so
  }
  for (const auto& pair : *node) {
    if (!pair.first.IsScalar()) {
      continue;  // the reader has said so
    }
    const std::string network = pair.first.Scalar();
    if (pair.second.IsMap()) {
      read_managed(bridges, network, out);
      continue;
    }
    std::optional<std::string> bridge;
    bridges.read(network, bridge);
    if (!bridge) {
      continue;
    }
    if (auto why = bad_ifname(*bridge)) {
      bridges.error_at(network, fmt::format("bridge \"{}\" {}", *bridge, *why));
      continue;
    }
    check_bridge_name(bridges, network, *bridge, out, false);
    out.bridges.emplace(network, *bridge);
  }
}

}  // namespace qmd::daemon::config_parts
