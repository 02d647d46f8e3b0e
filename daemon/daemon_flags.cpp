#include "daemon/daemon_flags.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

namespace qmd::daemon {

const char* const kDaemonUsage = R"(usage: qmd [FLAGS]

The qmd daemon: keeps VM definitions, starts them under seccomp, follows them over QMP and
the guest agent, and answers the HTTP/JSON API on a Unix socket (qmctl uses it).

Flags (each overrides /etc/qmd/qmd.yaml):
  --config FILE       the config file (default /etc/qmd/qmd.yaml; defaults when it is absent)
  --socket PATH       the API socket (default <runDir>/qmd.sock)
  --state-dir DIR     definitions, NVRAM, TPM state (root: /var/lib/qmd; others:
                      ~/.local/share/qmd)
  --run-dir DIR       sockets and pidfiles (root: /run/qmd; others: $XDG_RUNTIME_DIR/qmd)
  --log-dir DIR       also write qmd's log to DIR/qmd.log
  --storage-root DIR  a directory whose files specs may name (repeat for more; replaces
                      storage.roots; default <stateDir>/storage)
  --emulation         run guests under TCG instead of KVM (KubeVirt's useEmulation)
  --masquerade MODE   nat or user: what masquerade interfaces become (network.masquerade;
                      default nat as root, user otherwise; docs/networking.md)
  --qemu-user USER    when root, give USER the claims and images qmd
                      makes (default qmd-qemu); each VM's QEMU runs as a uid of its own
                      (qemuUids); root runs every QEMU as root (test hosts only)
  --qemu-uids F:C     as root: the C uids from F that VMs get theirs from (qemuUids)
  --group GROUP       members of GROUP may use the API (besides root and qmd's own user)
  --log-level LEVEL   trace, debug, info (default), warn, error
  --print-seccomp     print the syscalls QEMU and swtpm are refused, and why
  --version, --help
)";

std::expected<DaemonFlags, std::string> parse_daemon_flags(int argc, char** argv) {
  DaemonFlags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string& out) -> std::expected<void, std::string> {
      if (i + 1 >= argc) {
        return std::unexpected(fmt::format("{} needs a value", arg));
      }
      out = argv[++i];
      return {};
    };
    std::expected<void, std::string> ok;
    if (arg == "--config") {
      ok = value(flags.config_path);
    } else if (arg == "--socket") {
      ok = value(flags.socket);
    } else if (arg == "--state-dir") {
      ok = value(flags.state_dir);
    } else if (arg == "--run-dir") {
      ok = value(flags.run_dir);
    } else if (arg == "--log-dir") {
      ok = value(flags.log_dir);
    } else if (arg == "--storage-root") {
      ok = value(flags.storage_roots.emplace_back());
    } else if (arg == "--qemu-user") {
      ok = value(flags.qemu_user);
    } else if (arg == "--qemu-uids") {
      ok = value(flags.qemu_uids);
    } else if (arg == "--group") {
      ok = value(flags.group);
    } else if (arg == "--log-level") {
      ok = value(flags.log_level);
    } else if (arg == "--masquerade") {
      ok = value(flags.masquerade);
      if (ok && flags.masquerade != "nat" && flags.masquerade != "user") {
        return std::unexpected(
            fmt::format("--masquerade \"{}\": use nat or user", flags.masquerade));
      }
    } else if (arg == "--emulation") {
      flags.emulation = true;
    } else if (arg == "--print-seccomp") {
      flags.print_seccomp = true;
    } else if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--version" || arg == "-V") {
      flags.version = true;
    } else {
      return std::unexpected(fmt::format("unknown flag \"{}\"", arg));
    }
    if (!ok) {
      return std::unexpected(ok.error());
    }
  }
  return flags;
}

namespace {

// --qemu-uids FIRST:COUNT; whether the range clashes is qmd's check at start.
std::expected<UidRange, std::string> parse_uid_range(const std::string& text) {
  const auto number = [](std::string_view part, std::uint32_t& out) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc{} && end == part.data() + part.size();
  };
  const auto colon = text.find(':');
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  if (colon == std::string::npos || !number(std::string_view(text).substr(0, colon), first) ||
      !number(std::string_view(text).substr(colon + 1), count)) {
    return std::unexpected(
        fmt::format("--qemu-uids \"{}\": use FIRST:COUNT (e.g. 1879048192:65536)", text));
  }
  return UidRange{first, count};
}

}  // namespace

std::expected<Config, std::string> daemon_config(const DaemonFlags& flags) {
  auto config = load_config(flags.config_path);
  if (!config) {
    return std::unexpected(policy::to_string(config.error()));
  }
  for (const auto* dir : {&flags.socket, &flags.state_dir, &flags.run_dir, &flags.log_dir}) {
    if (!dir->empty() && !dir->starts_with('/')) {
      return std::unexpected(fmt::format("\"{}\" is not an absolute path", *dir));
    }
  }
  if (!flags.socket.empty()) config->socket = flags.socket;
  if (!flags.state_dir.empty()) config->state_dir = flags.state_dir;
  if (!flags.run_dir.empty()) config->run_dir = flags.run_dir;
  if (!flags.log_dir.empty()) config->log_dir = flags.log_dir;
  if (!flags.qemu_user.empty()) config->qemu_user = flags.qemu_user;
  if (!flags.group.empty()) config->group = flags.group;
  if (!flags.qemu_uids.empty()) {
    auto range = parse_uid_range(flags.qemu_uids);
    if (!range) {
      return std::unexpected(range.error());
    }
    config->qemu_uids = *range;
  }
  if (flags.emulation) config->use_emulation = true;
  if (flags.masquerade == "nat") config->network.masquerade = NetworkConfig::Masquerade::nat;
  if (flags.masquerade == "user") config->network.masquerade = NetworkConfig::Masquerade::user;
  if (!flags.storage_roots.empty()) config->storage_roots = flags.storage_roots;
  return std::move(*config);
}

}  // namespace qmd::daemon
