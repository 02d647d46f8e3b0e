// check_user_paths (daemon/runtime/spec_paths.cpp): every path a spec names must lie beneath
// a storage root; the error stands at the field's line:column and names the path and roots.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/runtime/spec_paths.hpp"
#include "policy/parse.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using qmd::daemon::check_user_paths;
using qmd::daemon::PathCheck;
using qmd::daemon::user_paths;

namespace {

qmd::policy::VmSpec spec_with(const std::string& volumes, const std::string& kernel) {
  const std::string text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
                           "metadata: {name: vm1}\nspec:\n  template:\n    spec:\n"
                           "      domain:\n        devices: {}\n" +
                           kernel + "      volumes:\n" + volumes;
  auto spec = qmd::policy::parse_spec(text, "vm1.yaml");
  REQUIRE_MESSAGE(spec, qmd::policy::to_string(spec.error()));
  return *spec;
}

std::string errors_of(const qmd::policy::VmSpec& spec, const std::vector<std::string>& roots,
                      PathCheck when) {
  return qmd::policy::to_string(check_user_paths(spec, roots, when));
}

}  // namespace

TEST_CASE("a spec without paths has nothing to check") {
  const auto spec = spec_with("      - {name: scratch, emptyDisk: {capacity: 1Mi}}\n", "");
  CHECK(user_paths(spec).empty());
  CHECK(errors_of(spec, {"/nonexistent-root"}, PathCheck::starting).empty());
}

TEST_CASE("volume and kernel paths: beneath a root, at their line:column") {
  qmd::itest::TempDir dir("spec-paths");
  const fs::path root = fs::path(dir.path()) / "root";
  fs::create_directories(root);
  std::ofstream(root / "disk.img") << "x";
  std::ofstream(root / "vmlinuz") << "x";
  const std::vector<std::string> roots{root.string()};
  const std::string kernel = "        firmware:\n          kernelBoot:\n            kernelPath: " +
                             (root / "vmlinuz").string() + "\n";
  const auto good = spec_with("      - {name: a, hostDisk: {path: " + (root / "disk.img").string() +
                                  ", type: Disk}}\n      - {name: b, hostDisk: {path: " +
                                  (root / "new.img").string() +
                                  ", type: DiskOrCreate, capacity: 1Mi}}\n",
                              kernel);
  CHECK(user_paths(good).size() == 3);
  CHECK(errors_of(good, roots, PathCheck::starting).empty());

  const auto bad = spec_with("      - {name: a, file: {path: /tmp/outside.img}}\n"
                             "      - {name: b, block: {path: /dev/null}}\n"
                             "      - {name: c, hostDisk: {path: " + (root / "later.img").string() +
                                 ", type: Disk}}\n",
                             kernel);
  const std::string defined = errors_of(bad, roots, PathCheck::defined);
  CHECK(defined.find("volumes[0].file.path: /tmp/outside.img is outside every storage root; "
                     "the storage roots (storage.roots in qmd.yaml) are " + root.string() +
                     " (vm1.yaml:13:") != std::string::npos);
  CHECK(defined.find("volumes[1].block.path: /dev/null is outside every storage root") !=
        std::string::npos);
  CHECK(defined.find("later.img") == std::string::npos);  // may come before the start
  CHECK(errors_of(bad, roots, PathCheck::starting).find("later.img does not exist") !=
        std::string::npos);
}

TEST_CASE("a link planted in a root is refused at create and at start") {
  qmd::itest::TempDir dir("spec-paths");
  const fs::path root = fs::path(dir.path()) / "root";
  fs::create_directories(root);
  fs::create_symlink("/etc/hostname", root / "link.img");
  const auto spec = spec_with(
      "      - {name: a, hostDisk: {path: " + (root / "link.img").string() +
          ", type: DiskOrCreate, capacity: 1Mi}}\n",
      "");
  for (auto when : {PathCheck::defined, PathCheck::starting}) {
    CHECK(errors_of(spec, {root.string()}, when).find("goes through a symbolic link") !=
          std::string::npos);
  }
}
