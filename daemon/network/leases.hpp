#pragma once
// The managed network's address book: one IPv4 address per VM interface, chosen once (the
// lowest free one after the gateway) and kept across VM and qmd restarts until the VM is
// deleted. dnsmasq serves exactly these (static leases by MAC); nothing else gets an address.
// Stored as <stateDir>/network/leases, one "VM INTERFACE MAC ADDRESS" line each.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "daemon/network/cidr.hpp"
#include "daemon/network/ipv6.hpp"

namespace qmd::daemon::network {

struct Lease {
  std::string vm;
  std::string interface;
  std::string mac;  // lowercase aa:bb:cc:dd:ee:ff
  std::uint32_t ipv4 = 0;
  // On a network with IPv6: the address in its prefix (network/ipv6.hpp). Derived from the
  // IPv4 lease, never stored.
  std::optional<Ipv6Address> ipv6{};
  bool operator==(const Lease&) const = default;
};

class LeaseTable {
 public:
  // Lines that do not parse, or addresses outside `cidr` (the CIDR was changed), are dropped:
  // those VMs get a new address in the new network.
  static LeaseTable parse(const std::string& text, const Ipv4Cidr& cidr);
  std::string to_text() const;

  // The lease of (vm, interface): the existing one (its MAC updated when the spec changed),
  // else a new one. Fails when the network is full, naming it. A MAC another VM's lease
  // holds is refused too: dnsmasq could not tell the two apart.
  std::expected<Lease, std::string> assign(const std::string& vm, const std::string& interface,
                                           const std::string& mac, const Ipv4Cidr& cidr);
  // Drops every lease of `vm`; true when there was one.
  bool release(const std::string& vm);
  // Drops the lease of one interface of `vm` (one attached at run time and gone again);
  // true when there was one.
  bool release(const std::string& vm, const std::string& interface);
  const std::vector<Lease>& leases() const { return leases_; }

 private:
  std::vector<Lease> leases_;
};

// dnsmasq's --dhcp-hostsfile: "MAC,ADDRESS[,[IPV6]],NAME" per lease; NAME (the VM's name, a DNS name
// for the guest) on the VM's first interface only.
std::string dhcp_hosts_text(const std::vector<Lease>& leases);

// A MAC in the canonical form dnsmasq and nftables get, or nothing when it is not one.
std::optional<std::string> canonical_mac(const std::string& text);

}  // namespace qmd::daemon::network
