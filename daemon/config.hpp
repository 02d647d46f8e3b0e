#pragma once
// The daemon's configuration file (/etc/qmd/qmd.yaml): how VMs run on this host. qmd and
// qmctl read it; qmctl's flags override it.
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/host/port_range.hpp"
#include "daemon/host/uid_range.hpp"
#include "policy/spec_error.hpp"
#include "policy/validate.hpp"

namespace qmd::daemon {

inline constexpr std::string_view kDefaultConfigPath = "/etc/qmd/qmd.yaml";

// hostShutdown: what `qmctl shutdown-guests` (qmd-guests.service, at host shutdown) does with
// the VMs that run. shutdown: each guest is asked to power off (agent, else ACPI) within its
// terminationGracePeriodSeconds, all at once, and whatever still runs at `timeout` is killed.
// none: nothing (systemd's final SIGTERM then ends QEMU: a power cut for the guest).
struct HostShutdownConfig {
  enum class Action { shutdown, suspend, none };
  Action action = Action::shutdown;
  std::chrono::seconds timeout{300};
  bool operator==(const HostShutdownConfig&) const = default;
};

// autostart: the order in which qmd starts runStrategy Always VMs that are not running when
// it starts (at boot): the VMs in `order` first, in that order, then the others by name,
// `delay` apart.
struct AutostartConfig {
  std::vector<std::string> order;
  std::chrono::milliseconds delay{0};
  bool operator==(const AutostartConfig&) const = default;
};

// network: how `masquerade` interfaces (and KubeVirt's pod network) reach the outside.
// nat: a tap on a bridge qmd creates and owns (network.nat), with DHCP and DNS from a dnsmasq
// sidecar and NAT to the uplink through nftables (docs/networking.md). user: QEMU's user-mode
// networking (SLIRP), no host set-up at all.
struct NatNetworkConfig {
  std::string bridge = "qmd0";
  // Private, and clear of the usual home/office LANs (192.168.0-1.x, 10.0.0.x), SLIRP's
  // 10.0.2.0/24, docker's 172.17.0.0/16, libvirt's 192.168.122.0/24, podman's 10.88.0.0/16,
  // Kubernetes' 10.96.0.0/12 and 10.244.0.0/16 and k3s' 10.42/10.43.
  std::string ipv4 = "10.91.0.0/24";
  bool dns = true;  // dnsmasq answers DNS on the gateway address (forwarding to the host's)
  // Off (empty) by default. A unique local /64 (fd12:3456:789a:1::/64), or "auto": a random
  // RFC 4193 one made once and kept in the state dir. The bridge gets ::1, each guest a
  // stable DHCPv6 address, NAT66 to the uplink (network/ipv6.hpp).
  std::string ipv6;
  bool operator==(const NatNetworkConfig&) const = default;
};
// bridges: {NETNAME: {bridge: qmdlab, ipv4: 10.92.0.0/24, dhcp: true, dns: true, nat: false}}:
// a bridge qmd creates and owns for a multus network (docs/networking.md), beside the NAT
// network. Without ipv4 it is a plain L2 bridge (no address, DHCP or NAT).
struct ManagedBridgeConfig {
  std::string bridge;
  std::string ipv4;  // empty: no address on the bridge
  bool dhcp = true;  // with ipv4: dnsmasq hands each VM NIC a stable address
  bool dns = true;   // with dhcp: dnsmasq answers DNS on the gateway
  bool nat = false;  // with ipv4: NAT to the uplink, as the NAT network
  std::string ipv6;  // with ipv4 and dhcp: as network.nat.ipv6 (NAT66 with nat)
  // Where the entry's keys are in qmd.yaml ("qmd.yaml:4:11"), for errors found at bring-up.
  std::string bridge_at;
  std::string ipv4_at;
  bool operator==(const ManagedBridgeConfig&) const = default;
};
struct NetworkConfig {
  enum class Masquerade { nat, user };
  std::optional<Masquerade> masquerade;  // unset: nat when qmd runs as root, else user
  NatNetworkConfig nat;
  bool operator==(const NetworkConfig&) const = default;
};

struct Config {
  bool use_emulation = false;  // useEmulation: TCG instead of KVM
  policy::RunPolicy::Hyperv hyperv = policy::RunPolicy::Hyperv::strict;
  std::string state_dir = "/var/lib/qmd";  // per-VM persistent state in <stateDir>/vms/NAME
  std::string run_dir = "/run/qmd";        // per-VM sockets in <runDir>/vms/NAME
  std::string preset_dir = "/etc/qmd/presets";
  std::map<std::string, std::string> bridges;  // multus networkName -> host bridge
  // The entries of `bridges` that are bridges qmd makes (also in `bridges`, by bridge name).
  std::map<std::string, ManagedBridgeConfig> managed_bridges;
  NetworkConfig network;
  std::string qemu_binary = "/usr/bin/qemu-system-x86_64";
  // The daemon's own settings (qmctl ignores them).
  std::string socket;                  // API socket; empty: <runDir>/qmd.sock
  std::string log_dir;                 // qmd's log files; empty: journald/stderr only
  // A root qmd runs each VM's QEMU and sidecars as a uid of its own from qemu_uids; qemu_user
  // owns the claims and images qmd makes in the storage roots. qemu_user root
  // keeps every QEMU root's (a test host whose /dev/net/tun is root's alone).
  std::string qemu_user = "qmd-qemu";
  UidRange qemu_uids;
  std::string group;                   // who may use the API besides root; empty: nobody else
  // Incoming migrations from other hosts: QEMU listens on migration.address (which sources
  // must reach) at a port from migration.ports. Empty: only same-host migrations (unix).
  std::string migration_address;
  std::uint16_t migration_port_min = 49152;  // libvirt's range
  std::uint16_t migration_port_max = 49215;
  // network.ports.range: where a forwarded port (interfaces[].ports) goes when its own
  // number is taken on the host. Empty: nowhere (the VM does not start).
  PortRange forward_ports;
  // Outgoing migrations to ssh:// destinations: an ssh_config for `ssh -F` (empty: none,
  // not even qmd's user's own) and the qmctl that relays the API on the other host.
  std::string migration_ssh_config;
  // migration.ssh: the key and the known hosts every ssh:// migration uses (nothing else of
  // the user qmd runs as); without both, ssh:// destinations are refused.
  std::string migration_ssh_identity;
  std::string migration_ssh_known_hosts;
  std::string migration_remote_qmctl = "qmctl";
  // TLS on every TCP migration, both ways (migration.tls.dir): QEMU's x509 layout, ca-cert.pem,
  // server-cert.pem, server-key.pem, client-cert.pem, client-key.pem. Empty: plaintext.
  std::string migration_tls_dir;
  // The API's limits (api: in qmd.yaml): open connections in total and per uid other than
  // root and qmd's own (root keeps a reserve), and how long a stream (events --follow, a
  // console) may take to hand one write to a client before it is dropped.
  std::uint32_t api_max_connections = 256;
  std::uint32_t api_max_connections_per_user = 32;
  std::uint32_t api_write_timeout_seconds = 10;
  HostShutdownConfig host_shutdown;
  AutostartConfig autostart;
  // storage.roots: the only directories whose files a spec, a hotplug call or an incoming
  // migration may name (disks, ISOs, kernels). Empty: <stateDir>/storage alone.
  std::vector<std::string> storage_roots;
  // storage.claims / storage.images: where persistentVolumeClaim and dataVolume claims
  // (<claims>/NAME.qcow2|.img|.raw) and the containerDisk image store live, each beneath a
  // storage root. Empty: claims/ and images/ in the first storage root.
  std::string storage_claims;
  std::string storage_images;
  // storage.claimDevices: claims that are block devices, by claim name (the administrator's
  // paths, outside the roots as devices are).
  std::map<std::string, std::string> claim_devices;
  // secrets: the local stand-in for Kubernetes secrets (accessCredentials): secret NAME is
  // the directory (or file) <dir>/NAME. Empty dir: <stateDir>/secrets. Keys are re-read and
  // pushed to the guest every syncInterval, and whenever its agent connects.
  std::string secrets_dir;
  std::chrono::milliseconds secrets_sync_interval{60000};

  bool operator==(const Config&) const = default;
};

// Where state lives when neither the config nor a flag says: for root /var/lib/qmd and
// /run/qmd; for anyone else ~/.local/share/qmd and $XDG_RUNTIME_DIR/qmd (a developer can run
// qmd without root).
struct DefaultDirs {
  std::string state_dir;
  std::string run_dir;
};
DefaultDirs default_dirs();
// The config defaults for whoever runs this process (default_dirs() applied).
Config default_config();
// The storage roots in force: storage.roots, or <stateDir>/storage when none is set.
std::vector<std::string> storage_roots(const Config& config);
// <stateDir>/storage, the root qmd makes itself when storage.roots is not set.
std::string default_storage_root(const Config& config);
// The claims and image store directories in force (storage.claims, storage.images).
std::string claims_dir(const Config& config);
std::string images_dir(const Config& config);
// The secrets directory in force: secrets.dir, or <stateDir>/secrets.
std::string secrets_dir(const Config& config);
// network.masquerade in force: the setting, else nat for root and user for anyone else.
NetworkConfig::Masquerade masquerade_mode(const Config& config);
// <runDir>/qmd.sock for `config`, or its explicit `socket`.
std::string socket_path(const Config& config);
// Where qmctl looks for qmd: $QMD_SOCKET, else socket_path(default_config()).
std::string default_socket_path();

// What to do when the config file does not exist.
enum class IfMissing { use_defaults, fail };

// Parses a config document; `file` names it in errors. Every error, not just the first, each
// with the key's path and file:line:col. Empty text (or only comments) means all defaults.
std::expected<Config, policy::SpecErrors> parse_config(const std::string& text,
                                                       const std::string& file);

// Reads and parses `path`. A missing file means defaults at kDefaultConfigPath (a host
// without a config) and is an error anywhere else (a path someone chose).
std::expected<Config, policy::SpecErrors> load_config(const std::string& path);
std::expected<Config, policy::SpecErrors> load_config(const std::string& path,
                                                      IfMissing if_missing);

}  // namespace qmd::daemon
