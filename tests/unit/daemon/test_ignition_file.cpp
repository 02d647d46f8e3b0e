// The Ignition config file: written into the run dir as 0600, a link planted in its place
// replaced and never written through.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "daemon/runtime/ignition_file.hpp"

using namespace qmd;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("ignition file: written 0600 in the run dir; a planted link is replaced") {
  const fs::path top = fs::temp_directory_path() / fmt::format("qmd-ign-{}", ::getpid());
  fs::create_directories(top / "run");
  std::ofstream(top / "victim") << "untouched";
  fs::create_symlink(top / "victim", top / "run" / "ignition.json");
  const cmdline::VmPaths paths{(top / "run").string(), (top / "state").string()};
  const std::string data = R"({"ignition":{"version":"3.3.0"}})";
  const auto failed = daemon::write_ignition_file(data, paths, daemon::self_owner());
  CHECK_MESSAGE(!failed, failed.value_or(""));
  CHECK(!fs::is_symlink(top / "run" / "ignition.json"));
  CHECK(read_all(top / "run" / "ignition.json") == data);
  CHECK(read_all(top / "victim") == "untouched");
  struct stat st {};
  REQUIRE(::lstat((top / "run" / "ignition.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  const cmdline::VmPaths gone{(top / "no-run").string(), ""};
  CHECK(daemon::write_ignition_file(data, gone, daemon::self_owner()) ==
        fmt::format("the Ignition config {}/no-run/ignition.json: open the run directory: No "
                    "such file or directory",
                    top.string()));
  fs::remove_all(top);
}
