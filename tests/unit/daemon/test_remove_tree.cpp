// remove_tree (daemon/store/remove_tree.cpp): a tree goes whole, and a link in it, or in its
// place, is removed without touching what it points to.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "daemon/store/remove_tree.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using qmd::daemon::remove_tree;

TEST_CASE("remove_tree removes a tree and never follows a link") {
  qmd::itest::TempDir dir("remove-tree");
  const fs::path base(dir.path());
  fs::create_directories(base / "victim" / "sub");
  std::ofstream(base / "victim" / "keep") << "kept";
  std::ofstream(base / "victim" / "sub" / "keep") << "kept";
  fs::create_directories(base / "tree" / "a" / "b");
  std::ofstream(base / "tree" / "a" / "b" / "file") << "x";
  std::ofstream(base / "tree" / "top") << "x";
  fs::create_directory_symlink(base / "victim", base / "tree" / "a" / "dirlink");
  fs::create_symlink(base / "victim" / "keep", base / "tree" / "filelink");

  REQUIRE(remove_tree((base / "tree").string()));
  CHECK_FALSE(fs::exists(fs::symlink_status(base / "tree")));
  CHECK(fs::exists(base / "victim" / "keep"));
  CHECK(fs::exists(base / "victim" / "sub" / "keep"));

  // The path itself a link: only the link goes; a trailing slash names the same.
  fs::create_directory_symlink(base / "victim", base / "link");
  REQUIRE(remove_tree((base / "link").string()));
  CHECK_FALSE(fs::exists(fs::symlink_status(base / "link")));
  CHECK(fs::exists(base / "victim" / "sub" / "keep"));
  fs::create_directories(base / "slash" / "x");
  REQUIRE(remove_tree((base / "slash").string() + "/"));
  CHECK_FALSE(fs::exists(base / "slash"));

  // Never the current directory or its parent.
  CHECK_FALSE(remove_tree("."));
  CHECK_FALSE(remove_tree(".."));
  CHECK_FALSE(remove_tree(""));

  // Missing: nothing to do.
  CHECK(remove_tree((base / "missing").string()));
  CHECK(remove_tree((base / "missing" / "deeper").string()));
}
