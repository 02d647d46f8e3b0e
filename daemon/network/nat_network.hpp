#pragma once
// The managed NAT network (network.masquerade: nat) as the runtime sees it: brought up the
// first time a VM needs it, taken over as it stands after a qmd restart, and taken down only
// when told to and no VM uses it. It hands each VM interface its stable address and puts the
// guest's anti-spoofing guard in before the VM's tap joins the bridge. Lives on the loop
// thread; everything that blocks (ip, nft, files) runs on the daemon's pool.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/network/cidr.hpp"
#include "daemon/network/dnsmasq_sidecar.hpp"
#include "daemon/network/host_commands.hpp"
#include "daemon/network/host_setup.hpp"
#include "daemon/network/ipv6.hpp"
#include "daemon/network/leases.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/async/sync.hpp"

namespace qmd::daemon::network {

struct NatSettings {
  std::string bridge;
  Ipv4Cidr cidr;
  bool dns = true;
  std::string state_dir;  // <stateDir>/network: the leases
  std::string run_dir;    // <runDir>/network: dnsmasq's files, the tools' log
  // The same machinery runs each bridge qmd makes for a multus network (bridges: NAME:
  // {bridge: ...}, bridge_networks.hpp); the defaults are the NAT network's.
  std::string label = "NAT network";  // how errors and the log name it
  std::string table;  // nftables tables inet/bridge TABLE: qmd-BRIDGE (nft_tables.hpp)
  bool has_ipv4 = true;  // the bridge has the CIDR's gateway address
  bool dhcp = true;      // leases, dnsmasq, and the guard with the guest's address
  bool nat = true;       // NAT out of the CIDR (and IPv4 forwarding)
  bool nat_network = true;
  std::string cidr_key = "network.nat.ipv4";
  std::string bridge_key = "network.nat.bridge";
  std::string mark;  // the alias qmd sets on a bridge it made (empty: the NAT network's)
  // IPv6 (network/ipv6.hpp): qmd.yaml's value (empty: none, a prefix, or auto), and the
  // prefix it stands for once resolved (load_leases, on the pool).
  std::string ipv6;
  std::optional<Ipv6Prefix> ipv6_prefix;
  std::string ipv6_key = "network.nat.ipv6";
};

// One guest NIC on the network.
struct NatAttachment {
  std::string vm;
  std::string interface;
  std::string tap;
  std::string mac;
  std::uint32_t ipv4 = 0;  // 0: qmd hands out no address there (no DHCP)
  std::optional<Ipv6Address> ipv6{};  // on a network with IPv6: its DHCPv6 address
};

struct NatStatus {
  bool up = false;
  std::string bridge;
  Ipv4Cidr cidr;
  std::optional<Ipv6Prefix> ipv6{};
  pid_t dnsmasq_pid = -1;  // -1: not running
  std::vector<NatAttachment> attached;
  std::vector<Lease> leases;
  std::uint64_t repairs = 0;  // times the watch found the rules gone or altered and rebuilt them
};

class NatNetwork : public std::enable_shared_from_this<NatNetwork> {
 public:
  using Notice = std::function<void(const std::string&)>;
  NatNetwork(asio::any_io_executor executor, asio::thread_pool& pool, NatSettings settings,
             Notice notice);

  // At qmd start, before the VMs are adopted: a network an earlier qmd left up (its bridge
  // is there) is taken over without rebuilding it (dnsmasq adopted, or started when gone;
  // the tables made again only when missing). Stray pieces of one that is not up go.
  asio::awaitable<void> adopt();
  // Before `tap` joins the bridge: the network up, the interface's lease, its guard. The
  // error names what failed; the VM must not start then.
  asio::awaitable<std::expected<NatAttachment, std::string>> attach(std::string vm,
                                                                    std::string interface,
                                                                    std::string mac,
                                                                    std::string tap);
  // After the VM stopped: its guard goes (the lease stays).
  asio::awaitable<void> detach(std::string tap);
  // The VM is deleted: its addresses are free again.
  asio::awaitable<void> forget(std::string vm);
  // An interface attached at run time (not in the VM's definition) is gone: its address is
  // free again.
  asio::awaitable<void> forget_interface(std::string vm, std::string interface);
  // The port forwards of `vm` (interfaces[].ports of its NAT interfaces), replacing what it
  // had; empty: none. Chain portforwards is rewritten with every VM's in one transaction; on
  // failure the VM's previous forwards stay, in the chain and here.
  asio::awaitable<std::expected<void, std::string>> set_vm_forwards(
      std::string vm, std::vector<PortForward> forwards);
  // Bridge, tables and dnsmasq removed; refused while a VM is attached, naming them.
  asio::awaitable<std::expected<void, std::string>> down();

  // After the VMs were adopted (nat_repair.cpp): chain portforwards rewritten with the
  // adopted VMs' forwards only (an earlier run's for a VM not adopted go), then watch().
  asio::awaitable<void> adopted();
  // Every `every`, off the loop thread: qmd's tables, each attached guest's guard and the
  // bridge's ports checked; tables, guards and forwards rebuilt from the attachments when a
  // flush of the host's ruleset or of the tables (fewer rules in a chain) took them (logged
  // and counted in status().repairs), and a port of the bridge that is no guest's dropped.
  void watch(std::chrono::milliseconds every);
  asio::awaitable<void> repair();

  NatStatus status() const;
  std::optional<NatAttachment> attachment(const std::string& vm,
                                          const std::string& interface) const;
  const NatSettings& settings() const { return settings_; }
  // Whether `tap` is attached here (its guard in).
  bool holds(const std::string& tap) const { return attached_.contains(tap); }

 private:
  asio::awaitable<std::expected<void, std::string>> ensure_up();
  // Out of set nat_taps once `tap` has left the bridge (nat_repair.cpp); still on it (held
  // open elsewhere, and not taken off): it stays there, its frames dropped.
  asio::awaitable<void> forget_tap(std::string tap);
  HostSetup host_setup() const;
  // What repair() applies when the rules are gone or altered: both tables afresh with every
  // attached guest's guard and every port forward.
  boost::json::object rebuild_batch() const;
  // The NAT network's: tables `qmd` an older qmd left, removed when nobody's (legacy_tables.hpp).
  asio::awaitable<void> clear_legacy_tables();
  asio::awaitable<std::expected<std::uint32_t, std::string>> lease_for(std::string vm,
                                                                      std::string interface,
                                                                      std::string mac);
  // Whether the bridge is there and this qmd's (blocking: the pool).
  static bool ours(const NatSettings& settings);
  // The leases, and the IPv6 prefix resolved (auto: made and kept).
  asio::awaitable<std::expected<void, std::string>> load_leases();
  // The leases with their IPv6 addresses (none without IPv6).
  std::vector<Lease> leases_now() const;
  asio::awaitable<std::expected<void, std::string>> save_leases();
  asio::awaitable<std::expected<void, std::string>> nft(boost::json::object batch);
  std::string leases_path() const { return settings_.state_dir + "/leases"; }
  std::string hosts_path() const { return settings_.run_dir + "/dhcp-hosts"; }
  DnsmasqFiles dnsmasq_files() const;

  asio::any_io_executor executor_;
  asio::thread_pool& pool_;
  NatSettings settings_;
  Notice notice_;
  ToolPlaces places_;
  AsyncMutex lock_;
  bool up_ = false;
  bool leases_loaded_ = false;
  LeaseTable leases_;
  std::map<std::string, NatAttachment> attached_;  // by tap
  std::map<std::string, std::vector<PortForward>> forwards_;  // by VM
  std::shared_ptr<DnsmasqSidecar> dnsmasq_;
  std::uint64_t repairs_ = 0;
  bool watching_ = false;
  std::set<std::string> strays_;  // bridge ports found that are no guest's (said once)
};

// Whether table bridge `table` has set nat_taps (nat_repair.cpp). Blocking: nft, on the pool.
bool nat_taps_set_exists(const ToolPlaces& places, const std::string& table);

// The network `config` asks for: null when masquerade is user-mode networking.
std::shared_ptr<NatNetwork> nat_network_for(const Config& config, asio::any_io_executor executor,
                                            asio::thread_pool& pool, NatNetwork::Notice notice);

}  // namespace qmd::daemon::network
