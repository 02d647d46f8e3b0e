#pragma once
// The daemon's configuration file (/etc/qmd/qmd.yaml): how VMs run on this host. qmd and
// qmctl read it; qmctl's flags override it.
#include <expected>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policy/spec_error.hpp"
#include "policy/validate.hpp"

namespace qmd::daemon {

inline constexpr std::string_view kDefaultConfigPath = "/etc/qmd/qmd.yaml";

struct Config {
  bool use_emulation = false;  // useEmulation: TCG instead of KVM
  policy::RunPolicy::Hyperv hyperv = policy::RunPolicy::Hyperv::strict;
  std::string state_dir = "/var/lib/qmd";  // per-VM persistent state in <stateDir>/vms/NAME
  std::string run_dir = "/run/qmd";        // per-VM sockets in <runDir>/vms/NAME
  std::string preset_dir = "/etc/qmd/presets";
  std::map<std::string, std::string> bridges;  // multus networkName -> host bridge
  std::string qemu_binary = "/usr/bin/qemu-system-x86_64";
  // The daemon's own settings (qmctl ignores them).
  std::string socket;                  // API socket; empty: <runDir>/qmd.sock
  std::string log_dir;                 // qmd's log files; empty: journald/stderr only
  std::string qemu_user = "qmd-qemu";  // QEMU and swtpm run as this user when qmd is root
  std::string group;                   // who may use the API besides root; empty: nobody else
  // Incoming migrations from other hosts: QEMU listens on migration.address (which sources
  // must reach) at a port from migration.ports. Empty: only same-host migrations (unix).
  std::string migration_address;
  std::uint16_t migration_port_min = 49152;  // libvirt's range
  std::uint16_t migration_port_max = 49215;
  // Outgoing migrations to ssh:// destinations: an ssh_config for `ssh -F` (empty: ssh's
  // own defaults for qmd's user) and the qmctl that relays the API on the other host.
  std::string migration_ssh_config;
  std::string migration_remote_qmctl = "qmctl";
  // TLS on every TCP migration, both ways (migration.tls.dir): QEMU's x509 layout, ca-cert.pem,
  // server-cert.pem, server-key.pem, client-cert.pem, client-key.pem. Empty: plaintext.
  std::string migration_tls_dir;
  // storage.roots: the only directories whose files a spec, a hotplug call or an incoming
  // migration may name (disks, ISOs, kernels). Empty: <stateDir>/storage alone.
  std::vector<std::string> storage_roots;

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
