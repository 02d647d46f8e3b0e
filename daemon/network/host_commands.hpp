#pragma once
// What the managed network changes on the host, each through a real tool with a time limit
// (`ip` from iproute2, `nft -j`), its output appended to a log in the network's run
// directory. Blocking: only ever called on the daemon's pool, never on the loop.
#include <boost/json/object.hpp>
#include <expected>
#include <optional>
#include <string>

#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

// Where the tools' output and the last nft batch go: <runDir>/network.
struct ToolPlaces {
  std::string dir;
  std::string log() const { return dir + "/tools.log"; }
};

bool bridge_exists(const std::string& name);
// The alias (`ip link set NAME alias`, /sys/class/net/NAME/ifalias) qmd leaves on a bridge it
// made for a multus network, so that it never takes over one it did not make. Empty: none.
std::string bridge_mark(const std::string& name);
// The gateway addresses a bridge gets (none: no address of that family).
struct BridgeAddresses {
  std::optional<Ipv4Cidr> ipv4;
  std::optional<Ipv6Prefix> ipv6;
};
// A bridge named `name` with bridge_mac(name), the gateway addresses (PREFIX::1 for IPv6),
// `mark` as its alias when not empty, up. On failure nothing is left (a bridge made here is
// removed again). The error names the bridge (as qmd.yaml's `key`) and the step.
std::expected<void, std::string> create_bridge(const std::string& name,
                                               const BridgeAddresses& addresses,
                                               const ToolPlaces& places,
                                               const std::string& key = "network.nat.bridge",
                                               const std::string& mark = "");
// The MAC a bridge qmd makes gets, the same for the same name on every host and run
// (locally administered, 02:71:6d + a hash of the name). A bridge without one of its own
// takes the lowest of its ports' MACs, which changes as taps join and leave, and the
// guests' neighbour entries for their gateway would go stale each time.
std::string bridge_mac(const std::string& name);
std::expected<void, std::string> delete_bridge(const std::string& name, const ToolPlaces& places);
// net.ipv4.ip_forward = 1 (of qmd's network namespace): NAT needs the host to route.
std::expected<void, std::string> enable_ip_forward();

// IPv6 forwarding (net.ipv6.conf.all.forwarding = 1) for NAT66. Refused, changing nothing,
// when the host has a default route by router advertisement on an interface whose accept_ra
// is 1: forwarding would make the host ignore those advertisements and lose that route.
std::expected<void, std::string> enable_ipv6_forward(const std::string& key);

// Applies one batch atomically with `nft -j -f` (the batch is kept as nft-batch.json).
std::expected<void, std::string> nft_apply(const boost::json::object& batch,
                                           const ToolPlaces& places);
// `nft -j list table FAMILY TABLE`: its JSON; none when the table is not there.
std::optional<std::string> nft_list_table(const std::string& family, const std::string& table,
                                          const ToolPlaces& places);
// Whether table `family` `table` (a network's own, "qmd-BRIDGE") exists.
bool nft_table_exists(const std::string& family, const ToolPlaces& places,
                      const std::string& table);

}  // namespace qmd::daemon::network
