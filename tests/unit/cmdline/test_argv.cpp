#include <doctest/doctest.h>

#include "cmdline/argv.hpp"

using qmd::cmdline::Argv;

TEST_CASE("empty argv renders nothing") {
  Argv a;
  CHECK(a.args().empty());
  CHECK(a.lines().empty());
}

TEST_CASE("argv keeps flags and values together") {
  Argv a;
  a.add("-S");
  a.add("-machine", "q35,accel=tcg");
  CHECK(a.args() == std::vector<std::string>{"-S", "-machine", "q35,accel=tcg"});
  CHECK(a.lines() == std::vector<std::string>{"-S", "-machine q35,accel=tcg"});
  CHECK(a.shell("/usr/bin/qemu") == "/usr/bin/qemu \\\n  -S \\\n  -machine q35,accel=tcg");
}

TEST_CASE("shell quoting and qemu comma escaping") {
  Argv a;
  a.add("-append", "console=ttyS0 root='x'");
  CHECK(a.shell("q") == "q \\\n  -append 'console=ttyS0 root='\\''x'\\'''");
  CHECK(qmd::cmdline::qemu_escape("a,b") == "a,,b");
  CHECK(qmd::cmdline::qemu_escape("plain") == "plain");
}
