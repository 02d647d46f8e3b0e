#include "daemon/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <utility>

#include "daemon/config_parts.hpp"
#include "daemon/network/cidr.hpp"
#include "policy/claims.hpp"
#include "policy/source_map.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::daemon {

namespace config_parts {

constexpr std::size_t kMaxIfName = 15;  // IFNAMSIZ - 1

std::optional<std::string> bad_ifname(const std::string& name) {
  if (name.empty() || name.size() > kMaxIfName) {
    return fmt::format("is {} characters; a Linux interface name has 1 to {}", name.size(),
                       kMaxIfName);
  }
  if (name == "." || name == "..") {
    return std::string("is not an interface name");
  }
  const bool bad_char = std::ranges::any_of(name, [](char c) {
    return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
  });
  if (bad_char) {
    return std::string("has a character an interface name cannot hold ('/', ':', space or "
                       "control)");
  }
  return std::nullopt;
}

}  // namespace config_parts

namespace {

using config_parts::bad_ifname;
using policy::SpecError;
using policy::SpecErrors;
using policy::yaml::MapReader;

constexpr std::size_t kMaxConfigBytes = 1 << 20;  // a config is a few hundred bytes

// A directory or binary path the daemon uses regardless of its working directory.
void read_absolute(MapReader& top, std::string_view key, std::string& out) {
  std::optional<std::string> value;
  top.read(key, value);
  if (!value) {
    return;
  }
  if (!value->starts_with('/')) {
    top.error_at(key, fmt::format("\"{}\" is not an absolute path; write it from /", *value));
    return;
  }
  out = *value;
}

void read_hyperv(MapReader& top, Config& out) {
  std::optional<std::string> value;
  top.read("hyperv", value);
  if (!value) {
    return;
  }
  if (*value == "strict") {
    out.hyperv = policy::RunPolicy::Hyperv::strict;
  } else if (*value == "bestEffort") {
    out.hyperv = policy::RunPolicy::Hyperv::best_effort;
  } else {
    top.error_at("hyperv", fmt::format("\"{}\" is not one of strict, bestEffort", *value));
  }
}

// network.ports: {range: 20000-20999}: where forwarded ports (interfaces[].ports) go when
// their own number is taken on the host.
void read_port_range(MapReader& network, Config& out) {
  network.read_map("ports", [&out](MapReader& ports) {
    std::optional<std::string> range;
    ports.read("range", range);
    if (!range) {
      return;
    }
    unsigned low = 0;
    unsigned high = 0;
    char dash = 0;
    char extra = 0;
    if (std::sscanf(range->c_str(), "%u %c %u %c", &low, &dash, &high, &extra) != 3 ||
        dash != '-' || low == 0 || high > 65535 || low > high) {
      ports.error_at("range", fmt::format("\"{}\" is not a port range such as 20000-20999",
                                          *range));
      return;
    }
    out.forward_ports = {static_cast<std::uint16_t>(low), static_cast<std::uint16_t>(high)};
  });
}

// network: {masquerade: nat|user, nat: {bridge: qmd0, ipv4: 10.91.0.0/24, dns: true,
//                                       ipv6: fd12:3456:789a:1::/64 | auto},
//           ports: {range: 20000-20999}}
void read_network(MapReader& top, Config& out) {
  top.read_map("network", [&out](MapReader& map) {
    std::optional<std::string> mode;
    map.read("masquerade", mode);
    if (mode == "nat") {
      out.network.masquerade = NetworkConfig::Masquerade::nat;
    } else if (mode == "user") {
      out.network.masquerade = NetworkConfig::Masquerade::user;
    } else if (mode) {
      map.error_at("masquerade", fmt::format("\"{}\" is not one of nat, user", *mode));
    }
    map.read_map("nat", [&out](MapReader& nat) {
      std::optional<std::string> text;
      nat.read("bridge", text);
      if (text) {
        if (auto why = bad_ifname(*text)) {
          nat.error_at("bridge", fmt::format("bridge \"{}\" {}", *text, *why));
        }
        out.network.nat.bridge = *text;
      }
      text.reset();
      nat.read("ipv4", text);
      if (text) {
        auto cidr = network::parse_cidr(*text);
        if (!cidr) {
          nat.error_at("ipv4", cidr.error());
        } else if (cidr->prefix < network::kMinNatPrefix || cidr->prefix > network::kMaxNatPrefix) {
          nat.error_at("ipv4", fmt::format("{}: use a prefix from /{} to /{}", *text,
                                           network::kMinNatPrefix, network::kMaxNatPrefix));
        }
        out.network.nat.ipv4 = *text;
      }
      std::optional<bool> dns;
      nat.read("dns", dns);
      out.network.nat.dns = dns.value_or(out.network.nat.dns);
      text.reset();
      nat.read("ipv6", text);
      if (text) {
        config_parts::check_ipv6(nat, "ipv6", *text, out);
        out.network.nat.ipv6 = *text;
      }
    });
    read_port_range(map, out);
  });
}

// migration: {address: 192.0.2.10, ports: 49152-49215, tls: {dir: /etc/qmd/migration-tls},
//             ssh: {identity: /etc/qmd/migration-ssh/id_ed25519, knownHosts: ...}}
void read_migration(MapReader& top, Config& out) {
  auto node = top.take("migration");
  if (!node) {
    return;
  }
  MapReader migration(top.doc(), *node, top.child_path("migration"), top.key_mark("migration"));
  if (!node->IsMap()) {
    return;  // the reader has said so
  }
  std::optional<std::string> address;
  migration.read("address", address);
  out.migration_address = address.value_or("");
  read_absolute(migration, "sshConfig", out.migration_ssh_config);
  migration.read_map("ssh", [&out](MapReader& ssh) {
    ssh.require("identity");
    ssh.require("knownHosts");
    read_absolute(ssh, "identity", out.migration_ssh_identity);
    read_absolute(ssh, "knownHosts", out.migration_ssh_known_hosts);
  });
  // The files are read when a migration needs them (qmctl reads this config too, and may
  // not be allowed into the directory).
  migration.read_map("tls", [&out](MapReader& tls) {
    tls.require("dir");
    read_absolute(tls, "dir", out.migration_tls_dir);
  });
  std::optional<std::string> qmctl;
  migration.read("remoteQmctl", qmctl);
  out.migration_remote_qmctl = qmctl.value_or(out.migration_remote_qmctl);
  std::optional<std::string> ports;
  migration.read("ports", ports);
  if (ports) {
    unsigned low = 0;
    unsigned high = 0;
    char dash = 0;
    char extra = 0;
    if (std::sscanf(ports->c_str(), "%u %c %u %c", &low, &dash, &high, &extra) != 3 ||
        dash != '-' || low == 0 || high > 65535 || low > high) {
      migration.error_at("ports", fmt::format("\"{}\" is not a port range such as "
                                              "49152-49215",
                                              *ports));
    } else {
      out.migration_port_min = static_cast<std::uint16_t>(low);
      out.migration_port_max = static_cast<std::uint16_t>(high);
    }
  }
}


// api: {maxConnections: 256, maxConnectionsPerUser: 32, writeTimeoutSeconds: 10}
void read_api(MapReader& top, Config& out) {
  top.read_map("api", [&out](MapReader& api) {
    const auto positive = [&api](std::string_view key, std::uint32_t& field) {
      std::optional<std::uint32_t> value;
      api.read(key, value);
      if (value && *value == 0) {
        api.error_at(key, "must be 1 or more");
      } else if (value) {
        field = *value;
      }
    };
    positive("maxConnections", out.api_max_connections);
    if (out.api_max_connections < 8) {  // below that the share kept for root is everything
      api.error_at("maxConnections", fmt::format("{} is too few: use 8 or more (the last "
                                                 "eighth, at least 4, is kept for root)",
                                                 out.api_max_connections));
    }
    positive("maxConnectionsPerUser", out.api_max_connections_per_user);
    positive("writeTimeoutSeconds", out.api_write_timeout_seconds);
  });
}

// "300s", "5m", "1h", "500ms": a number and a unit, nothing else.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || digits > 9) {
    return std::nullopt;
  }
  const long long value = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit == "ms") {
    return std::chrono::milliseconds{value};
  }
  if (unit == "s") {
    return std::chrono::seconds{value};
  }
  if (unit == "m") {
    return std::chrono::minutes{value};
  }
  if (unit == "h") {
    return std::chrono::hours{value};
  }
  return std::nullopt;
}

// A duration key between `min` and `max`; nothing when absent or wrong (reported).
std::optional<std::chrono::milliseconds> read_duration(MapReader& map, std::string_view key,
                                                       std::chrono::milliseconds min,
                                                       std::chrono::milliseconds max) {
  std::optional<std::string> text;
  map.read(key, text);
  if (!text) {
    return std::nullopt;
  }
  const auto value = parse_duration(*text);
  if (!value) {
    map.error_at(key, fmt::format("\"{}\" is not a duration such as 300s, 5m or 500ms", *text));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    map.error_at(key, fmt::format("{} is out of range: use {} ms to {} s", *text, min.count(),
                                  std::chrono::duration_cast<std::chrono::seconds>(max).count()));
    return std::nullopt;
  }
  return value;
}

// qemuUids: {first: 1879048192, count: 65536}; the clash with the host's users is checked
// by qmd at start (uid_clash.hpp), where /etc is the host's.
void read_qemu_uids(MapReader& top, Config& out) {
  top.read_map("qemuUids", [&out](MapReader& map) {
    std::optional<std::uint32_t> first;
    std::optional<std::uint32_t> count;
    map.read("first", first);
    map.read("count", count);
    out.qemu_uids.first = first.value_or(out.qemu_uids.first);
    out.qemu_uids.count = count.value_or(out.qemu_uids.count);
    if (out.qemu_uids.count == 0) {
      map.error_at("count", "must be 1 or more (one uid per VM)");
    } else if (out.qemu_uids.end() > (std::uint64_t{1} << 31)) {
      map.error_at(count ? "count" : "first",
                   fmt::format("{} + {} reaches past 2147483647: uids from 2147483648 on read "
                               "as negative numbers to many tools",
                               out.qemu_uids.first, out.qemu_uids.count));
    }
  });
}

// hostShutdown: {action: shutdown|suspend|none, timeout: 300s}
void read_host_shutdown(MapReader& top, Config& out) {
  top.read_map("hostShutdown", [&out](MapReader& map) {
    std::optional<std::string> action;
    map.read("action", action);
    if (action == "shutdown") {
      out.host_shutdown.action = HostShutdownConfig::Action::shutdown;
    } else if (action == "none") {
      out.host_shutdown.action = HostShutdownConfig::Action::none;
    } else if (action == "suspend") {
      out.host_shutdown.action = HostShutdownConfig::Action::suspend;
    } else if (action) {
      map.error_at("action", fmt::format("\"{}\" is not one of shutdown, suspend, none",
                                         *action));
    }
    using namespace std::chrono_literals;
    if (auto timeout = read_duration(map, "timeout", 1s, 24h)) {
      out.host_shutdown.timeout = std::chrono::ceil<std::chrono::seconds>(*timeout);
    }
  });
}

// autostart: {order: [db, web], delay: 5s}
void read_autostart(MapReader& top, Config& out) {
  top.read_map("autostart", [&out](MapReader& map) {
    using namespace std::chrono_literals;
    if (auto delay = read_duration(map, "delay", 0ms, 1h)) {
      out.autostart.delay = *delay;
    }
    auto order = map.take("order");
    if (!order || order->IsNull()) {
      return;
    }
    if (!order->IsSequence()) {
      map.error_at("order", "expected a list of VM names such as [db, web]");
      return;
    }
    static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    for (const auto& item : *order) {
      const std::string name = item.IsScalar() ? item.Scalar() : std::string();
      if (name.size() > 63 || !std::regex_match(name, kName)) {
        map.error_at("order", fmt::format("{} is not a VM name (lowercase letters, digits and "
                                          "'-')",
                                          policy::yaml::describe(item)));
      } else if (std::ranges::find(out.autostart.order, name) != out.autostart.order.end()) {
        map.error_at("order", fmt::format("{} is listed twice; list each VM once", name));
      } else {
        out.autostart.order.push_back(name);
      }
    }
  });
}

void read_roots(MapReader& storage, const YAML::Node& roots, Config& out) {
  if (!roots.IsSequence()) {
    storage.error_at("roots", fmt::format("expected a list of directories, got {}",
                                          policy::yaml::describe(roots)));
    return;
  }
  for (const auto& item : roots) {
    std::string root = item.IsScalar() ? item.Scalar() : std::string();
    while (root.size() > 1 && root.ends_with('/')) {
      root.pop_back();
    }
    if (!root.starts_with('/')) {
      storage.error_at("roots", fmt::format("{} is not an absolute directory; write each root "
                                            "from /",
                                            policy::yaml::describe(item)));
      continue;
    }
    out.storage_roots.push_back(root);
  }
}

// storage.claims / storage.images: a directory strictly beneath a root (by its name: the
// daemon opens what is in it beneath that root, never through a link).
void read_store_dir(MapReader& storage, std::string_view key, const Config& config,
                    std::string& out) {
  read_absolute(storage, key, out);
  while (out.size() > 1 && out.ends_with('/')) {
    out.pop_back();
  }
  if (out.empty()) {
    return;
  }
  const auto roots = storage_roots(config);
  const bool beneath = std::ranges::any_of(roots, [&](const std::string& root) {
    return out.size() > root.size() && out.starts_with(root) &&
           (root == "/" || out[root.size()] == '/');
  });
  if (!beneath || out.find("/../") != std::string::npos || out.ends_with("/..")) {
    storage.error_at(key, fmt::format("{} is not beneath a storage root ({}); put it in one, "
                                      "or add a root that holds it to storage.roots",
                                      out, fmt::join(roots, ", ")));
  }
}

// storage: {roots: [/srv/vm-disks, /var/lib/qmd/storage], claims: DIR, images: DIR,
//           claimDevices: {NAME: /dev/...}}
void read_storage(MapReader& top, Config& out) {
  top.read_map("storage", [&out](MapReader& storage) {
    if (auto roots = storage.take("roots")) {
      read_roots(storage, *roots, out);
    }
    read_store_dir(storage, "claims", out, out.storage_claims);
    read_store_dir(storage, "images", out, out.storage_images);
    storage.read_string_map("claimDevices", out.claim_devices);
    for (const auto& [name, device] : out.claim_devices) {
      if (!policy::is_claim_name(name)) {
        storage.error_at("claimDevices", policy::claim_name_error(name));
      } else if (!device.starts_with("/dev/")) {
        storage.error_at("claimDevices",
                         fmt::format("claim {}: {} is not a device path; write it from /dev/",
                                     name, device));
      }
    }
  });
}

// secrets: {dir: /etc/qmd/secrets, syncInterval: 60s}
void read_secrets(MapReader& top, Config& out) {
  top.read_map("secrets", [&out](MapReader& map) {
    read_absolute(map, "dir", out.secrets_dir);
    using namespace std::chrono_literals;
    if (auto every = read_duration(map, "syncInterval", 1s, 24h)) {
      out.secrets_sync_interval = *every;
    }
  });
}

void read_config(MapReader& top, Config& out) {
  std::optional<bool> emulation;
  top.read("useEmulation", emulation);
  out.use_emulation = emulation.value_or(out.use_emulation);
  read_hyperv(top, out);
  read_absolute(top, "stateDir", out.state_dir);
  read_absolute(top, "runDir", out.run_dir);
  read_absolute(top, "presetDir", out.preset_dir);
  read_absolute(top, "qemuBinary", out.qemu_binary);
  (void)top.has("bridges");  // known before network, as the document lists its keys
  read_network(top, out);
  config_parts::read_bridges(top, out);  // after network: checked against the NAT network
  read_migration(top, out);
  read_storage(top, out);
  read_absolute(top, "socket", out.socket);
  read_absolute(top, "logDir", out.log_dir);
  std::optional<std::string> text;
  top.read("qemuUser", text);
  out.qemu_user = text.value_or(out.qemu_user);
  read_qemu_uids(top, out);
  text.reset();
  top.read("group", text);
  out.group = text.value_or(out.group);
  read_api(top, out);
  read_host_shutdown(top, out);
  read_autostart(top, out);
  read_secrets(top, out);
}

SpecError file_error(const std::string& path, std::string message) {
  return SpecError{"", std::move(message), path, {}};
}

}  // namespace

DefaultDirs default_dirs() {
  if (::geteuid() == 0) {
    return {"/var/lib/qmd", "/run/qmd"};
  }
  const char* home = std::getenv("HOME");
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  const std::string home_dir = home != nullptr && *home == '/' ? home : "/tmp";
  const std::string run_base = runtime != nullptr && *runtime == '/'
                                   ? std::string(runtime)
                                   : fmt::format("/tmp/qmd-run-{}", ::geteuid());
  return {home_dir + "/.local/share/qmd", run_base + "/qmd"};
}

Config default_config() {
  Config config;
  const DefaultDirs dirs = default_dirs();
  config.state_dir = dirs.state_dir;
  config.run_dir = dirs.run_dir;
  return config;
}

std::string default_storage_root(const Config& config) { return config.state_dir + "/storage"; }

std::vector<std::string> storage_roots(const Config& config) {
  if (config.storage_roots.empty()) {
    return {default_storage_root(config)};
  }
  return config.storage_roots;
}

std::string claims_dir(const Config& config) {
  return config.storage_claims.empty() ? storage_roots(config).front() + "/claims"
                                       : config.storage_claims;
}

std::string images_dir(const Config& config) {
  return config.storage_images.empty() ? storage_roots(config).front() + "/images"
                                       : config.storage_images;
}

std::string secrets_dir(const Config& config) {
  return config.secrets_dir.empty() ? config.state_dir + "/secrets" : config.secrets_dir;
}

NetworkConfig::Masquerade masquerade_mode(const Config& config) {
  if (config.network.masquerade) {
    return *config.network.masquerade;
  }
  return ::geteuid() == 0 ? NetworkConfig::Masquerade::nat : NetworkConfig::Masquerade::user;
}

std::string socket_path(const Config& config) {
  return config.socket.empty() ? config.run_dir + "/qmd.sock" : config.socket;
}

std::string default_socket_path() {
  const char* env = std::getenv("QMD_SOCKET");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return socket_path(default_config());
}

std::expected<Config, SpecErrors> parse_config(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return std::unexpected(SpecErrors{SpecError{"", fmt::format("YAML syntax error: {}", e.msg),
                                                file, {e.mark.line + 1, e.mark.column + 1}}});
  }
  Config config = default_config();
  if (root.IsNull()) {
    return config;  // only comments: every default
  }
  if (!root.IsMap()) {
    return std::unexpected(SpecErrors{SpecError{
        "", fmt::format("expected a mapping of settings such as `hyperv: strict`, got {}",
                        policy::yaml::describe(root)),
        file, policy::yaml::mark_of(root)}});
  }
  policy::SourceMap source;
  source.set_file(file);
  SpecErrors errors;
  {
    policy::yaml::Document doc(source, errors);
    MapReader top(doc, root, "", {1, 1});
    read_config(top, config);
  }  // unknown keys are reported here, when the reader goes
  if (!errors.empty()) {
    std::ranges::stable_sort(errors, [](const SpecError& a, const SpecError& b) {
      return std::pair(a.mark.line, a.mark.column) < std::pair(b.mark.line, b.mark.column);
    });
    return std::unexpected(std::move(errors));
  }
  return config;
}

std::expected<Config, SpecErrors> load_config(const std::string& path) {
  return load_config(path, path == kDefaultConfigPath ? IfMissing::use_defaults : IfMissing::fail);
}

std::expected<Config, SpecErrors> load_config(const std::string& path, IfMissing if_missing) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    if (if_missing == IfMissing::use_defaults) {
      return default_config();
    }
    return std::unexpected(SpecErrors{
        file_error(path, "the config file does not exist; give the path of a qmd.yaml")});
  }
  if (std::filesystem::is_directory(status)) {
    return std::unexpected(
        SpecErrors{file_error(path, "the config path is a directory, not a file")});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(SpecErrors{file_error(
        path, fmt::format("cannot open the config file: {}", std::strerror(errno)))});
  }
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return std::unexpected(SpecErrors{file_error(
        path, fmt::format("cannot read the config file: {}", std::strerror(errno)))});
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return std::unexpected(SpecErrors{
        file_error(path, "the config file is larger than 1 MiB; check the path")});
  }
  return parse_config(text, path);
}

}  // namespace qmd::daemon
