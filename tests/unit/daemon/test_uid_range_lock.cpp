// One qmd per qemuUids range on a host: a live qmd's range refuses an overlapping one.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "daemon/host/uid_range_lock.hpp"

using namespace qmd::daemon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/qmd-uidlock-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A second process that holds the lock for `range` until it is killed: the "other qmd".
struct OtherQmd {
  pid_t pid = -1;
  OtherQmd(const UidRange& range, const std::string& dir) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto lock = lock_uid_range(range, "/var/lib/other-qmd", dir);
      (void)!::write(ready[1], lock ? "y" : "n", 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    REQUIRE(byte == 'y');
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

}  // namespace

TEST_CASE("a live qmd's range refuses an overlapping one and names that qmd") {
  TempDir tmp;
  const std::string dir = (tmp.path / "locks").string();
  OtherQmd other(UidRange{2000000000, 100}, dir);
  auto refused = lock_uid_range(UidRange{2000000050, 100}, "/var/lib/qmd", dir);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("pid " + std::to_string(other.pid)) != std::string::npos);
  CHECK(refused.error().find("/var/lib/other-qmd") != std::string::npos);
  CHECK(refused.error().find("--qemu-uids") != std::string::npos);
  // The refused one leaves no file behind to confuse a later look.
  CHECK_FALSE(fs::exists(fs::path(dir) / ("qmd-" + std::to_string(::getpid()))));

  // A range next to it, not in it, is fine; its file goes with it.
  {
    auto beside = lock_uid_range(UidRange{2000000100, 100}, "/var/lib/qmd", dir);
    REQUIRE(beside);
    CHECK(fs::exists(fs::path(dir) / ("qmd-" + std::to_string(::getpid()))));
  }
  CHECK_FALSE(fs::exists(fs::path(dir) / ("qmd-" + std::to_string(::getpid()))));
}

TEST_CASE("a killed qmd's file does not hold its range") {
  TempDir tmp;
  const std::string dir = (tmp.path / "locks").string();
  OtherQmd other(UidRange{2000000000, 100}, dir);
  const fs::path left = fs::path(dir) / ("qmd-" + std::to_string(other.pid));
  other.kill();
  CHECK(fs::exists(left));  // SIGKILL: no clean-up ran
  CHECK(lock_uid_range(UidRange{2000000000, 100}, "/var/lib/qmd", dir));
}

TEST_CASE("a lock directory others may write, or a link, is refused") {
  TempDir tmp;
  const std::string open_dir = (tmp.path / "open").string();
  REQUIRE(::mkdir(open_dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  auto refused = lock_uid_range(UidRange{2000000000, 10}, "/s", open_dir);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("remove it") != std::string::npos);

  const std::string real = (tmp.path / "real").string();
  REQUIRE(::mkdir(real.c_str(), 0700) == 0);
  const std::string link = (tmp.path / "link").string();
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  CHECK_FALSE(lock_uid_range(UidRange{2000000000, 10}, "/s", link));
}
