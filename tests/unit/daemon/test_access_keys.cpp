// accessCredentials' local secrets: a directory of key files or one file, read without
// following links, bounded, each line an OpenSSH public key; errors name the file and line.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/runtime/access_keys.hpp"

using namespace qmd::daemon;
namespace fs = std::filesystem;

namespace {

const std::string kEd = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1Zp8rX4ZbqLq7r0bTzQj user@host";
const std::string kRsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops";

struct Dir {
  fs::path path = fs::temp_directory_path() / fmt::format("qmd-keys-{}", ::getpid());
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
  }
};

}  // namespace

TEST_CASE("a secret directory: every file's keys, in name order; comments and blanks skipped") {
  Dir d;
  d.write("web/b-key", "# ops\n\n" + kRsa + "\r\n");
  d.write("web/a-key", kEd + "\n");
  d.write("web/.hidden", "not a key\n");
  const auto keys = read_secret_keys(d.path.string(), "web");
  REQUIRE_MESSAGE(keys, (keys ? "" : keys.error()));
  CHECK(*keys == std::vector<std::string>{kEd, kRsa});
}

TEST_CASE("a secret file, a missing one, a bad line, a link") {
  Dir d;
  d.write("one", kEd);
  CHECK(read_secret_keys(d.path.string(), "one").value() == std::vector<std::string>{kEd});
  const std::string dir = d.path.string();
  CHECK(read_secret_keys(dir, "nope").error() ==
        fmt::format("secret nope does not exist: put its public keys in {}/nope (a file, or a "
                    "directory of files)",
                    dir));
  d.write("bad/k", kEd + "\nssh-ed25519 not!base64\n");
  CHECK(read_secret_keys(dir, "bad").error() ==
        fmt::format("{}/bad/k:2 is not an OpenSSH public key line (TYPE BASE64 [COMMENT], such "
                    "as the .pub file ssh-keygen writes)",
                    dir));
  d.write("empty", "# nothing\n");
  CHECK(read_secret_keys(dir, "empty").error() ==
        fmt::format("secret empty ({}/empty) holds no public key", dir));
  // A link in the secrets directory is not followed, to a file or to a directory.
  d.write("outside/k", kEd);
  fs::create_symlink(d.path / "outside", d.path / "via");
  fs::create_symlink(d.path / "one", d.path / "alias");
  CHECK_FALSE(read_secret_keys(dir, "via").has_value());
  CHECK(read_secret_keys(dir, "alias").error().find("cannot open") != std::string::npos);
  d.write("dirlink/k", "");
  fs::remove(d.path / "dirlink/k");
  fs::create_symlink(d.path / "one", d.path / "dirlink/k");
  CHECK(read_secret_keys(dir, "dirlink").error() ==
        fmt::format("cannot open {}/dirlink/k: Too many levels of symbolic links", dir));
}

TEST_CASE("bounds: a file over 64 KiB, and the key line shape") {
  Dir d;
  d.write("big", std::string(kMaxKeyFileBytes + 1, '#'));
  CHECK(read_secret_keys(d.path.string(), "big").error() ==
        fmt::format("{}/big is over 64 KiB: a key file holds public keys only",
                    d.path.string()));
  CHECK(is_public_key_line(kEd));
  CHECK(is_public_key_line("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY="));
  CHECK_FALSE(is_public_key_line("ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIGq1"));
  CHECK_FALSE(is_public_key_line("ssh-ed25519 short"));
  CHECK_FALSE(is_public_key_line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1 \x01"));
  CHECK_FALSE(is_public_key_line("command=\"x\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1"));
}

TEST_CASE("AccessKeySync: read at the agent's connection, then once per interval") {
  using namespace std::chrono_literals;
  AccessKeySync sync;
  const auto t0 = AccessKeySync::Clock::time_point{} + 1h;
  CHECK(sync.due(t0, false, 60s));        // the first look
  CHECK_FALSE(sync.due(t0 + 59s, false, 60s));
  CHECK(sync.due(t0 + 59s, true, 60s));   // the agent came (back): at once
  CHECK_FALSE(sync.due(t0 + 60s, false, 60s));
  CHECK(sync.due(t0 + 119s, false, 60s));
}

TEST_CASE("AccessKeySync: pushed when changed or to a new agent; a failure said once") {
  AccessKeySync sync;
  CHECK(sync.needs_push("alice:k1\n", false));
  sync.pushed("alice:k1\n");
  CHECK_FALSE(sync.needs_push("alice:k1\n", false));
  CHECK(sync.needs_push("alice:k1\n", true));
  CHECK(sync.needs_push("alice:k2\n", false));
  CHECK_FALSE(sync.report(""));
  CHECK(sync.report("secret s1 does not exist"));
  CHECK_FALSE(sync.report("secret s1 does not exist"));
  CHECK(sync.report("secret s2 does not exist"));
  sync.pushed("alice:k2\n");  // a success ends it: the same failure later is news again
  CHECK(sync.report("secret s2 does not exist"));
}
