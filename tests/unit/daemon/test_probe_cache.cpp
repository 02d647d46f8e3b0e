// The host probe cache: what it is keyed on, and every way a changed or foreign file is
// refused (so that qmd probes again) instead of trusted.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/host/host_caps_read.hpp"
#include "daemon/host/probe_cache.hpp"
#include "daemon/store/atomic_file.hpp"
#include "tests/integration/support.hpp"

namespace {

namespace json = boost::json;
using namespace qmd::daemon;
using qmd::itest::TempDir;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

void write_plain(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A host with something in every field, its OVMF images real files of ours in `dir`.
qmd::policy::HostCaps rich_caps(const TempDir& dir) {
  auto caps = qmd::policy::parse_host_caps(
      "hostname=h1 machines=q35,pc cpu-models=host,max cpu-flags=vmx,pni "
      "hyperv=relaxed,vapic,time hugepages-2Mi=1024/512 hugepages-1Gi=4/4 ovmf=none swtpm=no "
      "tsc-khz=2400000 tsc-scaling=yes");
  REQUIRE(caps.has_value());
  caps->qemu_binary = kQemu;
  caps->kvm_detail = "/dev/kvm is 0600 root:root: add the QEMU user to group kvm";
  caps->hyperv_detail["vpindex"] = "kernel doesn't allow setting HyperV VP_INDEX";
  caps->hyperv["vpindex"] = false;
  caps->hyperv_tcg_probed = true;
  caps->hyperv_tcg["relaxed"] = true;
  caps->hyperv_tcg["synic"] = false;
  caps->hyperv_tcg_detail["synic"] = "needs vpindex";
  write_plain(dir.path() + "/CODE.fd", "code", 0644);
  write_plain(dir.path() + "/VARS.fd", "vars", 0644);
  caps->ovmf.push_back({.code = dir.path() + "/CODE.fd",
                        .vars = dir.path() + "/VARS.fd",
                        .secure_boot = true,
                        .keys_enrolled = true,
                        .size_4m = true});
  return *caps;
}

ProbeKey some_key() {
  return ProbeKey{.qmd = "qmd 0.1.0 format 1 /proc/self/exe 1:2 3 bytes mtime 4.5",
                  .qemu = "/usr/bin/qemu-system-x86_64 8:1:99 100 bytes mtime 7.000000001",
                  .kernel = "6.1.0-18-amd64 #1 SMP",
                  .kvm = "rdev 10:232 mode 20600 uid 0 gid 0"};
}

CachedProbe probe_of(const qmd::policy::HostCaps& caps) {
  return CachedProbe{caps, std::chrono::system_clock::time_point(std::chrono::seconds(1700000000))};
}

// The cache text with one edit made to its JSON document.
template <typename Edit>
std::string edited(const std::string& text, Edit edit) {
  json::value doc = json::parse(text);
  edit(doc.as_object());
  return json::serialize(doc);
}

}  // namespace

TEST_CASE("a probe written under a key reads back whole under the same key") {
  TempDir dir("probe-cache");
  const auto caps = rich_caps(dir);
  const std::string path = probe_cache_path(dir.path());
  REQUIRE(write_probe_cache(path, some_key(), probe_of(caps)).has_value());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  auto read = read_probe_cache(path, some_key(), kQemu);
  REQUIRE_MESSAGE(read.has_value(), read.error());
  CHECK(qmd::policy::host_caps_json(read->caps) == qmd::policy::host_caps_json(caps));
  CHECK(read->probed_at == probe_of(caps).probed_at);
}

TEST_CASE("a cache taken under another key is not used") {
  TempDir dir("probe-cache");
  const std::string text = probe_cache_text(some_key(), probe_of(rich_caps(dir)));
  for (auto change : {&ProbeKey::qmd, &ProbeKey::qemu, &ProbeKey::kernel, &ProbeKey::kvm}) {
    ProbeKey other = some_key();
    other.*change += " (changed)";
    auto read = parse_probe_cache(text, other, kQemu);
    REQUIRE_FALSE(read.has_value());
    CHECK(read.error().find("key differs") != std::string::npos);
  }
}

TEST_CASE("the key follows the QEMU binary: its path, and its contents' change time") {
  TempDir dir("probe-key");
  const std::string copy = dir.path() + "/qemu-system-x86_64";
  write_plain(copy, "not really QEMU", 0755);
  const ProbeKey first = probe_key(copy);
  CHECK(probe_key(copy) == first);  // nothing changed: the same key
  CHECK(first.qemu.starts_with(copy + " "));
  const timespec times[2] = {{.tv_sec = 1000, .tv_nsec = 0}, {.tv_sec = 1000, .tv_nsec = 0}};
  REQUIRE(::utimensat(AT_FDCWD, copy.c_str(), times, 0) == 0);
  CHECK(probe_key(copy).qemu != first.qemu);
  CHECK(probe_key(kQemu).qemu != first.qemu);
  CHECK(probe_key(dir.path() + "/missing").qemu.find("missing (") != std::string::npos);
  CHECK_FALSE(first.kernel.empty());
  CHECK_FALSE(first.kvm.empty());
}

TEST_CASE("a corrupt cache is not used, and says why") {
  TempDir dir("probe-cache");
  const auto caps = rich_caps(dir);
  const std::string good = probe_cache_text(some_key(), probe_of(caps));
  REQUIRE(parse_probe_cache(good, some_key(), kQemu).has_value());
  auto refused = [&](const std::string& text, const std::string& why) {
    auto read = parse_probe_cache(text, some_key(), kQemu);
    REQUIRE_FALSE(read.has_value());
    CHECK_MESSAGE(read.error().find(why) != std::string::npos, read.error());
  };
  refused(good.substr(0, good.size() / 2), "not JSON");
  refused("", "not JSON");
  refused("[1,2]", "not a JSON object");
  refused(edited(good, [](json::object& d) { d["format"] = 2; }), "not format 1");
  refused(edited(good, [](json::object& d) { d["probedAt"] = "yesterday"; }), "probedAt");
  refused(edited(good, [](json::object& d) { d["probedAt"] = 99999999999; }), "probedAt");
  refused(edited(good, [](json::object& d) { d["extra"] = 1; }), "fields qmd does not write");
  refused(
      edited(good,
             [](json::object& d) { d["caps"].as_object()["kvm"].as_object()["usable"] = "yes"; }),
      "caps.kvm.usable is not true or false");
  refused(edited(good, [](json::object& d) { d["caps"].as_object().erase("cpu_models"); }),
          "caps.cpu_models is missing");
  refused(
      edited(good, [](json::object& d) { d["caps"].as_object()["cpu_models"] = json::array{1}; }),
      "caps.cpu_models holds something that is not a string");
  refused(edited(good, [](json::object& d) { d["caps"].as_object()["cpus_online"] = -4; }),
          "caps.cpus_online is not a count");
  refused(edited(good, [](json::object& d) { d["caps"].as_object()["cpus_online"] = 1ULL << 40; }),
          "caps.cpus_online is above");
  refused(
      edited(good,
             [](json::object& d) { d["caps"].as_object()["qemu"].as_object()["version"] = "7.x"; }),
      "caps.qemu.version is not MAJOR.MINOR.MICRO");
  refused(edited(good, [](json::object& d) { d["caps"].as_object()["new_field"] = true; }),
          "do not match what qmd writes");
  refused(edited(good,
                 [](json::object& d) {
                   d["caps"].as_object()["hyperv"].as_object()["features"].as_object()["bogus"] =
                       json::object{{"accepted", true}};
                 }),
          "bogus is not a Hyper-V feature qmd knows");
  refused(edited(good,
                 [](json::object& d) {
                   d["caps"].as_object()["hugepages"].as_object()["2Mx"] = json::object{};
                 }),
          "2Mx is not a page size");
  // Nested deeper than the caps ever are.
  refused(edited(good,
                 [](json::object& d) {
                   d["caps"].as_object()["hostname"] = json::parse("[[[[[[[[[[1]]]]]]]]]]");
                 }),
          "not JSON");
}

TEST_CASE("caps that would make qmd run or hand QEMU another file are refused") {
  TempDir dir("probe-cache");
  const auto caps = rich_caps(dir);
  auto refused = [&](qmd::policy::HostCaps changed, const std::string& why,
                     const std::string& qemu = kQemu) {
    auto read =
        parse_probe_cache(probe_cache_text(some_key(), probe_of(changed)), some_key(), qemu);
    REQUIRE_FALSE(read.has_value());
    CHECK_MESSAGE(read.error().find(why) != std::string::npos, read.error());
  };
  refused(caps, "not the configured /opt/qemu", "/opt/qemu");
  auto swtpm = caps;
  swtpm.swtpm.present = true;
  swtpm.swtpm.path = dir.path() + "/swtpm";
  refused(swtpm, "is not where qmd looks for swtpm");
  auto setup = caps;
  setup.swtpm.setup_path = "/usr/bin/../../tmp/swtpm_setup";
  refused(setup, "is not where qmd looks for swtpm_setup");
  auto relative = caps;
  relative.ovmf[0].code = "OVMF_CODE.fd";
  refused(relative, "caps.ovmf[0].code: OVMF_CODE.fd is not an absolute path");
  auto missing = caps;
  missing.ovmf[0].vars = dir.path() + "/gone.fd";
  refused(missing, "caps.ovmf[0].vars: " + dir.path() + "/gone.fd" + ": No such file");
  REQUIRE(::chmod((dir.path() + "/CODE.fd").c_str(), 0666) == 0);
  refused(caps, "caps.ovmf[0].code: " + dir.path() + "/CODE.fd" + " is writable by others (0666)");
  REQUIRE(::chmod((dir.path() + "/CODE.fd").c_str(), 0644) == 0);
  auto directory = caps;
  directory.ovmf[0].code = dir.path();
  refused(directory, "is not a regular file");
}

TEST_CASE("a cache file that is a link, foreign, writable by others or too large is not read") {
  TempDir dir("probe-cache");
  const std::string text = probe_cache_text(some_key(), probe_of(rich_caps(dir)));
  const std::string path = probe_cache_path(dir.path());
  auto refused = [&](const std::string& why) {
    auto read = read_probe_cache(path, some_key(), kQemu);
    REQUIRE_FALSE(read.has_value());
    CHECK_MESSAGE(read.error().find(why) != std::string::npos, read.error());
  };
  refused("there is none");
  write_plain(dir.path() + "/elsewhere.json", text);
  REQUIRE(::symlink((dir.path() + "/elsewhere.json").c_str(), path.c_str()) == 0);
  refused("open: ");  // O_NOFOLLOW: ELOOP
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  refused("not a regular file");
  REQUIRE(::rmdir(path.c_str()) == 0);
  write_plain(path, text, 0620);
  refused("not to qmd alone");
  write_plain(path, text, 0602);
  refused("not to qmd alone");
  if (::geteuid() == 0) {
    write_plain(path, text, 0600);
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    refused("belongs to uid 65534");
    REQUIRE(::unlink(path.c_str()) == 0);
  }
  write_plain(path, text + std::string(kProbeCacheMaxBytes, ' '), 0600);
  refused("larger than 262144 bytes");
  write_plain(path, text, 0600);
  CHECK(read_probe_cache(path, some_key(), kQemu).has_value());  // and the same file, sound
}

TEST_CASE("a file qmd trusts: absolute, regular, root's or qmd's, written by no one else") {
  TempDir dir("trusted");
  write_plain(dir.path() + "/ok", "x", 0755);
  CHECK(check_trusted_file(dir.path() + "/ok").has_value());
  CHECK_FALSE(check_trusted_file("relative/ok").has_value());
  CHECK_FALSE(check_trusted_file(dir.path() + "/../ok").has_value());
  write_plain(dir.path() + "/group", "x", 0664);
  CHECK(check_trusted_file(dir.path() + "/group").error().find("writable by others (0664)") !=
        std::string::npos);
}
