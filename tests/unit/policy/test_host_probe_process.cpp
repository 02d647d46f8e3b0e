#include <doctest/doctest.h>

#include <signal.h>

#include "policy/host_probe_process.hpp"

using namespace qmd::policy;
using namespace std::chrono_literals;

TEST_CASE("a command that prints nothing captures nothing") {
  const auto r = run_process({"true"}, {}, 5s);
  CHECK(r.ok());
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  CHECK(r.status() == "exit 0");
}

TEST_CASE("stdin is fed and closed, stdout and stderr are kept apart") {
  const auto r = run_process({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n", 5s);
  CHECK(r.started);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "hello\n");
  CHECK(r.err == "oops\n");
  CHECK(r.last_error_line() == "oops");
  CHECK(r.status() == "exit 3");
}

TEST_CASE("a child that ignores its stdin does not hurt the writer") {
  const auto r = run_process({"true"}, std::string(1 << 20, 'x'), 5s);
  CHECK(r.ok());
}

TEST_CASE("a hung child is killed at the timeout") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_process({"sleep", "30"}, {}, 300ms);
  CHECK(r.timed_out);
  CHECK_FALSE(r.ok());
  CHECK(r.status() == "timed out");
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("death by signal is reported as such") {
  const auto r = run_process({"sh", "-c", "kill -ABRT $$"}, {}, 5s);
  CHECK(r.signal == SIGABRT);
  CHECK(r.status() == "killed by signal 6 (abort)");
}

TEST_CASE("a missing program does not start") {
  const auto r = run_process({"/nonexistent/qmd-no-such-binary"}, {}, 5s);
  CHECK_FALSE(r.started);
  CHECK(r.status() == "cannot run: /nonexistent/qmd-no-such-binary not found");
}

TEST_CASE("the child inherits no other descriptors") {
  // fds 0-2 plus the one ls opens for /proc/self/fd itself.
  const auto r = run_process({"sh", "-c", "ls /proc/self/fd | wc -l"}, {}, 5s);
  CHECK(r.out == "4\n");
}
