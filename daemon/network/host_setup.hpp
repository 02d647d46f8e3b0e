#pragma once
// The managed network's host side, made or removed in one blocking call on the daemon's pool:
// checks (the CIDR against the host's routes, /dev/net/tun), the bridge with the gateway
// address, IPv4 forwarding, qmd's nftables tables, dnsmasq's files. A failure undoes what
// the call made, so nothing stray is left.
#include <boost/json/object.hpp>
#include <expected>
#include <optional>
#include <string>

#include "daemon/network/cidr.hpp"
#include "daemon/network/dnsmasq_conf.hpp"
#include "daemon/network/host_commands.hpp"

namespace qmd::daemon::network {

struct HostSetup {
  std::string bridge;
  Ipv4Cidr cidr;
  ToolPlaces places;       // <runDir>/network
  DnsmasqPlan dnsmasq;     // its conf goes to conf_path
  std::string conf_path;
  std::string hosts_text;  // dhcp_hosts_text() of the leases now
  // What differs between the NAT network (the defaults) and a bridge qmd makes for a multus
  // network (network_settings.hpp): its tables, whether the bridge has an address, runs
  // dnsmasq and routes, the qmd.yaml keys errors name and the mark left on the bridge.
  std::string table;            // qmd-BRIDGE (nft_tables.hpp)
  boost::json::object tables;  // the batch that makes both tables afresh
  bool ipv4 = true;
  bool dnsmasq_files = true;
  bool forward = true;
  bool needs_tun = true;
  std::string cidr_key = "network.nat.ipv4";
  std::string bridge_key = "network.nat.bridge";
  std::string mark;
  std::optional<Ipv6Prefix> ipv6{};  // the bridge's PREFIX::1, and (with forward) NAT66
  std::string ipv6_key = "network.nat.ipv6";
};

// <runDir>/network (0755: dnsmasq, once it has dropped root, re-reads its hosts file there).
std::expected<void, std::string> make_run_dir(const ToolPlaces& places);
std::expected<void, std::string> set_up_host(const HostSetup& setup);
// Best effort, every part: the tables, then the bridge. The error lists what stayed.
std::expected<void, std::string> tear_down_host(const std::string& bridge,
                                                const ToolPlaces& places,
                                                const std::string& table);
// The static leases dnsmasq reads (written whole, then dnsmasq gets SIGHUP).
std::expected<void, std::string> write_hosts_file(const std::string& path,
                                                  const std::string& text);

}  // namespace qmd::daemon::network
