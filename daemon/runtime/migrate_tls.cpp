#include "daemon/runtime/migrate_tls.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/migrate_tls_key.hpp"
#include "daemon/store/remove_tree.hpp"
#include "qmp/commands.hpp"

namespace qmd::daemon::migrate_tls {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxPemBytes = 1 << 20;  // a certificate or key is a few KiB

std::expected<std::string, std::string> read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::string bytes(kMaxPemBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) {
    return std::unexpected(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.empty() || bytes.size() > kMaxPemBytes) {
    return std::unexpected(fmt::format("{} is {}; it should hold one PEM file", path,
                                       bytes.empty() ? "empty" : "larger than 1 MiB"));
  }
  return bytes;
}

// Writes `bytes` as the new file `name` in `dir` (`shown` in errors) that only its owner
// reads; never through a link.
std::expected<void, std::string> write_private(
    int dir, const std::string& name, const std::string& shown, const std::string& bytes,
    const std::optional<std::pair<uid_t, gid_t>>& owner) {
  UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600));
  if (!fd) {
    return std::unexpected(fmt::format("create {}: {}", shown, std::strerror(errno)));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) {
      return std::unexpected(fmt::format("write {}: {}", shown, std::strerror(errno)));
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  if (owner && ::fchown(fd.get(), owner->first, owner->second) != 0) {
    return std::unexpected(
        fmt::format("chown {} to the QEMU user: {}", shown, std::strerror(errno)));
  }
  return {};
}

// The creds, then the secret they use (best effort: either may be absent).
asio::awaitable<void> delete_objects(qmp::QmpClient& qmp) {
  json::object creds;
  creds["id"] = kCredsId;
  (void)co_await qmp.execute("object-del", std::move(creds));
  json::object secret;
  secret["id"] = kKeySecretId;
  (void)co_await qmp.execute("object-del", std::move(secret));
}

std::string unreadable(const std::string& why, Endpoint endpoint) {
  return fmt::format("migration.tls.dir: {} (the {} needs {} there, in QEMU's x509 layout)", why,
                     endpoint == Endpoint::server ? "destination" : "source",
                     fmt::join(needed_files(endpoint), ", "));
}

}  // namespace

std::vector<std::string> needed_files(Endpoint endpoint) {
  if (endpoint == Endpoint::server) {
    return {"ca-cert.pem", "server-cert.pem", "server-key.pem"};
  }
  return {"ca-cert.pem", "client-cert.pem", "client-key.pem"};
}

std::string private_dir(const std::string& run_dir) { return run_dir + "/migration-tls"; }

std::string tcp_host(const std::string& uri) {
  if (!uri.starts_with("tcp:")) {
    return {};
  }
  const std::string rest = uri.substr(4);
  const auto colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

std::optional<Setup> for_uri(const Config& config, const std::string& run_dir,
                             const std::string& uri, Endpoint endpoint,
                             std::optional<std::pair<uid_t, gid_t>> owner) {
  if (config.migration_tls_dir.empty() || !uri.starts_with("tcp:")) {
    return std::nullopt;
  }
  Setup setup;
  setup.endpoint = endpoint;
  setup.config_dir = config.migration_tls_dir;
  setup.private_dir = private_dir(run_dir);
  setup.owner = owner;
  if (endpoint == Endpoint::client) {
    setup.hostname = tcp_host(uri);
  }
  return setup;
}

std::optional<std::string> incoming_refusal(const Config& config, bool source_tls,
                                            bool over_tcp) {
  if (!over_tcp) {
    return std::nullopt;  // a unix socket: the stream never leaves this host
  }
  const bool here = !config.migration_tls_dir.empty();
  if (here && !source_tls) {
    return std::string(
        "this qmd takes migrations over TCP only with TLS (migration.tls is set here) and the "
        "source sends plaintext: configure migration.tls on the source, with certificates "
        "from the same CA");
  }
  if (!here && source_tls) {
    return std::string(
        "the source migrates over TLS (its migration.tls) but this qmd has no migration.tls: "
        "configure migration.tls here, with certificates from the same CA");
  }
  return std::nullopt;
}

std::optional<std::string> unusable(const Config& config, Endpoint endpoint) {
  if (config.migration_tls_dir.empty()) {
    return std::nullopt;
  }
  for (const auto& name : needed_files(endpoint)) {
    if (auto bytes = read_pem(config.migration_tls_dir + "/" + name); !bytes) {
      return unreadable(bytes.error(), endpoint);
    }
  }
  return std::nullopt;
}

// The run dir belongs to the QEMU user, who could swap a name in it for a link while root
// works there: every step goes through descriptors opened without following links, and
// the directory stays root's, so QEMU may only pass through it to the files it owns.
std::expected<std::string, std::string> stage(const Setup& setup) {
  const fs::path where(setup.private_dir);
  const std::string name = where.filename();
  UniqueFd parent = open_dir_nofollow(AT_FDCWD, where.parent_path().c_str());
  if (!parent) {
    return std::unexpected(
        fmt::format("open {}: {}", where.parent_path().string(), std::strerror(errno)));
  }
  remove_tree_at(parent.get(), name.c_str());  // a copy left by a qmd that died mid-migration
  if (::mkdirat(parent.get(), name.c_str(), 0700) != 0) {
    return std::unexpected(fmt::format("make {}: {}", setup.private_dir, std::strerror(errno)));
  }
  UniqueFd dir = open_dir_nofollow(parent.get(), name.c_str());
  if (!dir || ::fchmod(dir.get(), setup.owner ? 0711 : 0700) != 0) {
    return std::unexpected(fmt::format("open {}: {}", setup.private_dir, std::strerror(errno)));
  }
  auto password = new_key_password();
  if (!password) {
    return std::unexpected(password.error());
  }
  for (const auto& file : needed_files(setup.endpoint)) {
    auto bytes = read_pem(setup.config_dir + "/" + file);
    if (!bytes) {
      return std::unexpected(unreadable(bytes.error(), setup.endpoint));
    }
    if (file.ends_with("-key.pem")) {
      // Only the QEMU that gets the password (enable) can use this copy.
      bytes = encrypt_key(*bytes, *password);
      if (!bytes) {
        return std::unexpected(
            unreadable(fmt::format("{}: {}", file, bytes.error()), setup.endpoint));
      }
    }
    if (auto written = write_private(dir.get(), file, setup.private_dir + "/" + file, *bytes,
                                     setup.owner);
        !written) {
      return std::unexpected(written.error());
    }
  }
  return *password;
}

asio::awaitable<std::expected<void, std::string>> enable(qmp::QmpClient& qmp, const Setup& setup,
                                                         asio::thread_pool& pool) {
  // Off the loop thread: the key's encryption runs PBKDF2 (tenths of a second).
  auto job = [setup] { return stage(setup); };
  auto staged = co_await run_blocking(pool, std::move(job));
  if (!staged) {
    (void)remove_tree(setup.private_dir);
    co_return std::unexpected(staged.error());
  }
  // Ones left by a migration that never reached its clean-up (qmd died): out of the way.
  co_await delete_objects(qmp);
  json::object secret;
  secret["qom-type"] = "secret";
  secret["id"] = kKeySecretId;
  secret["data"] = *staged;
  auto keyed = co_await qmp.execute("object-add", std::move(secret));
  if (!keyed) {
    (void)remove_tree(setup.private_dir);
    co_return std::unexpected(
        fmt::format("object-add secret (the key's password): {}", keyed.error().to_string()));
  }
  json::object creds;
  creds["qom-type"] = "tls-creds-x509";
  creds["id"] = kCredsId;
  creds["endpoint"] = setup.endpoint == Endpoint::server ? "server" : "client";
  creds["dir"] = setup.private_dir;
  creds["verify-peer"] = true;  // the server asks for a client certificate from the same CA
  creds["passwordid"] = kKeySecretId;
  auto added = co_await qmp.execute("object-add", std::move(creds));
  if (!added) {
    co_return std::unexpected(fmt::format("object-add tls-creds-x509 ({}): {}",
                                          setup.config_dir, added.error().to_string()));
  }
  json::object parameters;
  parameters["tls-creds"] = kCredsId;
  if (setup.endpoint == Endpoint::client) {
    parameters["tls-hostname"] = setup.hostname;
  }
  if (auto set = co_await qmp::migrate_set_parameters(qmp, std::move(parameters)); !set) {
    co_return std::unexpected("migrate-set-parameters tls-creds: " + set.error().to_string());
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<void> disable(qmp::QmpClient& qmp, std::string private_dir) {
  std::error_code ec;
  if (!fs::exists(private_dir, ec)) {
    co_return;
  }
  json::object parameters;
  parameters["tls-creds"] = "";
  parameters["tls-hostname"] = "";
  (void)co_await qmp::migrate_set_parameters(qmp, std::move(parameters));
  co_await delete_objects(qmp);
  (void)remove_tree(private_dir);
}

std::string creds_id(const std::optional<Setup>& setup) {
  return setup ? std::string(kCredsId) : std::string();
}

std::string explain(const std::string& error, const Setup& setup) {
  static constexpr const char* kTlsWords[] = {"TLS", "tls", "ertificate", "handshake", "x509",
                                              "GnuTLS"};
  bool about_tls = false;
  for (const char* word : kTlsWords) {
    about_tls = about_tls || error.find(word) != std::string::npos;
  }
  if (!about_tls || error.find("migration.tls") != std::string::npos) {
    return error;  // not about the session, or already says what to fix
  }
  if (setup.endpoint == Endpoint::client) {
    return fmt::format("{} (migration.tls: both qmd need certificates from the same CA, and "
                       "the destination's server-cert.pem must name {} in subjectAltName)",
                       error, setup.hostname);
  }
  return fmt::format("{} (migration.tls: both qmd need certificates from the same CA)", error);
}

}  // namespace qmd::daemon::migrate_tls
