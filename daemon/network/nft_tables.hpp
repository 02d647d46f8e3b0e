#pragma once
// Several managed networks side by side, each in its own pair of nftables tables named after
// its bridge: `inet qmd-BRIDGE` / `bridge qmd-BRIDGE`, for the NAT network (qmd-qmd0) and for
// each bridge qmd makes for a multus network alike. A bridge is one network's only (one qmd
// may not name it twice, and two qmds of a host may not share it: bridge_lock.hpp), so no
// network ever touches another's tables, even another qmd's. nft_rules.hpp writes every
// batch for the template table `qmd`; in_table() moves one into the network's own. The pieces
// only a bridge network needs are here: its tables without NAT, and the guard of a guest
// whose address qmd does not know. Pure: they build JSON and run nothing.
#include <boost/json/object.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

// The table nft_rules.hpp's batches are written for. No network uses it as it is; older qmds
// named the NAT network's tables so (legacy_tables.hpp removes what they left).
inline constexpr const char* kTemplateTable = "qmd";

// The tables of the network on `bridge`: "qmd-" + bridge.
std::string table_for_bridge(const std::string& bridge);

// `batch` (written for the template table) as a batch for table `table`: every table
// reference, and nothing else, renamed.
boost::json::object in_table(boost::json::object batch, const std::string& table);

struct TablesPlan {
  std::string table;
  std::string bridge;
  std::optional<Ipv4Cidr> cidr;  // none: a plain L2 bridge
  bool nat = false;              // masquerade out of the CIDR, as the NAT network
  std::optional<Ipv6Prefix> ipv6{};  // with nat: NAT66 out of it too
};

// Both tables afresh. With nat: the NAT network's rules (nat_tables). Without: the guards'
// map and chain, and a forward chain that routes nothing to or from the bridge (its guests
// reach each other and the host's address on it, nothing beyond).
boost::json::object network_tables(const TablesPlan& plan);

// The guard of a guest whose address qmd does not hand out (no DHCP on the bridge): only its
// own MAC as source (ether and ARP), no DHCP server answers; any IP. Idempotent.
boost::json::object mac_guard_add(const std::string& table, const std::string& tap,
                                  const std::string& mac);

// Rules per chain ("FAMILY CHAIN"): how many `batch` adds (what the kernel lists once it is
// applied), and how many a listing (`nft -j list table ...`) shows.
using RuleCounts = std::map<std::string, std::size_t>;
RuleCounts rules_added(const boost::json::object& batch);
RuleCounts rules_listed(std::string_view listing);
// Whether a chain of `want` holds fewer rules in `have`, or is gone: a flushed table or chain
// (`nft flush table` keeps the chains, maps and sets, and drops every rule), a deleted rule.
// A rule beyond them (one an operator inserted) is no loss.
bool rules_missing(const RuleCounts& want, const RuleCounts& have);

}  // namespace qmd::daemon::network
