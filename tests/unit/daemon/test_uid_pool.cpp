// A uid per VM: held ones and ones a process runs with are never handed out.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/host/uid_pool.hpp"

using namespace qmd::daemon;

TEST_CASE("take hands out each uid once, in order, and wraps past released ones") {
  UidPool pool(UidRange{2000000000, 3}, {});
  CHECK(pool.take({}) == 2000000000u);
  CHECK(pool.take({}) == 2000000001u);
  CHECK(pool.take({}) == 2000000002u);
  CHECK_FALSE(pool.take({}));  // all three held
  pool.release(2000000001);
  CHECK(pool.take({}) == 2000000001u);
  CHECK_FALSE(pool.take({}));
}

TEST_CASE("a released uid comes back as late as the range allows") {
  UidPool pool(UidRange{2000000000, 4}, {});
  const auto a = pool.take({});
  pool.release(*a);
  CHECK(pool.take({}) == 2000000001u);  // not a again
  CHECK(pool.take({}) == 2000000002u);
  CHECK(pool.take({}) == 2000000003u);
  CHECK(pool.take({}) == *a);  // only once the others are gone round
}

TEST_CASE("a uid a process runs with is skipped, and so is one a VM's record holds") {
  UidPool pool(UidRange{2000000000, 4}, {});
  pool.hold(2000000000);  // loaded from a record
  CHECK(pool.held(2000000000));
  CHECK(pool.take({2000000001}) == 2000000002u);  // 0 held, 1 running
  CHECK(pool.take({2000000001}) == 2000000003u);
  CHECK_FALSE(pool.take({2000000001}));
  pool.hold(42);  // outside the range (a record from another qemuUids): not counted
  CHECK_FALSE(pool.held(42));
}

TEST_CASE("after a restart the search goes on past the highest uid found held") {
  UidPool pool(UidRange{2000000000, 10}, {});
  pool.hold(2000000005);
  pool.hold(2000000002);
  CHECK(pool.take({}) == 2000000006u);
}

TEST_CASE("status_ids reads the four uids and four gids") {
  const std::string status =
      "\nName:\tqemu\nUmask:\t0027\nState:\tS (sleeping)\nUid:\t10\t11\t12\t13\n"
      "Gid:\t20\t21\t22\t23\nFDSize:\t64\n";
  CHECK(status_ids(status) == std::vector<std::uint64_t>{10, 11, 12, 13, 20, 21, 22, 23});
  CHECK(status_ids("\nName:\tx\n").empty());
}

TEST_CASE("ids_in_use sees a real process running as a uid of the range") {
  if (::geteuid() != 0) {
    MESSAGE("not root: no process can take another uid here");
    return;
  }
  const UidRange range{2000000000, 16};
  CHECK_FALSE(ids_in_use(range).contains(2000000007));
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Only the saved uid is in the range: it counts as much as the real one.
    if (::setresgid(0, 0, 2000000009) != 0 || ::setresuid(0, 0, 2000000007) != 0) {
      ::_exit(1);
    }
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  const auto used = ids_in_use(range);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  REQUIRE(used.contains(2000000007));
  CHECK(used.at(2000000007) == "pid " + std::to_string(child) + " (unit_daemon)");
  CHECK(used.contains(2000000009));
  UidPool pool(range, {});
  std::set<uid_t> running;
  for (const auto& [uid, who] : used) {
    running.insert(uid);
  }
  for (int i = 0; i < 14; ++i) {
    const auto got = pool.take(running);
    REQUIRE(got);
    CHECK(*got != 2000000007u);
    CHECK(*got != 2000000009u);
  }
  CHECK_FALSE(pool.take(running));
}
