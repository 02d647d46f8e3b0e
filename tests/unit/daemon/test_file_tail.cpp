// file_tail (daemon/launch/file_tail.cpp): the tails qmd shows of logs in directories the QEMU
// user can write to. A FIFO or a link planted there must neither block qmd nor be followed,
// and a huge log is read only as far as the byte cap.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "daemon/launch/file_tail.hpp"
#include "tests/integration/support.hpp"

using qmd::daemon::file_tail;

TEST_CASE("file_tail returns the last lines of a regular file") {
  qmd::itest::TempDir dir("tail");
  const std::string log = dir.path() + "/qemu.log";
  std::ofstream(log) << "one\ntwo\nthree\nfour";
  CHECK(file_tail(log, 2) == "three\nfour\n");
  CHECK(file_tail(log, 0) == "one\ntwo\nthree\nfour\n");
  CHECK(file_tail(log, 10) == "one\ntwo\nthree\nfour\n");
  std::ofstream(log) << "one\ntwo\n";
  CHECK(file_tail(log, 1) == "two\n");
  CHECK(file_tail(dir.path() + "/missing.log", 5).empty());
}

TEST_CASE("file_tail reads only the last max_bytes and drops the cut line") {
  qmd::itest::TempDir dir("tail");
  const std::string log = dir.path() + "/big.log";
  {
    std::ofstream out(log);
    for (int i = 0; i < 1000; ++i) {
      out << "line " << i << '\n';
    }
  }
  const std::string tail = file_tail(log, 0, 20);
  CHECK(tail.size() <= 20);
  CHECK(tail == "line 998\nline 999\n");
}

TEST_CASE("file_tail neither blocks on a FIFO nor follows a link") {
  qmd::itest::TempDir dir("tail");
  const std::string fifo = dir.path() + "/swtpm.log";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(file_tail(fifo, 20).empty());  // would hang forever if opened blocking
  const std::string secret = dir.path() + "/secret";
  std::ofstream(secret) << "root's secret\n";
  const std::string link = dir.path() + "/qemu.log";
  REQUIRE(::symlink(secret.c_str(), link.c_str()) == 0);
  CHECK(file_tail(link, 20).empty());
  CHECK(file_tail("/dev/zero", 1).empty());  // not a regular file: no endless read
}
