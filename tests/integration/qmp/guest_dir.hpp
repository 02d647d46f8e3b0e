#pragma once
// The cached test guest for the QMP/QGA integration tests: QMD_GUEST_DIR, built there (once,
// cached) by tests/guest/build-guest.sh from QMD_SOURCE_DIR.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace qmd::itest {

inline std::string guest_dir() {
  const char* dir = std::getenv("QMD_GUEST_DIR");
  const char* src = std::getenv("QMD_SOURCE_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "QMD_GUEST_DIR is not set");
  REQUIRE_MESSAGE(src != nullptr, "QMD_SOURCE_DIR is not set");
  const std::string build =
      std::string(src) + "/tests/guest/build-guest.sh '" + dir + "' >/dev/null";
  REQUIRE_MESSAGE(std::system(build.c_str()) == 0, "building the test guest failed");
  return dir;
}

}  // namespace qmd::itest
