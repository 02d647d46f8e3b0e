// storage roots (daemon/store/storage_roots.cpp): a user's path opens only beneath a root,
// through no link and no `..` out of it; the refusal names the path and the roots.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/store/storage_roots.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using qmd::daemon::check_roots;
using qmd::daemon::open_beneath;
using Why = qmd::daemon::PathRefusal::Why;

namespace {

struct Tree {
  qmd::itest::TempDir dir{"storage-roots"};
  fs::path base{dir.path()};
  fs::path root = base / "root";
  fs::path outside = base / "outside";
  std::vector<std::string> roots{root.string()};

  Tree() {
    fs::create_directories(root / "sub");
    fs::create_directories(outside);
    std::ofstream(root / "disk.img") << "disk";
    std::ofstream(root / "sub" / "deep.img") << "deep";
    std::ofstream(outside / "secret") << "secret";
  }
  Why why(const fs::path& path, int flags = O_RDONLY) const {
    auto opened = open_beneath(roots, path.string(), flags);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find(path.string()) != std::string::npos);
    CHECK(opened.error().message.find(root.string()) != std::string::npos);
    return opened.error().why;
  }
};

}  // namespace

TEST_CASE("a file beneath a root opens; its fd reads the file") {
  Tree t;
  auto fd = open_beneath(t.roots, (t.root / "sub" / "deep.img").string(), O_RDONLY);
  REQUIRE(fd);
  char buf[8] = {};
  CHECK(::read(fd->get(), buf, sizeof(buf)) == 4);
  CHECK(std::string(buf) == "deep");
  CHECK(open_beneath(t.roots, (t.root / "sub" / ".." / "disk.img").string(), O_PATH));
}

TEST_CASE("a path outside every root is refused from its name alone") {
  Tree t;
  CHECK(t.why(t.outside / "secret") == Why::outside);
  CHECK(t.why(t.outside / "no-such-file") == Why::outside);  // the same answer: nothing told
  CHECK(t.why(t.base / "rootx" / "disk.img") == Why::outside);  // a prefix is not a parent
  CHECK(t.why("relative/disk.img") == Why::outside);
}

TEST_CASE("a root itself is not a file in it") {
  Tree t;
  CHECK(t.why(t.root) == Why::is_root);
  CHECK(t.why(t.root.string() + "/") == Why::is_root);
  CHECK(t.why(t.root.string() + "/.") == Why::is_root);
}

TEST_CASE("`..` out of a root is refused, even to a file that exists") {
  Tree t;
  CHECK(t.why(t.root / ".." / "outside" / "secret") == Why::escapes);
  CHECK(t.why(t.root / "sub" / ".." / ".." / "outside" / "secret") == Why::escapes);
}

TEST_CASE("a planted link, final or on the way, is refused and not followed") {
  Tree t;
  fs::create_symlink(t.outside / "secret", t.root / "final-link");
  fs::create_directory_symlink(t.outside, t.root / "dir-link");
  fs::create_symlink(t.root / "disk.img", t.root / "inner-link");  // even one inside
  CHECK(t.why(t.root / "final-link") == Why::link);
  CHECK(t.why(t.root / "final-link", O_PATH) == Why::link);
  CHECK(t.why(t.root / "dir-link" / "secret") == Why::link);
  CHECK(t.why(t.root / "inner-link") == Why::link);
  // Creating through a link makes nothing at its target.
  CHECK(t.why(t.root / "dir-link" / "new.img", O_RDWR | O_CREAT | O_EXCL) == Why::link);
  CHECK_FALSE(fs::exists(t.outside / "new.img"));
}

TEST_CASE("a root reached through a link works by the link's name only") {
  Tree t;
  const fs::path link = t.base / "root-link";
  fs::create_directory_symlink(t.root, link);
  const std::vector<std::string> roots{link.string()};
  CHECK(open_beneath(roots, (link / "disk.img").string(), O_RDONLY));
  auto real = open_beneath(roots, (t.root / "disk.img").string(), O_RDONLY);
  REQUIRE_FALSE(real);
  CHECK(real.error().why == Why::outside);
}

TEST_CASE("O_CREAT|O_EXCL makes a new file and never reuses one") {
  Tree t;
  auto made = open_beneath(t.roots, (t.root / "new.img").string(), O_RDWR | O_CREAT | O_EXCL,
                           0600);
  REQUIRE(made);
  struct stat st {};
  REQUIRE(::fstat(made->get(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(t.why(t.root / "disk.img", O_RDWR | O_CREAT | O_EXCL) == Why::exists);
  CHECK(t.why(t.root / "no-dir" / "new.img", O_RDWR | O_CREAT | O_EXCL) == Why::missing);
}

TEST_CASE("the deepest root that names the path is the one walked") {
  Tree t;
  t.roots.push_back((t.root / "sub").string());
  CHECK(open_beneath(t.roots, (t.root / "sub" / "deep.img").string(), O_RDONLY));
  CHECK(t.why(t.root / "sub" / ".." / "disk.img") == Why::escapes);
}

TEST_CASE("check_roots: existing directories apart from qmd's own") {
  Tree t;
  const std::string state = (t.base / "state").string();
  const std::string run = (t.base / "run").string();
  fs::create_directories(t.base / "state" / "storage");
  fs::create_directories(t.base / "run");
  const std::string fallback = state + "/storage";
  CHECK(check_roots(t.roots, state, run, fallback));
  CHECK(check_roots(std::vector<std::string>{fallback}, state, run, fallback));
  auto missing = check_roots(std::vector<std::string>{(t.base / "nope").string()}, state, run,
                             fallback);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("nope") != std::string::npos);
  auto contains = check_roots(std::vector<std::string>{t.base.string()}, state, run, fallback);
  REQUIRE_FALSE(contains);
  CHECK(contains.error().find("contains qmd's state directory") != std::string::npos);
  fs::create_directories(t.base / "state" / "vms");
  auto in_state = check_roots(std::vector<std::string>{state + "/vms"}, state, run, fallback);
  REQUIRE_FALSE(in_state);
  CHECK(in_state.error().find("lies inside qmd's state directory") != std::string::npos);
  auto is_run = check_roots(std::vector<std::string>{run}, state, run, fallback);
  REQUIRE_FALSE(is_run);
}
