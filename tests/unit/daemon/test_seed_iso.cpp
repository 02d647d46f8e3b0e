// Seed images built with the real genisoimage and read back with isoinfo (both from Debian's
// genisoimage package): the label, every file and its bytes; payloads from local secrets read
// without following links; every failure names what is at fault and leaves nothing behind.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "daemon/runtime/seed_iso.hpp"

using namespace qmd;
using namespace qmd::daemon;
namespace fs = std::filesystem;

namespace {

// A run dir, a secrets dir, and a TMPDIR of its own, so staging left behind would show.
struct Dirs {
  fs::path top = fs::temp_directory_path() / fmt::format("qmd-seed-test-{}", ::getpid());
  fs::path run = top / "run";
  fs::path secrets = top / "secrets";
  fs::path tmp = top / "tmp";
  std::string old_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  Dirs() {
    fs::create_directories(run);
    fs::create_directories(secrets);
    fs::create_directories(tmp);
    ::setenv("TMPDIR", tmp.c_str(), 1);
  }
  ~Dirs() {
    if (old_tmpdir.empty()) {
      ::unsetenv("TMPDIR");
    } else {
      ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
    }
    fs::remove_all(top);
  }
  void write(const fs::path& path, const std::string& text) const {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  SeedBuild how() const {
    SeedBuild b;
    b.secrets_dir = secrets.string();
    b.run_dir = run.string();
    return b;
  }
  bool run_dir_empty() const { return fs::is_empty(run); }
  bool staging_gone() const { return fs::is_empty(tmp); }
};

std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, decltype(&::pclose)> pipe(::popen(command.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  std::string out;
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe.get())) {
    out.append(buffer, n);
  }
  return out;
}

std::string iso_label(const fs::path& iso) {
  const auto info = output_of("isoinfo -d -i " + iso.string());
  const auto at = info.find("Volume id: ");
  REQUIRE(at != std::string::npos);
  return info.substr(at + 11, info.find('\n', at) - at - 11);
}

std::string iso_file(const fs::path& iso, const std::string& path) {
  return output_of(fmt::format("isoinfo -R -i {} -x {}", iso.string(), path));
}

cmdline::SeedFile inline_file(std::string path, std::string content) {
  cmdline::SeedFile f;
  f.path = std::move(path);
  f.content = std::move(content);
  return f;
}

cmdline::SeedFile secret_file(std::string path, std::string secret) {
  cmdline::SeedFile f;
  f.path = std::move(path);
  f.secret = std::move(secret);
  f.keys = {"userdata", "userData"};
  return f;
}

cmdline::SeedPlan plan(const Dirs& d, std::string label, std::vector<cmdline::SeedFile> files) {
  cmdline::SeedPlan p;
  p.volume = "ci";
  p.source = "cloudInitNoCloud";
  p.path = (d.run / "seed-ci.iso").string();
  p.label = std::move(label);
  p.files = std::move(files);
  return p;
}

}  // namespace

TEST_CASE("seed image: NoCloud's cidata with inline and secret payloads, read back") {
  Dirs d;
  d.write(d.secrets / "web" / "userData", "#cloud-config\nhostname: from-secret\n");
  const auto p = plan(d, "cidata",
                      {inline_file("meta-data", "instance-id: u1\nlocal-hostname: web\n"),
                       secret_file("user-data", "web"),
                       inline_file("network-config", "version: 2\n")});
  auto how = d.how();
  if (::geteuid() == 0) {
    how.owner = PathOwner{65534, 65534};
  }
  const auto built = build_seed(p, how);
  REQUIRE_MESSAGE(built, (built ? "" : built.error()));
  const fs::path iso = p.path;
  CHECK(iso_label(iso) == "cidata");
  CHECK(iso_file(iso, "/meta-data") == "instance-id: u1\nlocal-hostname: web\n");
  CHECK(iso_file(iso, "/user-data") == "#cloud-config\nhostname: from-secret\n");
  CHECK(iso_file(iso, "/network-config") == "version: 2\n");
  struct stat st {};
  REQUIRE(::lstat(p.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  if (how.owner) {
    CHECK(st.st_uid == 65534);
  }
  CHECK(d.staging_gone());
}

TEST_CASE("seed image: ConfigDrive's config-2 with nested files; a secret may be one file") {
  Dirs d;
  d.write(d.secrets / "plain", "#!/bin/sh\necho hi\n");
  const auto p = plan(d, "config-2",
                      {inline_file("openstack/latest/meta_data.json", "{\"uuid\": \"u1\"}\n"),
                       secret_file("openstack/latest/user_data", "plain")});
  const auto built = build_seed(p, d.how());
  REQUIRE_MESSAGE(built, (built ? "" : built.error()));
  CHECK(iso_label(p.path) == "config-2");
  CHECK(iso_file(p.path, "/openstack/latest/meta_data.json") == "{\"uuid\": \"u1\"}\n");
  CHECK(iso_file(p.path, "/openstack/latest/user_data") == "#!/bin/sh\necho hi\n");
}

TEST_CASE("seed image: a link planted where the image goes is replaced, not written through") {
  Dirs d;
  d.write(d.top / "victim", "untouched\n");
  fs::create_symlink(d.top / "victim", d.run / "seed-ci.iso");
  const auto p = plan(d, "cidata", {inline_file("meta-data", "instance-id: u1\n")});
  const auto built = build_seed(p, d.how());
  REQUIRE_MESSAGE(built, (built ? "" : built.error()));
  CHECK(!fs::is_symlink(p.path));
  CHECK(iso_label(p.path) == "cidata");
  std::ifstream victim(d.top / "victim");
  std::string text((std::istreambuf_iterator<char>(victim)), std::istreambuf_iterator<char>());
  CHECK(text == "untouched\n");
}

TEST_CASE("seed image: secrets that are missing, linked or too big fail and leave nothing") {
  Dirs d;
  const auto s = d.secrets.string();
  auto p = plan(d, "cidata", {secret_file("user-data", "nope")});
  auto built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() == fmt::format("secret nope does not exist: put the data in {0}/nope/"
                                     "userdata (or in the file {0}/nope)",
                                     s));
  CHECK(d.run_dir_empty());
  CHECK(d.staging_gone());

  fs::create_directories(d.secrets / "empty");
  p = plan(d, "cidata", {secret_file("user-data", "empty")});
  built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() == fmt::format("secret empty ({0}/empty) has no key userdata or userData: "
                                     "put the data in {0}/empty/userdata",
                                     s));

  d.write(d.top / "shadow", "root:secret\n");
  fs::create_directories(d.secrets / "linked");
  fs::create_symlink(d.top / "shadow", d.secrets / "linked" / "userdata");
  p = plan(d, "cidata", {secret_file("user-data", "linked")});
  built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() == fmt::format("cannot open {}/linked/userdata (Too many levels of symbolic "
                                     "links; qmd follows no links there)",
                                     s));
  fs::create_symlink(d.top / "shadow", d.secrets / "linked-file");
  p = plan(d, "cidata", {secret_file("user-data", "linked-file")});
  built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() == fmt::format("cannot open {}/linked-file (Too many levels of symbolic "
                                     "links; qmd follows no links there)",
                                     s));

  d.write(d.secrets / "big" / "userdata", std::string(kSeedSecretMaxBytes + 1, 'x'));
  p = plan(d, "cidata", {secret_file("user-data", "big")});
  built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() ==
        fmt::format("{}/big/userdata is over 64 KiB, the most qmd puts in a seed", s));
  CHECK(d.run_dir_empty());
  CHECK(d.staging_gone());
}

TEST_CASE("seed image: a tool that fails or is missing leaves nothing; errors name the volume") {
  Dirs d;
  cmdline::RenderResult rendered;
  rendered.seeds.push_back(plan(d, "cidata", {inline_file("meta-data", "instance-id: u1\n")}));
  auto second = plan(d, "cidata", {inline_file("meta-data", "instance-id: u1\n")});
  second.volume = "ci2";
  second.path = (d.run / "seed-ci2.iso").string();
  rendered.seeds.push_back(second);
  auto how = d.how();
  how.tool = "qmd-no-such-genisoimage";
  auto failed = build_seeds(rendered, how);
  REQUIRE(failed);
  CHECK(failed->starts_with(fmt::format("volume \"ci\" (cloudInitNoCloud): building its seed "
                                        "image {}/seed-ci.iso failed: ",
                                        d.run.string())));
  CHECK(failed->find("(is Debian's genisoimage installed?)") != std::string::npos);
  CHECK(d.run_dir_empty());
  CHECK(d.staging_gone());

  // The first builds, the second fails: the first goes too.
  fs::create_directories(d.run / "seed-ci2.iso" / "in-the-way");
  failed = build_seeds(rendered, d.how());
  REQUIRE(failed);
  CHECK(failed->starts_with("volume \"ci2\" (cloudInitNoCloud)"));
  CHECK(!fs::exists(d.run / "seed-ci.iso"));
  CHECK(d.staging_gone());
}

TEST_CASE("seed image: sysprep's answer files from a directory or one file; none is an error") {
  Dirs d;
  auto answer = [](std::string path, std::vector<std::string> keys, bool whole) {
    cmdline::SeedFile f;
    f.path = std::move(path);
    f.secret = "win";
    f.keys = std::move(keys);
    f.optional = true;
    f.whole_file = whole;
    return f;
  };
  auto p = plan(d, "sysprep",
                {answer("autounattend.xml", {"autounattend.xml", "Autounattend.xml"}, true),
                 answer("unattend.xml", {"unattend.xml", "Unattend.xml"}, false)});
  p.needs_one = true;
  d.write(d.secrets / "win" / "Autounattend.xml", "<unattend>setup</unattend>\n");
  auto built = build_seed(p, d.how());
  REQUIRE_MESSAGE(built, (built ? "" : built.error()));
  CHECK(iso_label(p.path) == "sysprep");
  CHECK(iso_file(p.path, "/autounattend.xml") == "<unattend>setup</unattend>\n");
  CHECK(output_of(fmt::format("isoinfo -R -f -i {}", p.path)) == "/autounattend.xml\n");

  fs::remove_all(d.secrets / "win");
  d.write(d.secrets / "win", "<unattend>one file</unattend>\n");
  built = build_seed(p, d.how());
  REQUIRE_MESSAGE(built, (built ? "" : built.error()));
  CHECK(output_of(fmt::format("isoinfo -R -f -i {}", p.path)) == "/autounattend.xml\n");
  CHECK(iso_file(p.path, "/autounattend.xml") == "<unattend>one file</unattend>\n");

  fs::remove(d.secrets / "win");
  fs::create_directories(d.secrets / "win");
  d.write(d.secrets / "win" / "notes.txt", "no answer file\n");
  built = build_seed(p, d.how());
  REQUIRE(!built);
  CHECK(built.error() == fmt::format("secret win ({}/win) holds none of autounattend.xml, "
                                     "unattend.xml: put the answer file there as "
                                     "autounattend.xml",
                                     d.secrets.string()));
  CHECK(d.run_dir_empty());
  CHECK(d.staging_gone());
}
