// One qmd per qemuUids range on a host: a live qmd's range refuses an overlapping one.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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
  OtherQmd(const UidRange& range, const std::string& file) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto lock = lock_uid_range(range, file);
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
  const std::string file = (tmp.path / "uids.lock").string();
  OtherQmd other(UidRange{2000000000, 100}, file);
  auto refused = lock_uid_range(UidRange{2000000050, 100}, file);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("fuser -v " + file) != std::string::npos);
  CHECK(refused.error().find("2000000000–2000000099") != std::string::npos);
  CHECK(refused.error().find("--qemu-uids") != std::string::npos);
  CHECK_FALSE(lock_uid_range(UidRange{1999999999, 2}, file));  // overlapping from below
  // A range next to it, not in it, is fine.
  CHECK(lock_uid_range(UidRange{2000000100, 100}, file));
}

TEST_CASE("a killed qmd's lock ends with it") {
  TempDir tmp;
  const std::string file = (tmp.path / "uids.lock").string();
  OtherQmd other(UidRange{2000000000, 100}, file);
  CHECK_FALSE(lock_uid_range(UidRange{2000000000, 100}, file));
  other.kill();  // SIGKILL: no clean-up of its own ran
  CHECK(lock_uid_range(UidRange{2000000000, 100}, file));
}

TEST_CASE("a lock file others may write, or a link, is refused") {
  TempDir tmp;
  const std::string open_file = (tmp.path / "open.lock").string();
  { std::ofstream touch(open_file); }
  REQUIRE(::chmod(open_file.c_str(), 0666) == 0);
  auto refused = lock_uid_range(UidRange{2000000000, 10}, open_file);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("remove it") != std::string::npos);

  const std::string real = (tmp.path / "real.lock").string();
  { std::ofstream touch(real); }
  const std::string link = (tmp.path / "link.lock").string();
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  CHECK_FALSE(lock_uid_range(UidRange{2000000000, 10}, link));
}
