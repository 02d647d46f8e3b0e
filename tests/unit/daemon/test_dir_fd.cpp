// dir_fd (daemon/store/dir_fd.cpp): root working in a directory another user writes to. Each
// case plants a link where qmd works, pointing at a "root file" made here, and shows that the
// file keeps its owner, mode and content.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/store/dir_fd.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using namespace qmd::daemon;
using qmd::UniqueFd;

namespace {

constexpr PathOwner kQemu{65534, 65534};  // nobody: the QEMU user in the tests

struct Victim {
  fs::path path;
  struct stat before {};
  explicit Victim(const fs::path& where) : path(where) {
    std::ofstream(where) << "root's secret";
    ::chmod(where.c_str(), 0600);
    REQUIRE(::lstat(where.c_str(), &before) == 0);
  }
  void unchanged() const {
    struct stat now {};
    REQUIRE(::lstat(path.c_str(), &now) == 0);
    CHECK(now.st_uid == before.st_uid);
    CHECK(now.st_gid == before.st_gid);
    CHECK((now.st_mode & 07777) == (before.st_mode & 07777));
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "root's secret");
  }
};

struct stat stat_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("make_dir_at: a link in the directory's place is refused, its target untouched") {
  qmd::itest::TempDir tmp("dirfd-make");
  const fs::path base(tmp.path());
  fs::create_directory(base / "rootdir");
  ::chmod((base / "rootdir").c_str(), 0700);
  const auto before = stat_of(base / "rootdir");
  fs::create_directory_symlink(base / "rootdir", base / "tpm");
  auto parent = open_config_dir(base.string());
  REQUIRE(parent);

  auto made = make_dir_at(parent->get(), "tpm", 0700, kQemu, (base / "tpm").string());
  REQUIRE_FALSE(made);
  CHECK(made.error().find("is a link") != std::string::npos);
  const auto after = stat_of(base / "rootdir");
  CHECK(after.st_uid == before.st_uid);
  CHECK((after.st_mode & 07777) == 0700);

  SUBCASE("a directory wrongly the QEMU user's becomes qmd's again, with the mode asked") {
    fs::create_directory(base / "state");
    REQUIRE(::chown((base / "state").c_str(), kQemu.uid, kQemu.gid) == 0);
    auto again = make_dir_path((base / "state").string(), 0711, self_owner());
    REQUIRE(again);
    const auto st = stat_of(base / "state");
    CHECK(st.st_uid == ::geteuid());
    CHECK((st.st_mode & 07777) == 0711);
  }
}

TEST_CASE("chown_tree_at: links and hard links in the tree keep their targets' owners") {
  qmd::itest::TempDir tmp("dirfd-chown");
  const fs::path base(tmp.path());
  Victim victim(base / "shadow");
  fs::create_directories(base / "victimdir");
  fs::create_directories(base / "tree" / "sub");
  std::ofstream(base / "tree" / "sub" / "state") << "tpm";
  fs::create_symlink(victim.path, base / "tree" / "link");
  fs::create_directory_symlink(base / "victimdir", base / "tree" / "sub" / "dirlink");
  fs::create_hard_link(victim.path, base / "tree" / "hard");
  const auto victim_dir = stat_of(base / "victimdir");

  auto parent = open_config_dir(base.string());
  REQUIRE(parent);
  UniqueFd tree = open_dir_nofollow(parent->get(), "tree");
  REQUIRE(tree);
  chown_tree_at(tree.get(), kQemu);

  CHECK(stat_of(base / "tree").st_uid == kQemu.uid);
  CHECK(stat_of(base / "tree" / "sub").st_uid == kQemu.uid);
  CHECK(stat_of(base / "tree" / "sub" / "state").st_uid == kQemu.uid);
  victim.unchanged();
  CHECK(stat_of(base / "victimdir").st_uid == victim_dir.st_uid);
}

TEST_CASE("copy_if_missing_at: a planted link is replaced by a new copy, never written through") {
  qmd::itest::TempDir tmp("dirfd-copy");
  const fs::path base(tmp.path());
  Victim victim(base / "shadow");
  std::ofstream(base / "template") << "VARS template";
  fs::create_symlink(victim.path, base / "OVMF_VARS.fd");
  auto dir = open_config_dir(base.string());
  REQUIRE(dir);

  auto copied = copy_if_missing_at(dir->get(), "OVMF_VARS.fd", (base / "template").string(),
                                   0600, kQemu, "OVMF_VARS.fd");
  REQUIRE(copied);
  CHECK(*copied);
  victim.unchanged();
  const auto st = stat_of(base / "OVMF_VARS.fd");
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_uid == kQemu.uid);
  CHECK((st.st_mode & 07777) == 0600);

  // A regular file is kept; a hard link to a root file is not: it goes, the file stays.
  auto kept = copy_if_missing_at(dir->get(), "OVMF_VARS.fd", (base / "template").string(), 0600,
                                 kQemu, "OVMF_VARS.fd");
  REQUIRE(kept);
  CHECK_FALSE(*kept);
  if (::geteuid() == 0) {  // kept, and handed to the VM's new QEMU uid
    REQUIRE(::chown((base / "OVMF_VARS.fd").c_str(), kQemu.uid + 1, kQemu.gid + 1) == 0);
    REQUIRE(copy_if_missing_at(dir->get(), "OVMF_VARS.fd", (base / "template").string(), 0600,
                               kQemu, "OVMF_VARS.fd"));
    CHECK(stat_of(base / "OVMF_VARS.fd").st_uid == kQemu.uid);
    CHECK(stat_of(base / "OVMF_VARS.fd").st_gid == kQemu.gid);
  }
  fs::remove(base / "OVMF_VARS.fd");
  fs::create_hard_link(victim.path, base / "OVMF_VARS.fd");
  auto replaced = copy_if_missing_at(dir->get(), "OVMF_VARS.fd", (base / "template").string(),
                                     0600, kQemu, "OVMF_VARS.fd");
  REQUIRE(replaced);
  CHECK(*replaced);
  victim.unchanged();
}

TEST_CASE("write_file_at and read_file_nofollow never go through a link") {
  qmd::itest::TempDir tmp("dirfd-write");
  const fs::path base(tmp.path());
  Victim victim(base / "shadow");
  fs::create_symlink(victim.path, base / "vars");
  auto dir = open_config_dir(base.string());
  REQUIRE(dir);

  auto read = read_file_nofollow((base / "vars").string(), 1 << 20);
  REQUIRE_FALSE(read);
  CHECK(read.error().find("follows no links") != std::string::npos);

  REQUIRE(write_file_at(dir->get(), "vars", "new VARS", 0600, kQemu, "vars"));
  victim.unchanged();
  CHECK_FALSE(fs::is_symlink(base / "vars"));
  CHECK(stat_of(base / "vars").st_uid == kQemu.uid);
  auto back = read_file_nofollow((base / "vars").string(), 1 << 20);
  REQUIRE(back);
  CHECK(*back == "new VARS");
  CHECK_FALSE(read_file_nofollow((base / "vars").string(), 4));  // over the limit
}
