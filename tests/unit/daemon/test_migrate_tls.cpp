// migrate_tls (daemon/runtime/migrate_tls.cpp) without QEMU: no TLS unless configured and over
// TCP, the destination's refusals, the host a source checks the certificate for, and the
// private copy each side hands QEMU (only its own files, 0600 in a directory qmd keeps), made
// and removed without following a link the QEMU user could have put in the run dir.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <sstream>

#include "daemon/runtime/migrate_tls.hpp"
#include "daemon/runtime/migrate_tls_key.hpp"
#include "daemon/store/remove_tree.hpp"
#include "tests/integration/support.hpp"

namespace tls = qmd::daemon::migrate_tls;
namespace fs = std::filesystem;
using qmd::daemon::Config;

namespace {

Config with_tls(const std::string& dir) {
  Config config;
  config.migration_tls_dir = dir;
  return config;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A real private key (P-256, PKCS#8 PEM), as migration.tls.dir holds.
std::string new_key_pem() {
  gnutls_x509_privkey_t key = nullptr;
  REQUIRE(gnutls_x509_privkey_init(&key) == 0);
  REQUIRE(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0);
  gnutls_datum_t out{nullptr, 0};
  REQUIRE(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr,
                                            GNUTLS_PKCS_PLAIN, &out) == 0);
  std::string pem(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  gnutls_x509_privkey_deinit(key);
  return pem;
}

void write_conf(const fs::path& conf, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (std::string(name).ends_with("-key.pem")) {
      std::ofstream(conf / name) << new_key_pem();
    } else {
      std::ofstream(conf / name) << "-----BEGIN " << name << "-----\n";
    }
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string fmt_base() { return "migrate-tls-test-" + std::to_string(::getpid()); }

}  // namespace

TEST_CASE("no TLS unless migration.tls is set and the stream goes over TCP") {
  CHECK_FALSE(tls::for_uri(Config{}, "/run/vm", "tcp:192.0.2.1:49152", tls::Endpoint::client,
                           std::nullopt));
  CHECK_FALSE(tls::for_uri(with_tls("/etc/t"), "/run/vm", "unix:/run/vm/migrate.sock",
                           tls::Endpoint::client, std::nullopt));
  auto client = tls::for_uri(with_tls("/etc/t"), "/run/vm", "tcp:192.0.2.1:49152",
                             tls::Endpoint::client, std::nullopt);
  REQUIRE(client);
  CHECK(client->config_dir == "/etc/t");
  CHECK(client->private_dir == "/run/vm/migration-tls");
  CHECK(client->hostname == "192.0.2.1");
  auto server = tls::for_uri(with_tls("/etc/t"), "/run/vm", "tcp:192.0.2.1:49152",
                             tls::Endpoint::server, std::nullopt);
  REQUIRE(server);
  CHECK(server->hostname.empty());
  CHECK(tls::creds_id(server) == tls::kCredsId);
  CHECK(tls::creds_id(std::nullopt).empty());
}

TEST_CASE("the host in a tcp URI") {
  CHECK(tls::tcp_host("tcp:127.0.0.1:49152") == "127.0.0.1");
  CHECK(tls::tcp_host("tcp:[2001:db8::1]:49152") == "2001:db8::1");
  CHECK(tls::tcp_host("tcp:dest.example:1") == "dest.example");
  CHECK(tls::tcp_host("unix:/x").empty());
}

TEST_CASE("the destination refuses a mismatch before anything starts") {
  CHECK_FALSE(tls::incoming_refusal(Config{}, false, true));
  CHECK_FALSE(tls::incoming_refusal(with_tls("/t"), true, true));
  // Same host: the unix socket stays plain either way.
  CHECK_FALSE(tls::incoming_refusal(with_tls("/t"), false, false));
  CHECK_FALSE(tls::incoming_refusal(Config{}, true, false));
  auto plain = tls::incoming_refusal(with_tls("/t"), false, true);
  REQUIRE(plain);
  CHECK(plain->find("configure migration.tls on the source") != std::string::npos);
  auto unasked = tls::incoming_refusal(Config{}, true, true);
  REQUIRE(unasked);
  CHECK(unasked->find("this qmd has no migration.tls") != std::string::npos);
}

TEST_CASE("each side copies only its own files, private to QEMU") {
  const fs::path base = fs::path(QMD_BUILD_DIR) / fmt_base();
  fs::remove_all(base);
  fs::create_directories(base / "conf");
  fs::create_directories(base / "run");
  write_conf(base / "conf", {"ca-cert.pem", "server-cert.pem", "server-key.pem",
                             "client-cert.pem", "client-key.pem"});
  auto server = tls::for_uri(with_tls((base / "conf").string()), (base / "run").string(),
                             "tcp:127.0.0.1:1", tls::Endpoint::server, std::nullopt);
  REQUIRE(server);
  REQUIRE(tls::stage(*server));
  const fs::path copy = base / "run" / "migration-tls";
  CHECK(mode_of(copy) == 0700);
  CHECK(mode_of(copy / "server-key.pem") == 0600);
  CHECK(fs::exists(copy / "ca-cert.pem"));
  CHECK(fs::exists(copy / "server-cert.pem"));
  CHECK_FALSE(fs::exists(copy / "client-key.pem"));
  // Staged again (a copy left behind): fresh, not an error.
  REQUIRE(tls::stage(*server));

  fs::remove(base / "conf" / "client-key.pem");
  auto client = tls::for_uri(with_tls((base / "conf").string()), (base / "run").string(),
                             "tcp:127.0.0.1:1", tls::Endpoint::client, std::nullopt);
  REQUIRE(client);
  // Checked before anything starts: the destination has its files, the source does not.
  CHECK_FALSE(tls::unusable(Config{}, tls::Endpoint::client));
  CHECK_FALSE(tls::unusable(with_tls((base / "conf").string()), tls::Endpoint::server));
  auto unusable = tls::unusable(with_tls((base / "conf").string()), tls::Endpoint::client);
  REQUIRE(unusable);
  CHECK(unusable->find("client-key.pem") != std::string::npos);
  auto staged = tls::stage(*client);
  REQUIRE_FALSE(staged);
  CHECK(staged.error().find("client-key.pem") != std::string::npos);
  CHECK(staged.error().find("migration.tls.dir") != std::string::npos);
  fs::remove_all(base);
}

TEST_CASE("staging and removal never follow a link the QEMU user put in the run dir") {
  const fs::path base = fs::path(QMD_BUILD_DIR) / (fmt_base() + "-links");
  fs::remove_all(base);
  fs::create_directories(base / "conf");
  fs::create_directories(base / "run");
  fs::create_directories(base / "victim");
  std::ofstream(base / "victim" / "keep") << "not QEMU's";
  write_conf(base / "conf", {"ca-cert.pem", "server-cert.pem", "server-key.pem"});
  const fs::path copy = base / "run" / "migration-tls";
  fs::create_directory_symlink(base / "victim", copy);
  const bool root = ::geteuid() == 0;
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (root) {
    owner = std::pair<uid_t, gid_t>{65534, 65534};  // nobody: another user, as QEMU is
  }
  auto server = tls::for_uri(with_tls((base / "conf").string()), (base / "run").string(),
                             "tcp:127.0.0.1:1", tls::Endpoint::server, owner);
  REQUIRE(server);
  REQUIRE(tls::stage(*server));
  // The link went, not what it pointed to; a real directory took its place.
  CHECK(fs::exists(base / "victim" / "keep"));
  CHECK_FALSE(fs::exists(base / "victim" / "server-key.pem"));
  CHECK_FALSE(fs::is_symlink(copy));
  CHECK(fs::is_directory(copy));
  struct stat st {};
  REQUIRE(::stat((copy / "server-key.pem").c_str(), &st) == 0);
  if (root) {
    // qmd keeps the directory (QEMU may only pass through it), QEMU owns its files.
    CHECK(mode_of(copy) == 0711);
    CHECK(st.st_uid == 65534);
    struct stat dir {};
    REQUIRE(::stat(copy.c_str(), &dir) == 0);
    CHECK(dir.st_uid == 0);
  } else {
    CHECK(mode_of(copy) == 0700);
  }

  REQUIRE(qmd::daemon::remove_tree(copy.string()));
  CHECK_FALSE(fs::exists(copy));
  // A link in its place: only the link goes.
  fs::create_directory_symlink(base / "victim", copy);
  REQUIRE(qmd::daemon::remove_tree(copy.string()));
  CHECK_FALSE(fs::is_symlink(copy));
  CHECK(fs::exists(base / "victim" / "keep"));
  fs::remove_all(base);
}

TEST_CASE("the staged key opens only with this migration's password, which the file lacks") {
  qmd::itest::TempDir tmp("migrate-tls-key");
  const fs::path base(tmp.path());
  ::chmod(base.c_str(), 0755);  // the QEMU user (nobody) may reach the copy, as in a run dir
  fs::create_directories(base / "conf");
  fs::create_directories(base / "run");
  ::chmod((base / "run").c_str(), 0755);
  write_conf(base / "conf", {"ca-cert.pem", "server-cert.pem", "server-key.pem"});
  const std::string original = read_text(base / "conf" / "server-key.pem");
  const bool root = ::geteuid() == 0;
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (root) {
    owner = std::pair<uid_t, gid_t>{65534, 65534};
  }
  auto server = tls::for_uri(with_tls((base / "conf").string()), (base / "run").string(),
                             "tcp:127.0.0.1:1", tls::Endpoint::server, owner);
  REQUIRE(server);
  auto password = tls::stage(*server);
  REQUIRE_MESSAGE(password, (password ? "" : password.error()));
  CHECK(password->size() == 64);
  const fs::path copy = base / "run" / "migration-tls" / "server-key.pem";
  const std::string staged = read_text(copy);
  CHECK(staged.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos);
  CHECK(staged.find(original.substr(40, 40)) == std::string::npos);
  CHECK(staged.find(*password) == std::string::npos);
  // With the password: the very key of migration.tls.dir. Without, or with another: nothing.
  auto opened = tls::decrypt_key(staged, *password);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.error()));
  CHECK(*opened == original);
  CHECK_FALSE(tls::decrypt_key(staged, ""));
  CHECK_FALSE(tls::decrypt_key(staged, std::string(64, '0')));
  // The next migration gets a new password; the old one opens nothing any more.
  auto next = tls::stage(*server);
  REQUIRE(next);
  CHECK(*next != *password);
  CHECK_FALSE(tls::decrypt_key(read_text(copy), *password));

  if (root) {
    // As the QEMU user, with a real tool: the file is readable, the key is not (without the
    // password, or with the last migration's).
    const std::string as_qemu = "setpriv --reuid 65534 --regid 65534 --clear-groups openssl pkey "
                                "-noout -in " + copy.string() + " -passin ";
    CHECK(std::system((as_qemu + "pass: 2>/dev/null").c_str()) != 0);
    CHECK(std::system((as_qemu + "pass:" + *password + " 2>/dev/null").c_str()) != 0);
    CHECK(std::system((as_qemu + "pass:" + *next + " 2>/dev/null").c_str()) == 0);
  }
}
