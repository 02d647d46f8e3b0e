#pragma once
// The managed network's nftables rules, as the JSON batches `nft -j -f` applies atomically.
// Each batch is written for the template table `qmd`; nft_tables.hpp moves it into the
// network's own two tables, qmd-BRIDGE (below: inet qmd, bridge qmd), and qmd touches no other:
//   inet qmd    NAT of the network's CIDR out of every other interface (masquerade), forward
//               accept for the guests' own traffic and its replies, and port forwards (DNAT)
//               in chain `portforwards`, reached for packets to one of the host's addresses;
//               with an IPv6 prefix the same for IPv6 (NAT66 masquerade, forward accept);
//               Link-local 169.254.0.0/16 (cloud metadata) is dropped from the bridge, to the
//               host (input) and beyond (forward);
//   bridge qmd  anti-spoofing: chain `prerouting` sends each frame a guest's tap brings in
//               (map `ports`, tap -> verdict) to that guest's chain vm-TAP, which lets through
//               only its own MAC and IPv4 (DHCP from 0.0.0.0, ARP with its own sender, DHCP
//               to a server only with its own MAC as chaddr) and, on a network with IPv6, its
//               IPv6 lease and EUI-64 link-local (no router advertisements, redirects or
//               DHCPv6 server replies; neighbour discovery only for its own addresses and
//               MAC). Set `nat_taps` holds every tap
//               qmd put on the bridge until it has left it: a frame from one of them without
//               its guard in `ports` is dropped (fail closed).
// Pure: they build JSON and run nothing (nft_apply.hpp does).
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

struct NatRulesPlan {
  std::string bridge;  // qmd0
  Ipv4Cidr cidr;
  std::optional<Ipv6Prefix> ipv6{};  // none: IPv4 only
};

// One guest NIC on the managed bridge.
struct GuestGuard {
  std::string tap;
  std::string mac;  // canonical (leases.hpp)
  std::uint32_t ipv4 = 0;
  std::optional<Ipv6Address> ipv6{};  // its DHCPv6 lease; none: every IPv6 frame is dropped
};

// A host port forwarded to a guest (interfaces[].ports). The lead's port allocation fills it.
struct PortForward {
  enum class Protocol { tcp, udp };
  Protocol protocol = Protocol::tcp;
  std::uint16_t host_port = 0;
  std::uint32_t guest_ipv4 = 0;
  std::uint16_t guest_port = 0;
  bool operator==(const PortForward&) const = default;
};

// Both tables afresh (whatever was in them goes): the network's bring-up.
boost::json::object nat_tables(const NatRulesPlan& plan);
// The guard of one guest (idempotent: an existing chain of that name is refilled).
boost::json::object guard_add(const GuestGuard& guard);
// Takes `tap` out of set nat_taps: only once it has left the bridge.
boost::json::object tap_forget(const std::string& tap);
// Puts `tap` (a port of the bridge that is no guest's) in set nat_taps: its frames drop.
boost::json::object tap_remember(const std::string& tap);
// Several batches as one transaction (all applied, or none).
boost::json::object joined(std::vector<boost::json::object> batches);
// Removes the guard; fails (as a whole) when any part is missing: guard_remove_steps()
// gives the same commands one by one for a best-effort removal.
boost::json::object guard_remove(const std::string& tap);
std::vector<boost::json::object> guard_remove_steps(const std::string& tap);
// Replaces every port forward with `forwards` in one step.
boost::json::object port_forwards_replace(const std::vector<PortForward>& forwards);
// Removes both tables (the network's teardown); fails when either is missing:
// tables_delete_steps() is the best-effort form (inet, then bridge).
boost::json::object tables_delete();
std::vector<boost::json::object> tables_delete_steps();

// One command (a step of the *_steps lists) as a batch of its own.
boost::json::object one_command(boost::json::object command);

// The name of a guest's chain: "vm-" + tap.
std::string guard_chain(const std::string& tap);

}  // namespace qmd::daemon::network
