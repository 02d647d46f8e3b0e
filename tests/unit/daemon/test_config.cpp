#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "daemon/config.hpp"

using qmd::daemon::Config;
using qmd::daemon::default_config;
using qmd::daemon::IfMissing;
using qmd::daemon::load_config;
using qmd::daemon::parse_config;
using qmd::policy::RunPolicy;

namespace {

// The errors of a config that must fail, one per line; "" when it loaded.
std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}

// A file in a fresh directory under the build tree, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    dir_ = std::filesystem::path(QMD_BUILD_DIR) / fmt_dir();
    std::filesystem::create_directories(dir_);
    std::ofstream(path()) << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return (dir_ / "qmd.yaml").string(); }

 private:
  static std::string fmt_dir() {
    static int count = 0;
    return "test-config-" + std::to_string(::getpid()) + "-" + std::to_string(++count);
  }
  std::filesystem::path dir_;
};

}  // namespace

TEST_CASE("an empty config adds nothing: every default") {
  CHECK(parse_config("", "qmd.yaml") == default_config());
  CHECK(parse_config("# only a comment\n", "qmd.yaml") == default_config());
  CHECK(parse_config("bridges: {}\n", "qmd.yaml") == default_config());
}

TEST_CASE("the defaults are the documented ones") {
  const Config c;
  CHECK(c.use_emulation == false);
  CHECK(c.hyperv == RunPolicy::Hyperv::strict);
  CHECK(c.state_dir == "/var/lib/qmd");
  CHECK(c.run_dir == "/run/qmd");
  CHECK(c.preset_dir == "/etc/qmd/presets");
  CHECK(c.bridges.empty());
  CHECK(c.qemu_binary == "/usr/bin/qemu-system-x86_64");
}

TEST_CASE("every key is read") {
  const auto config = parse_config(R"(useEmulation: true
hyperv: bestEffort
stateDir: /srv/qmd/state
runDir: /run/qmd-test
presetDir: /srv/qmd/presets
qemuBinary: /opt/qemu/bin/qemu-system-x86_64
bridges:
  prod: br-prod
  lab: br1
)",
                                   "qmd.yaml");
  REQUIRE_MESSAGE(config, qmd::policy::to_string(config.error()));
  Config expected;
  expected.use_emulation = true;
  expected.hyperv = RunPolicy::Hyperv::best_effort;
  expected.state_dir = "/srv/qmd/state";
  expected.run_dir = "/run/qmd-test";
  expected.preset_dir = "/srv/qmd/presets";
  expected.qemu_binary = "/opt/qemu/bin/qemu-system-x86_64";
  expected.bridges = {{"prod", "br-prod"}, {"lab", "br1"}};
  CHECK(*config == expected);
}

TEST_CASE("hyperv strict reads back as strict") {
  Config expected;
  expected.hyperv = RunPolicy::Hyperv::strict;
  CHECK(parse_config("hyperv: strict\n", "qmd.yaml") == expected);
}

TEST_CASE("an unknown key names itself, its line and column, and the near known key") {
  CHECK(errors_of("hyperv: strict\n  # indented comment\nstatedir: /var/lib/qmd\n") ==
        "statedir: unknown field \"statedir\" (did you mean \"stateDir\"?) (qmd.yaml:3:1)\n");
  CHECK(errors_of("bridges:\n  prod: br0\nvolumes: {}\n") ==
        "volumes: unknown field \"volumes\"; known fields here: useEmulation, hyperv, "
        "stateDir, runDir, presetDir, qemuBinary, bridges, network, migration, storage, socket, "
        "logDir, qemuUser, qemuUids, group, api, hostShutdown, autostart, secrets "
        "(qmd.yaml:3:1)\n");
}

TEST_CASE("a bad hyperv value lists the accepted ones") {
  CHECK(errors_of("hyperv: best-effort\n") ==
        "hyperv: \"best-effort\" is not one of strict, bestEffort (qmd.yaml:1:9)\n");
}

TEST_CASE("a wrongly typed value is an error at the value") {
  CHECK(errors_of("useEmulation: yes\n") ==
        "useEmulation: expected true or false, got \"yes\" (qmd.yaml:1:15)\n");
  CHECK(errors_of("bridges: [br0]\n") ==
        "bridges: expected a mapping, got a list (qmd.yaml:1:10)\n");
}

TEST_CASE("relative paths are refused, every one of them") {
  CHECK(errors_of("stateDir: var/lib/qmd\nrunDir: ./run\npresetDir: ''\nqemuBinary: qemu\n") ==
        "stateDir: \"var/lib/qmd\" is not an absolute path; write it from / (qmd.yaml:1:11)\n"
        "runDir: \"./run\" is not an absolute path; write it from / (qmd.yaml:2:9)\n"
        "presetDir: \"\" is not an absolute path; write it from / (qmd.yaml:3:12)\n"
        "qemuBinary: \"qemu\" is not an absolute path; write it from / (qmd.yaml:4:13)\n");
}

TEST_CASE("migration: the address sources reach and a port range") {
  auto c = parse_config("migration: {address: 192.0.2.10, ports: 50000-50009}\n", "qmd.yaml");
  REQUIRE(c);
  CHECK(c->migration_address == "192.0.2.10");
  CHECK(c->migration_port_min == 50000);
  CHECK(c->migration_port_max == 50009);
  CHECK(default_config().migration_address.empty());  // same-host migrations only
  CHECK(errors_of("migration: {ports: 50009-50000}\n") ==
        "migration.ports: \"50009-50000\" is not a port range such as 49152-49215 "
        "(qmd.yaml:1:20)\n");
  CHECK(errors_of("migration: {adress: x}\n") ==
        "migration.adress: unknown field \"adress\" (did you mean \"address\"?) "
        "(qmd.yaml:1:13)\n");
}

TEST_CASE("migration.tls: a directory in QEMU's x509 layout, absolute, and required") {
  CHECK(default_config().migration_tls_dir.empty());  // plaintext unless configured
  CHECK(parse_config("migration: {address: 192.0.2.10}\n", "qmd.yaml")->migration_tls_dir == "");
  auto c = parse_config("migration:\n  tls: {dir: /etc/qmd/migration-tls}\n", "qmd.yaml");
  REQUIRE(c);
  CHECK(c->migration_tls_dir == "/etc/qmd/migration-tls");
  CHECK(errors_of("migration:\n  tls: {dir: etc/tls}\n") ==
        "migration.tls.dir: \"etc/tls\" is not an absolute path; write it from / "
        "(qmd.yaml:2:14)\n");
  CHECK(errors_of("migration:\n  tls: {}\n") ==
        "migration.tls.dir: missing required field \"dir\" (qmd.yaml:2:8)\n");
  CHECK(errors_of("migration:\n  tls: {dir: /x, verify: false}\n") ==
        "migration.tls.verify: unknown field \"verify\"; known fields here: dir "
        "(qmd.yaml:2:18)\n");
  CHECK(errors_of("migration:\n  tls: /etc/qmd/migration-tls\n") ==
        "migration.tls: expected a mapping, got \"/etc/qmd/migration-tls\" (qmd.yaml:2:8)\n");
}

TEST_CASE("bridge names must be Linux interface names") {
  CHECK(errors_of("bridges:\n  prod: br-production-net0\n  lab: \"br 1\"\n  ok: br0\n") ==
        "bridges.prod: bridge \"br-production-net0\" is 18 characters; a Linux interface name "
        "has 1 to 15 (qmd.yaml:2:9)\n"
        "bridges.lab: bridge \"br 1\" has a character an interface name cannot hold ('/', ':', "
        "space or control) (qmd.yaml:3:8)\n");
  CHECK(errors_of("bridges:\n  prod: br/0\n") ==
        "bridges.prod: bridge \"br/0\" has a character an interface name cannot hold ('/', ':', "
        "space or control) (qmd.yaml:2:9)\n");
  Config fifteen;
  fifteen.bridges = {{"prod", "br-fifteen-char"}};
  CHECK(parse_config("bridges: {prod: br-fifteen-char}\n", "qmd.yaml") == fifteen);
}

TEST_CASE("a YAML syntax error has a position") {
  CHECK(errors_of("hyperv: [strict\n") ==
        "YAML syntax error: end of sequence flow not found (qmd.yaml:2:1)\n");
}

TEST_CASE("a document that is not a mapping is refused") {
  CHECK(errors_of("- hyperv\n") ==
        "expected a mapping of settings such as `hyperv: strict`, got a list (qmd.yaml:1:1)\n");
}

TEST_CASE("a missing file is an error when given, defaults when optional") {
  const std::string missing = std::string(QMD_BUILD_DIR) + "/no-such-dir/qmd.yaml";
  const auto given = load_config(missing);
  REQUIRE_FALSE(given);
  CHECK(qmd::policy::to_string(given.error()) ==
        "the config file does not exist; give the path of a qmd.yaml (" + missing + ")\n");
  CHECK(load_config(missing, IfMissing::use_defaults) == default_config());
}

TEST_CASE("a file on disk is read and its errors name it") {
  TempFile good("hyperv: bestEffort\n");
  Config expected;
  expected.hyperv = RunPolicy::Hyperv::best_effort;
  CHECK(load_config(good.path()) == expected);

  TempFile bad("hyperv: strict\nbridge: {}\n");
  const auto config = load_config(bad.path());
  REQUIRE_FALSE(config);
  CHECK(qmd::policy::to_string(config.error()) ==
        "bridge: unknown field \"bridge\" (did you mean \"bridges\"?) (" + bad.path() +
            ":2:1)\n");
}

TEST_CASE("packaging/qmd.yaml, the installed default, loads as root's defaults + the qmd group") {
  const auto config = load_config(std::string(QMD_SOURCE_DIR) + "/packaging/qmd.yaml");
  REQUIRE_MESSAGE(config, qmd::policy::to_string(config.error()));
  Config expected;  // the struct's own defaults are root's
  expected.group = "qmd";
  CHECK(*config == expected);
}

TEST_CASE("the daemon's own keys: socket, logDir, qemuUser, group") {
  const auto config = parse_config(
      "socket: /run/x/api.sock\nlogDir: /var/log/qmd\nqemuUser: kvmuser\ngroup: vmadmins\n",
      "qmd.yaml");
  REQUIRE(config);
  CHECK(config->socket == "/run/x/api.sock");
  CHECK(config->log_dir == "/var/log/qmd");
  CHECK(config->qemu_user == "kvmuser");
  CHECK(config->group == "vmadmins");
  CHECK(qmd::daemon::socket_path(*config) == "/run/x/api.sock");
  Config plain = default_config();
  CHECK(qmd::daemon::socket_path(plain) == plain.run_dir + "/qmd.sock");
  CHECK_FALSE(parse_config("socket: relative.sock\n", "qmd.yaml"));
}

TEST_CASE("api: connection caps and the stream write deadline, with their defaults") {
  auto config = parse_config("api:\n  maxConnections: 100\n  maxConnectionsPerUser: 5\n"
                             "  writeTimeoutSeconds: 3\n",
                             "qmd.yaml");
  REQUIRE(config);
  CHECK(config->api_max_connections == 100);
  CHECK(config->api_max_connections_per_user == 5);
  CHECK(config->api_write_timeout_seconds == 3);
  const Config defaults = default_config();
  CHECK(defaults.api_max_connections == 256);
  CHECK(defaults.api_max_connections_per_user == 32);
  CHECK(defaults.api_write_timeout_seconds == 10);
  CHECK(errors_of("api:\n  maxConnections: 0\n") ==
        "api.maxConnections: must be 1 or more (qmd.yaml:2:19)\n");
  CHECK(errors_of("api:\n  maxConnections: 4\n") ==
        "api.maxConnections: 4 is too few: use 8 or more (the last eighth, at least 4, is kept "
        "for root) (qmd.yaml:2:19)\n");
  CHECK(errors_of("api: {maxConection: 3}\n").starts_with("api.maxConection: unknown field"));
}

TEST_CASE("storage.roots: absolute directories, the default <stateDir>/storage") {
  auto config = parse_config("stateDir: /var/lib/x\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->storage_roots.empty());
  CHECK(qmd::daemon::storage_roots(*config) == std::vector<std::string>{"/var/lib/x/storage"});
  auto set = parse_config("storage:\n  roots: [/srv/disks/, /srv/isos]\n", "qmd.yaml");
  REQUIRE(set);
  CHECK(qmd::daemon::storage_roots(*set) == std::vector<std::string>{"/srv/disks", "/srv/isos"});
  CHECK(errors_of("storage:\n  roots: [disks]\n") ==
        "storage.roots: \"disks\" is not an absolute directory; write each root from / "
        "(qmd.yaml:2:10)\n");
  CHECK(errors_of("storage:\n  roots: /srv\n").find("expected a list") != std::string::npos);
  CHECK(errors_of("storage:\n  claims: {}\n").find("claims") != std::string::npos);
}

TEST_CASE("qemuUids: a uid per VM from first, count; the default clashes with nothing usual") {
  CHECK(default_config().qemu_uids == qmd::daemon::UidRange{1879048192, 65536});
  auto config = parse_config("qemuUids: {first: 1900000000, count: 1000}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->qemu_uids == qmd::daemon::UidRange{1900000000, 1000});
  config = parse_config("qemuUids: {count: 10}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->qemu_uids == qmd::daemon::UidRange{1879048192, 10});
  CHECK(errors_of("qemuUids: {count: 0}\n") ==
        "qemuUids.count: must be 1 or more (one uid per VM) (qmd.yaml:1:19)\n");
  CHECK(errors_of("qemuUids:\n  first: 2147483000\n") ==
        "qemuUids.first: 2147483000 + 65536 reaches past 2147483647: uids from 2147483648 on "
        "read as negative numbers to many tools (qmd.yaml:2:10)\n");
  CHECK(errors_of("qemuUids: {first: -1}\n").find("qemuUids.first") != std::string::npos);
}
