#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <vector>

#include "tests/unit/cmdline/golden.hpp"

namespace fs = std::filesystem;

namespace {

// The host the examples are rendered for: a large KVM host with a 2Mi hugepage pool and a
// known TSC frequency (pinned for the Windows examples).
constexpr const char* kExampleHost =
    "kvm=yes qemu=7.2.0 memory=256Gi cpus=64 hugepages-2Mi=32768/32768 vhost-net=yes "
    "tsc-khz=2400000";

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".yaml") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every example renders to its golden argv") {
  const fs::path src = QMD_SOURCE_DIR;
  const auto files = yaml_files(src / "examples");
  REQUIRE(files.size() >= 4);
  for (const auto& f : files) {
    CAPTURE(f.string());
    const auto golden = src / "tests/golden/examples" / (f.stem().string() + ".argv");
    const auto msg = qmd::testing::compare_golden(
        golden, qmd::testing::render_golden(f, kExampleHost));
    CHECK_MESSAGE(msg.empty(), msg);
  }
}

TEST_CASE("every feature group renders to its golden argv") {
  const fs::path src = QMD_SOURCE_DIR;
  const auto files = yaml_files(src / "tests/golden");
  REQUIRE(files.size() >= 10);
  for (const auto& f : files) {
    CAPTURE(f.string());
    const auto golden = fs::path(f).replace_extension(".argv");
    const auto msg = qmd::testing::compare_golden(
        golden, qmd::testing::render_golden(f, "kvm=yes"));
    CHECK_MESSAGE(msg.empty(), msg);
  }
}

TEST_CASE("the tuning guide's specs without features.smm render as the examples with it") {
  // Secure boot turns SMM on (KubeVirt), so leaving smm out changes nothing.
  const fs::path src = QMD_SOURCE_DIR;
  for (auto [seed, example] : {std::pair{"seed-win11-secureboot", "win11-desktop"},
                               std::pair{"seed-win2k22-secureboot", "win2k22-perf"}}) {
    CAPTURE(seed);
    const auto with_smm =
        qmd::testing::render_golden(src / "examples" / (std::string(example) + ".yaml"),
                                    kExampleHost);
    const auto without =
        qmd::testing::render_golden(src / "tests/golden" / (std::string(seed) + ".yaml"),
                                    "unused: the file names its host");
    CHECK(without.starts_with("/"));  // an argv, not errors
    // The argv; warnings name their own file and line.
    const auto argv_of = [](const std::string& golden) {
      std::string out;
      std::istringstream in(golden);
      for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("# warning")) {
          out += line + "\n";
        }
      }
      return out;
    };
    CHECK(argv_of(without) == argv_of(with_smm));
  }
}
