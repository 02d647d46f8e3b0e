#pragma once
// The managed NAT network in the API: GET /v1/network, and a VM's addresses on it (the
// "natInterfaces" of GET /v1/vms/NAME).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <string>

#include "daemon/network/nat_network.hpp"

namespace qmd::daemon::api {

// {"mode": "nat"|"user", "bridge", "ipv4", "gateway", "up", "dnsmasqPid", "attached": [...],
//  "leases": [...]}; `status` is null in user mode.
//  "bridges": [{"name", "bridge", "ipv4" (null: none), "gateway", "dhcp", "dns", "nat", "up",
//  "dnsmasqPid", "attached", "leases"}]}: the bridges qmd makes for multus networks.
using BridgeNetworks = std::map<std::string, std::shared_ptr<network::NatNetwork>>;
boost::json::object network_json(const network::NatNetwork* nat, const BridgeNetworks& bridges);
// [{"name": INTERFACE, "mac", "ipAddress", "bridge", "attached": bool}] of `vm`'s leases.
boost::json::array nat_interfaces_json(const network::NatNetwork& nat, const std::string& vm);

}  // namespace qmd::daemon::api
