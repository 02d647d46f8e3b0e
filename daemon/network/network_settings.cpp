#include "daemon/network/network_settings.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace qmd::daemon::network {

std::string bridge_mark_for(const std::string& name) {
  return fmt::format("qmd bridge network {}", name);
}

NatSettings bridge_settings(const Config& config, const std::string& name,
                            const ManagedBridgeConfig& b) {
  NatSettings s;
  s.bridge = b.bridge;
  const auto cidr = parse_cidr(b.ipv4);  // checked when the config was read
  s.has_ipv4 = !b.ipv4.empty() && cidr.has_value();
  s.cidr = cidr.value_or(Ipv4Cidr{});
  s.dhcp = s.has_ipv4 && b.dhcp;
  s.dns = s.dhcp && b.dns;
  s.ipv6 = s.dhcp ? b.ipv6 : std::string();
  s.ipv6_prefix = known_ipv6_prefix(s.ipv6);
  s.ipv6_key = fmt::format("bridges.{}.ipv6", name);
  s.nat = s.has_ipv4 && b.nat;
  s.nat_network = false;
  s.state_dir = fmt::format("{}/network/bridges/{}", config.state_dir, b.bridge);
  s.run_dir = fmt::format("{}/network/bridges/{}", config.run_dir, b.bridge);
  s.label = fmt::format("bridge network {}", name);
  s.table = table_for_bridge(b.bridge);
  s.cidr_key = fmt::format("bridges.{}.ipv4 ({})", name, b.ipv4_at);
  s.bridge_key = fmt::format("bridges.{}.bridge ({})", name, b.bridge_at);
  s.mark = bridge_mark_for(name);
  return s;
}

TablesPlan tables_plan(const NatSettings& s) {
  TablesPlan plan{s.table, s.bridge, std::nullopt, s.nat, s.ipv6_prefix};
  if (s.has_ipv4) {
    plan.cidr = s.cidr;
  }
  return plan;
}

std::optional<Ipv6Prefix> known_ipv6_prefix(const std::string& configured) {
  auto prefix = parse_ula_prefix(configured);  // auto and none: not yet, or never
  return prefix ? std::optional(*prefix) : std::nullopt;
}

std::optional<Ipv6Address> guest_ipv6(const NatSettings& s, std::uint32_t ipv4) {
  if (!s.ipv6_prefix || ipv4 == 0 || !s.cidr.contains(ipv4)) {
    return std::nullopt;
  }
  return address_in(*s.ipv6_prefix, ipv4 - s.cidr.network);
}

std::string network_text(const NatSettings& s) {
  const std::string v4 = s.has_ipv4 ? format_cidr(s.cidr) : std::string("no address");
  return s.ipv6_prefix ? fmt::format("{}, {}", v4, format_prefix(*s.ipv6_prefix)) : v4;
}

std::map<std::string, std::shared_ptr<NatNetwork>> bridge_networks_for(
    const Config& config, asio::any_io_executor executor, asio::thread_pool& pool,
    NatNetwork::Notice notice) {
  std::map<std::string, std::shared_ptr<NatNetwork>> out;
  if (::geteuid() != 0) {
    return out;
  }
  for (const auto& [name, bridge] : config.managed_bridges) {
    out.emplace(name, std::make_shared<NatNetwork>(executor, pool,
                                                   bridge_settings(config, name, bridge), notice));
  }
  return out;
}

std::expected<std::vector<BridgeLock>, std::string> lock_bridges(const Config& config,
                                                                 const std::string& dir) {
  std::vector<BridgeLock> held;
  if (::geteuid() != 0) {
    return held;
  }
  std::vector<std::pair<std::string, std::string>> wanted;  // bridge, its key
  if (masquerade_mode(config) == NetworkConfig::Masquerade::nat) {
    wanted.emplace_back(config.network.nat.bridge, "network.nat.bridge");
  }
  for (const auto& [name, b] : config.managed_bridges) {
    wanted.emplace_back(b.bridge, fmt::format("bridges.{}.bridge ({})", name, b.bridge_at));
  }
  for (const auto& [bridge, key] : wanted) {
    auto lock = lock_bridge(bridge, key, dir);
    if (!lock) {
      return std::unexpected(lock.error());  // the ones taken go with `held`
    }
    held.push_back(std::move(*lock));
  }
  return held;
}

}  // namespace qmd::daemon::network
