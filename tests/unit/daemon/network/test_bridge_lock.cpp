// One qmd per bridge on a host (per network namespace): a live qmd's bridge refuses a second.
#include <doctest/doctest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "daemon/network/bridge_lock.hpp"
#include "daemon/network/network_settings.hpp"

using namespace qmd::daemon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/qmd-brlock-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A second process that runs `take` (it takes its locks) and keeps them until it is killed:
// the "other qmd". `took` is false when `take` failed.
struct OtherQmd {
  pid_t pid = -1;
  bool took = false;
  explicit OtherQmd(const std::function<bool()>& take) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const bool ok = take();
      (void)!::write(ready[1], ok ? "y" : "n", 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    took = byte == 'y';
  }
  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~OtherQmd() { kill(); }
};

// The other qmd's lock of `bridge`, held in the child (a static keeps it until the kill).
std::function<bool()> holding(const std::string& bridge, const std::string& dir) {
  return [bridge, dir] {
    static std::optional<BridgeLock> held;
    auto lock = lock_bridge(bridge, "network.nat.bridge", dir);
    if (lock) {
      held.emplace(std::move(*lock));
    }
    return lock.has_value();
  };
}

std::uint64_t this_netns() {
  struct stat st {};
  REQUIRE(::stat("/proc/self/ns/net", &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("the lock file names the network namespace and the bridge") {
  CHECK(bridge_lock_file("/run/qmd-bridges", 4026531840, "qmd0") ==
        "/run/qmd-bridges/net4026531840-qmd0.lock");
  CHECK(bridge_lock_file("/d", 1, "qmd0") != bridge_lock_file("/d", 2, "qmd0"));
  CHECK(bridge_lock_file("/d", 1, "qmd0") != bridge_lock_file("/d", 1, "qmd1"));
}

TEST_CASE("a live qmd's bridge refuses a second qmd, naming the bridge, its key and fuser") {
  TempDir tmp;
  OtherQmd other(holding("qmd0", tmp.path.string()));
  REQUIRE(other.took);
  auto refused = lock_bridge("qmd0", "network.nat.bridge", tmp.path.string());
  REQUIRE_FALSE(refused);
  const std::string file = bridge_lock_file(tmp.path.string(), this_netns(), "qmd0");
  CHECK(refused.error() ==
        "network.nat.bridge qmd0: another qmd running on this host runs this bridge (`fuser -v " +
            file +
            "` names it); two qmds must not share a bridge, or each would rebuild and remove "
            "the other's network: give this qmd a bridge of its own (network.nat.bridge in "
            "qmd.yaml), or stop the other qmd");
  // Another bridge is free.
  CHECK(lock_bridge("qmd1", "network.nat.bridge", tmp.path.string()));
}

TEST_CASE("a killed qmd's bridge lock ends with it") {
  TempDir tmp;
  OtherQmd other(holding("qmd0", tmp.path.string()));
  REQUIRE(other.took);
  CHECK_FALSE(lock_bridge("qmd0", "network.nat.bridge", tmp.path.string()));
  other.kill();  // SIGKILL: no clean-up of its own ran
  CHECK(lock_bridge("qmd0", "network.nat.bridge", tmp.path.string()));
}

TEST_CASE("a qmd in another network namespace may have a bridge of the same name") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  OtherQmd other([dir] {
    if (::unshare(CLONE_NEWNET) != 0) {
      return false;
    }
    return holding("qmd0", dir)();
  });
  if (!other.took) {
    MESSAGE("skipped: cannot make a network namespace here (not root?)");
    return;
  }
  auto mine = lock_bridge("qmd0", "network.nat.bridge", dir);
  CHECK(mine);
}

TEST_CASE("a lock directory others may write, or a linked lock file, is refused") {
  TempDir tmp;
  const fs::path open_dir = tmp.path / "open";
  fs::create_directory(open_dir);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  auto refused = lock_bridge("qmd0", "network.nat.bridge", open_dir.string());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find(open_dir.string() + " is not a directory") != std::string::npos);
  CHECK(refused.error().find("remove it") != std::string::npos);

  const fs::path dir = tmp.path / "locks";
  fs::create_directory(dir);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  const fs::path real = tmp.path / "real";
  { std::ofstream touch(real); }
  const std::string file = bridge_lock_file(dir.string(), this_netns(), "qmd0");
  REQUIRE(::symlink(real.c_str(), file.c_str()) == 0);
  CHECK_FALSE(lock_bridge("qmd0", "network.nat.bridge", dir.string()));
}

TEST_CASE("a root qmd locks every bridge it makes; one held elsewhere refuses them all") {
  Config config;
  config.network.masquerade = NetworkConfig::Masquerade::nat;
  config.network.nat.bridge = "qmd0";
  ManagedBridgeConfig lab;
  lab.bridge = "qmdlab";
  lab.bridge_at = "qmd.yaml:4:13";
  config.managed_bridges.emplace("lab", lab);
  TempDir tmp;
  const std::string dir = tmp.path.string();
  if (::geteuid() != 0) {
    auto none = network::lock_bridges(config, dir);
    REQUIRE(none);
    CHECK(none->empty());  // an unprivileged qmd makes no bridge
    return;
  }
  {
    auto held = network::lock_bridges(config, dir);
    REQUIRE(held);
    CHECK(held->size() == 2);
  }
  OtherQmd other(holding("qmdlab", dir));
  REQUIRE(other.took);
  auto refused = network::lock_bridges(config, dir);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().starts_with(
      "bridges.lab.bridge (qmd.yaml:4:13) qmdlab: another qmd running on this host"));
  // Refused as a whole: the NAT network's bridge, taken first, is free again.
  CHECK(lock_bridge("qmd0", "network.nat.bridge", dir));
  // User-mode masquerade: no NAT bridge to lock.
  config.network.masquerade = NetworkConfig::Masquerade::user;
  config.managed_bridges.clear();
  auto none = network::lock_bridges(config, dir);
  REQUIRE(none);
  CHECK(none->empty());
}
