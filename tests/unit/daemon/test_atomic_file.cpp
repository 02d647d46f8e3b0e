#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "daemon/store/atomic_file.hpp"
#include "tests/integration/support.hpp"

using qmd::daemon::read_file;
using qmd::daemon::write_file_atomic;
using qmd::itest::TempDir;

namespace {

std::size_t entries_in(const std::string& dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++count;
  }
  return count;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("an atomic write creates, then replaces, the whole content") {
  TempDir dir("atomic");
  const std::string path = dir.path() + "/spec.yaml";
  REQUIRE(write_file_atomic(path, "first version, rather long\n").has_value());
  CHECK(read_file(path).value() == "first version, rather long\n");
  REQUIRE(write_file_atomic(path, "second\n").has_value());
  CHECK(read_file(path).value() == "second\n");
  REQUIRE(write_file_atomic(path, "").has_value());
  CHECK(read_file(path).value().empty());
  CHECK(entries_in(dir.path()) == 1);  // no temporary file left behind
}

TEST_CASE("the mode is applied exactly, whatever the umask") {
  TempDir dir("atomic");
  const mode_t old_umask = ::umask(077);
  REQUIRE(write_file_atomic(dir.path() + "/default", "x").has_value());
  REQUIRE(write_file_atomic(dir.path() + "/public", "x", 0644).has_value());
  REQUIRE(write_file_atomic(dir.path() + "/secret", "x", 0600).has_value());
  ::umask(old_umask);
  CHECK(mode_of(dir.path() + "/default") == 0640);
  CHECK(mode_of(dir.path() + "/public") == 0644);
  CHECK(mode_of(dir.path() + "/secret") == 0600);
  REQUIRE(write_file_atomic(dir.path() + "/public", "y", 0600).has_value());
  CHECK(mode_of(dir.path() + "/public") == 0600);  // a rewrite takes the new mode
}

TEST_CASE("a large content is written whole") {
  TempDir dir("atomic");
  const std::string big(3 * 1024 * 1024 + 17, 'q');
  REQUIRE(write_file_atomic(dir.path() + "/big", big).has_value());
  CHECK(read_file(dir.path() + "/big").value() == big);
}

TEST_CASE("a write into a missing directory names the path and leaves nothing") {
  TempDir dir("atomic");
  const std::string path = dir.path() + "/missing/spec.yaml";
  auto written = write_file_atomic(path, "x");
  REQUIRE_FALSE(written.has_value());
  CHECK(written.error() == "write " + path + ": create temporary file: No such file or directory");
  CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("a write into a read-only directory names the path and keeps the old content") {
  TempDir dir("atomic");
  // root ignores directory permissions; a read-only filesystem stops it too.
  const bool root = ::geteuid() == 0;
  const std::string ro_dir = root ? "/proc/self" : dir.path();
  const std::string path = ro_dir + "/spec.yaml";
  if (!root) {
    REQUIRE(write_file_atomic(path, "old").has_value());
    REQUIRE(::chmod(ro_dir.c_str(), 0555) == 0);
  }
  auto written = write_file_atomic(path, "new");
  REQUIRE_FALSE(written.has_value());
  CHECK(written.error().starts_with("write " + path + ": create temporary file: "));
  if (!root) {
    CHECK(written.error().ends_with("Permission denied"));
    CHECK(read_file(path).value() == "old");
    CHECK(entries_in(ro_dir) == 1);
  }
}

TEST_CASE("read_file names the path it cannot read") {
  auto missing = read_file("/nonexistent-qmd/spec.yaml");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "read /nonexistent-qmd/spec.yaml: No such file or directory");
}
