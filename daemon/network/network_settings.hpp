#pragma once
// Every managed network qmd runs, from qmd.yaml: the NAT network (network.nat) and a bridge
// for each `bridges:` entry qmd makes (bridges: NAME: {bridge, ipv4, dhcp, dns, nat}). Each
// is a NatNetwork of its own: its bridge, its nftables tables (inet/bridge qmd-BRIDGE), its
// dnsmasq and leases in <runDir>/network/bridges/BRIDGE and <stateDir>/network/bridges/BRIDGE.
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/network/bridge_lock.hpp"
#include "daemon/network/nat_network.hpp"
#include "daemon/network/nft_tables.hpp"

namespace qmd::daemon::network {

// The settings of the bridge network `name` (an entry of config.managed_bridges).
NatSettings bridge_settings(const Config& config, const std::string& name,
                            const ManagedBridgeConfig& bridge);
// The alias qmd sets on a bridge it makes for network `name`.
std::string bridge_mark_for(const std::string& name);
// What network_tables() makes for `settings`.
TablesPlan tables_plan(const NatSettings& settings);
// qmd.yaml's ipv6 value as a prefix when it is one (auto is resolved at bring-up).
std::optional<Ipv6Prefix> known_ipv6_prefix(const std::string& configured);
// The IPv6 address of the guest whose IPv4 lease is `ipv4` (the same host part in the
// prefix); none without IPv6 or without a lease.
std::optional<Ipv6Address> guest_ipv6(const NatSettings& settings, std::uint32_t ipv4);
// "10.92.0.0/24", or "no address" for a plain L2 bridge.
std::string network_text(const NatSettings& settings);

// A network for each bridge qmd makes, by network name; none for a qmd that is not root
// (it can make no bridge: those networks' VMs fail at start, saying so).
std::map<std::string, std::shared_ptr<NatNetwork>> bridge_networks_for(
    const Config& config, asio::any_io_executor executor, asio::thread_pool& pool,
    NatNetwork::Notice notice);

// The lock of every bridge this qmd makes (the NAT network's, each managed bridge network's),
// held for as long as qmd runs: none for a qmd that is not root (it makes no bridge).
// Refused, naming the bridge and its qmd.yaml key, when another live qmd of this host holds
// one; qmd must then not start, before it touches any network.
std::expected<std::vector<BridgeLock>, std::string> lock_bridges(
    const Config& config, const std::string& dir = kBridgeLockDir);

}  // namespace qmd::daemon::network
