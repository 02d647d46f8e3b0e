// disk_fds (daemon/runtime/disk_fds.cpp): the disk protocol nodes of an argv get /dev/fdset/N
// and -add-fd for the descriptors qmd opened; nothing else in the argv changes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/runtime/disk_fds.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using qmd::daemon::disk_files;
using qmd::daemon::open_disk_image;
using qmd::daemon::with_fdsets;
using qmd::daemon::with_image_names;
using Args = std::vector<std::string>;

TEST_CASE("an argv without disks has no disk files and stays as it is") {
  const Args args{"-machine", "q35",
                  "-blockdev",
                  R"({"driver":"file","filename":"/usr/share/OVMF/OVMF_CODE_4M.fd",)"
                  R"("node-name":"pflash0-file","read-only":true})"};
  CHECK(disk_files(args).empty());
  CHECK(with_fdsets(args, {}, {}) == args);
}

TEST_CASE("each disk's file node gets its fd set, auto-read-only off, locking QEMU's default") {
  const Args args{
      "-blockdev",
      R"({"driver":"file","filename":"/srv/a.img","node-name":"file-a","read-only":false,"auto-read-only":true})",
      "-blockdev", R"({"driver":"raw","file":"file-a","node-name":"fmt-a"})",
      "-device", "virtio-blk-pci,drive=fmt-a",
      "-blockdev",
      R"({"driver":"host_device","filename":"/srv/b","node-name":"file-b","read-only":true})"};
  const auto files = disk_files(args);
  REQUIRE(files.size() == 2);
  CHECK(files[0].node == "file-a");
  CHECK(files[0].filename == "/srv/a.img");
  CHECK_FALSE(files[0].readonly);
  CHECK(files[1].readonly);
  const Args want{
      "-add-fd", "fd=7,set=1,opaque=file-a",
      "-blockdev",
      R"({"driver":"file","filename":"/dev/fdset/1","node-name":"file-a","read-only":false,"auto-read-only":false})",
      "-blockdev", R"({"driver":"raw","file":"file-a","node-name":"fmt-a"})",
      "-device", "virtio-blk-pci,drive=fmt-a",
      "-add-fd", "fd=9,set=2,opaque=file-b",
      "-blockdev",
      R"({"driver":"host_device","filename":"/dev/fdset/2","node-name":"file-b","read-only":true,"auto-read-only":false})"};
  CHECK(with_fdsets(args, files, {{7}, {9}}) == want);
}

TEST_CASE("QEMU's output names images by path, not by fd set") {
  const std::vector<std::string> images{"/srv/a.img", "/srv/b.img"};
  CHECK(with_image_names("Failed to get \"write\" lock\nIs another process using the image "
                         "[/dev/fdset/2]?",
                         images) ==
        "Failed to get \"write\" lock\nIs another process using the image [/srv/b.img]?");
  CHECK(with_image_names("/dev/fdset/1 and /dev/fdset/1", images) == "/srv/a.img and /srv/a.img");
  // Sets qmd did not make, and what merely looks like one, stay as they are.
  CHECK(with_image_names("/dev/fdset/3 /dev/fdset/12 /dev/fdset/ /dev/fdset/0", images) ==
        "/dev/fdset/3 /dev/fdset/12 /dev/fdset/ /dev/fdset/0");
  CHECK(with_image_names("no sets", {}) == "no sets");
}

TEST_CASE("open_disk_image: beneath a root or in the run dir, never a FIFO or a link") {
  qmd::itest::TempDir dir("disk-fds");
  const fs::path root = fs::path(dir.path()) / "root";
  const fs::path run = fs::path(dir.path()) / "run";
  fs::create_directories(root);
  fs::create_directories(run);
  std::ofstream(root / "a.img") << "a";
  std::ofstream(run / "empty-s.img") << "s";
  const std::vector<std::string> roots{root.string()};
  auto rw = open_disk_image((root / "a.img").string(), false, roots, run.string());
  REQUIRE(rw);
  REQUIRE(rw->size() == 1);
  CHECK((::fcntl((*rw)[0].get(), F_GETFL) & O_ACCMODE) == O_RDWR);
  auto scratch = open_disk_image((run / "empty-s.img").string(), true, roots, run.string());
  REQUIRE(scratch);
  REQUIRE(scratch->size() == 1);
  CHECK((::fcntl((*scratch)[0].get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
  REQUIRE(::mkfifo((root / "fifo").c_str(), 0600) == 0);
  auto fifo = open_disk_image((root / "fifo").string(), true, roots, run.string());
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error().find("neither a file nor a block device") != std::string::npos);
  fs::create_symlink(run / "empty-s.img", run / "empty-l.img");
  CHECK_FALSE(open_disk_image((run / "empty-l.img").string(), true, roots, run.string()));
  CHECK_FALSE(open_disk_image("/etc/hostname", true, roots, run.string()));
}
