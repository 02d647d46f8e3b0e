#pragma once
// qmd's command line: flags override /etc/qmd/qmd.yaml.
#include <expected>
#include <string>
#include <vector>

#include "daemon/config.hpp"

namespace qmd::daemon {

struct DaemonFlags {
  std::string config_path = std::string(kDefaultConfigPath);
  std::string socket, state_dir, run_dir, log_dir, qemu_user, group, log_level = "info";
  std::string masquerade;  // --masquerade nat|user; empty: the config's network.masquerade
  std::string qemu_uids;   // --qemu-uids FIRST:COUNT; empty: the config's qemuUids
  std::vector<std::string> storage_roots;  // --storage-root, repeated
  bool emulation = false;
  bool help = false;
  bool version = false;
  bool print_seccomp = false;
};

// An error is a usage message (exit 2).
std::expected<DaemonFlags, std::string> parse_daemon_flags(int argc, char** argv);
// The config file with the flags on top.
std::expected<Config, std::string> daemon_config(const DaemonFlags& flags);

extern const char* const kDaemonUsage;

}  // namespace qmd::daemon
