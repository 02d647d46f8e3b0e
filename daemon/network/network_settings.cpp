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
  s.nat = s.has_ipv4 && b.nat;
  s.nat_network = false;
  s.state_dir = fmt::format("{}/network/bridges/{}", config.state_dir, b.bridge);
  s.run_dir = fmt::format("{}/network/bridges/{}", config.run_dir, b.bridge);
  s.label = fmt::format("bridge network {}", name);
  s.table = table_for_bridge(b.bridge, false);
  s.cidr_key = fmt::format("bridges.{}.ipv4 ({})", name, b.ipv4_at);
  s.bridge_key = fmt::format("bridges.{}.bridge ({})", name, b.bridge_at);
  s.mark = bridge_mark_for(name);
  return s;
}

TablesPlan tables_plan(const NatSettings& s) {
  TablesPlan plan{s.table, s.bridge, std::nullopt, s.nat};
  if (s.has_ipv4) {
    plan.cidr = s.cidr;
  }
  return plan;
}

std::string network_text(const NatSettings& s) {
  return s.has_ipv4 ? format_cidr(s.cidr) : std::string("no address");
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

}  // namespace qmd::daemon::network
