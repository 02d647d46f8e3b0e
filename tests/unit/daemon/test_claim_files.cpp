// Claims and stored images found on a real directory tree: the files a name resolves to, the
// refusals (missing, two files, a link), and the sizes a guest sees.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/unique_fd.hpp"
#include "daemon/storage/claim_files.hpp"
#include "daemon/storage/image_files.hpp"
#include "daemon/storage/image_size.hpp"
#include "daemon/storage/image_tools.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using namespace qmd::daemon::storage;

namespace {

struct Store {
  qmd::itest::TempDir dir{"claims"};
  fs::path base{dir.path()};
  fs::path root = base / "root";
  fs::path outside = base / "outside";
  Places places{{root.string()}, (root / "claims").string(), (root / "images").string(), {}};

  Store() {
    fs::create_directories(root / "claims");
    fs::create_directories(root / "images");
    fs::create_directories(outside);
    std::ofstream(outside / "secret") << "secret";
  }
  void file(const fs::path& path, std::size_t bytes) {
    std::ofstream(path) << std::string(bytes, 'x');
  }
};

// A minimal qcow2 header: magic, version 3, and `size` at offset 24 (big-endian).
void qcow2_header(const fs::path& path, std::uint64_t size) {
  std::string header(512, '\0');
  header.replace(0, 4, "QFI\xfb");
  header[7] = 3;
  for (int i = 0; i < 8; ++i) {
    header[24 + i] = static_cast<char>((size >> (56 - 8 * i)) & 0xff);
  }
  std::ofstream(path, std::ios::binary) << header;
}

}  // namespace

TEST_CASE("a claim is the one file of its name, its format by the extension") {
  Store s;
  s.file(s.root / "claims" / "web.img", 4096);
  auto claim = find_claim(s.places, "web");
  REQUIRE(claim);
  CHECK(claim->path == (s.root / "claims" / "web.img").string());
  CHECK(claim->format == "raw");
  CHECK_FALSE(claim->device);
  auto fd = open_claim(s.places, *claim, O_RDONLY);
  REQUIRE(fd);
  CHECK(image_virtual_size(fd->get(), "raw") == 4096u);
}

TEST_CASE("a missing claim names every path looked at and the command that makes one") {
  Store s;
  auto claim = find_claim(s.places, "db");
  REQUIRE_FALSE(claim);
  const auto c = (s.root / "claims").string();
  CHECK(claim.error() ==
        "claim db does not exist: looked for " + c + "/db.qcow2, " + c + "/db.img, " + c +
            "/db.raw (and storage.claimDevices in qmd.yaml names no device for it); create it "
            "with `qmctl volume create db --size SIZE`");
}

TEST_CASE("two files for one claim is an error naming both") {
  Store s;
  qcow2_header(s.root / "claims" / "db.qcow2", 1 << 20);
  s.file(s.root / "claims" / "db.raw", 10);
  auto claim = find_claim(s.places, "db");
  REQUIRE_FALSE(claim);
  CHECK(claim.error().find("claim db is both " + (s.root / "claims" / "db.qcow2").string() +
                           " and " + (s.root / "claims" / "db.raw").string()) == 0);
}

TEST_CASE("attack: a claim file that is a link out of the roots is refused, not followed") {
  Store s;
  fs::create_symlink(s.outside / "secret", s.root / "claims" / "evil.raw");
  auto claim = find_claim(s.places, "evil");
  REQUIRE_FALSE(claim);
  CHECK(claim.error().find("goes through a symbolic link") != std::string::npos);
  CHECK(list_claims(s.places).empty());  // the link is not listed as a claim
}

TEST_CASE("attack: a claim name that climbs out is refused before any path is built") {
  Store s;
  for (const char* bad : {"../../outside/secret", "..", "a/b", "Web", ""}) {
    CAPTURE(bad);
    auto claim = find_claim(s.places, bad);
    REQUIRE_FALSE(claim);
    CHECK(claim.error().find("is not a claim name") != std::string::npos);
  }
}

TEST_CASE("a claim device from qmd.yaml is found by name; a file there is not a device") {
  Store s;
  s.places.devices = {{"db", (s.outside / "secret").string()}};
  auto claim = find_claim(s.places, "db");
  REQUIRE(claim);
  CHECK(claim->device);
  CHECK(claim->path == (s.outside / "secret").string());
  auto fd = open_claim(s.places, *claim, O_RDONLY);
  REQUIRE_FALSE(fd);
  CHECK(fd.error().find("is not a block device") != std::string::npos);
}

TEST_CASE("list_claims: the files with claim names, in order, then the devices") {
  Store s;
  qcow2_header(s.root / "claims" / "b.qcow2", 1 << 20);
  s.file(s.root / "claims" / "a.raw", 1);
  s.file(s.root / "claims" / "notes.txt", 1);
  s.file(s.root / "claims" / "Bad.raw", 1);
  s.places.devices = {{"dev", "/dev/null"}};
  const auto claims = list_claims(s.places);
  REQUIRE(claims.size() == 3);
  CHECK(claims[0].name == "a");
  CHECK(claims[1].name == "b");
  CHECK(claims[1].format == "qcow2");
  CHECK(claims[2].name == "dev");
  CHECK(claims[2].device);
}

TEST_CASE("a qcow2 image's size is the one in its header; a raw file is not a qcow2") {
  Store s;
  qcow2_header(s.root / "claims" / "q.qcow2", 10737418240ULL);
  qmd::UniqueFd fd(::open((s.root / "claims" / "q.qcow2").c_str(), O_RDONLY));
  CHECK(image_virtual_size(fd.get(), "qcow2") == 10737418240ULL);
  CHECK(has_qcow2_magic(fd.get()));
  s.file(s.root / "claims" / "r.raw", 100);
  qmd::UniqueFd raw(::open((s.root / "claims" / "r.raw").c_str(), O_RDONLY));
  CHECK_FALSE(has_qcow2_magic(raw.get()));
  auto size = image_virtual_size(raw.get(), "qcow2");
  REQUIRE_FALSE(size);
  CHECK(size.error() == "it is not a qcow2 image (no qcow2 header)");
}

TEST_CASE("the image store: a reference is found under its stem; a missing one says import") {
  Store s;
  const std::string ref = "quay.io/containerdisks/fedora:40";
  qcow2_header(s.root / "images" / "quay.io_2fcontainerdisks_2ffedora_3a40.qcow2", 1 << 30);
  auto image = find_image(s.places, ref);
  REQUIRE(image);
  CHECK(image->format == "qcow2");
  CHECK(image->virtual_size == 1u << 30);
  CHECK(image_path(s.places, ref, "qcow2") == image->path);
  const auto listed = list_images(s.places);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].ref == ref);
  auto missing = find_image(s.places, "quay.io/none:1");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "image quay.io/none:1 is not in the image store (" +
                               (s.root / "images").string() +
                               "); import it with `qmctl image import quay.io/none:1 FILE`");
}

TEST_CASE("attack: a stored image that is a link is refused, and not listed") {
  Store s;
  fs::create_symlink(s.outside / "secret", s.root / "images" / "evil.raw");
  auto image = find_image(s.places, "evil");
  REQUIRE_FALSE(image);
  CHECK(image.error().find("goes through a symbolic link") != std::string::npos);
  CHECK(list_images(s.places).empty());
}

TEST_CASE("attack: a qcow2 naming an external data file is refused; plain images pass") {
  Store s;
  const auto secret = (s.outside / "secret").string();
  const auto evil = (s.root / "claims" / "evil.qcow2").string();
  const auto plain = (s.root / "claims" / "plain.qcow2").string();
  // Real images from the real qemu-img: one whose data lives in the "secret" outside the roots.
  REQUIRE(std::system(("qemu-img create -q -f qcow2 -o data_file=" + secret +
                       ",data_file_raw=on " + evil + " 1M")
                          .c_str()) == 0);
  REQUIRE(std::system(("qemu-img create -q -f qcow2 " + plain + " 1M").c_str()) == 0);
  const auto refused = [](const std::string& path) {
    qmd::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    return refuse_external_data_file(fd.get());
  };
  const auto evil_result = refused(evil);
  REQUIRE_FALSE(evil_result);
  CHECK(evil_result.error().starts_with("it is a qcow2 image with an external data file"));
  CHECK(refused(plain));
  CHECK(refused(secret));  // raw bytes: nothing to follow
}
