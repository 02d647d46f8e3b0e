#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/store/atomic_file.hpp"
#include "daemon/store/vm_store.hpp"
#include "tests/integration/support.hpp"

using qmd::daemon::read_file;
using qmd::daemon::VmStore;
using qmd::itest::TempDir;

namespace fs = std::filesystem;

namespace {

VmStore open_store(const std::string& state_dir) {
  auto store = VmStore::open(state_dir);
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error()));
  return std::move(*store);
}

}  // namespace

TEST_CASE("an empty store has a vms directory and no VMs") {
  TempDir dir("store");
  VmStore store = open_store(dir.path() + "/state");
  CHECK(store.root() == dir.path() + "/state/vms");
  CHECK(store.vm_dir("web") == dir.path() + "/state/vms/web");
  struct stat st {};
  REQUIRE(::stat(store.root().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(store.load_all().value().empty());
  CHECK_FALSE(store.exists("web"));
}

TEST_CASE("save, load, load_all and remove") {
  TempDir dir("store");
  VmStore store = open_store(dir.path());
  REQUIRE(store.save_spec("web", "kind: VirtualMachine\n").has_value());
  REQUIRE(store.save_spec("db", "{\"kind\":\"VirtualMachine\"}").has_value());
  CHECK(store.exists("web"));

  auto web = store.load("web");
  REQUIRE(web.has_value());
  CHECK(web->name == "web");
  CHECK(web->spec_text == "kind: VirtualMachine\n");
  CHECK(web->record_json == "{}");  // none written yet

  REQUIRE(store.save_record("web", "{\"uuid\":\"u-1\"}").has_value());
  REQUIRE(store.save_spec("web", "kind: VirtualMachine\n# v2\n").has_value());
  web = store.load("web");
  REQUIRE(web.has_value());
  CHECK(web->spec_text == "kind: VirtualMachine\n# v2\n");
  CHECK(web->record_json == "{\"uuid\":\"u-1\"}");

  auto all = store.load_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "db");  // sorted by name
  CHECK((*all)[1].name == "web");

  // The VM's own files go with it.
  std::ofstream(store.vm_dir("web") + "/OVMF_VARS.fd") << "nvram";
  fs::create_directories(store.vm_dir("web") + "/tpm");
  REQUIRE(store.remove("web").has_value());
  CHECK_FALSE(fs::exists(store.vm_dir("web")));
  CHECK_FALSE(store.exists("web"));
  CHECK(store.load_all().value().size() == 1);

  auto gone = store.load("web");
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error() == "no VM named web");
  CHECK(store.remove("web").error() == "no VM named web");
  CHECK(store.save_record("web", "{}").error() == "no VM named web");
}

TEST_CASE("files are written 0640 with no temporary file left") {
  TempDir dir("store");
  VmStore store = open_store(dir.path());
  REQUIRE(store.save_spec("web", "a").has_value());
  REQUIRE(store.save_record("web", "{}").has_value());
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(store.vm_dir("web"))) {
    ++entries;
    struct stat st {};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
  }
  CHECK(entries == 2);
}

TEST_CASE("opening the store removes what a crash left half done") {
  TempDir dir("store");
  {
    VmStore store = open_store(dir.path());
    REQUIRE(store.save_spec("kept", "spec").has_value());
  }
  const std::string vms = dir.path() + "/vms";
  fs::create_directories(vms + "/half/tpm");  // created, crashed before spec.yaml
  std::ofstream(vms + "/half/OVMF_VARS.fd") << "x";
  fs::create_directories(vms + "/.hidden");
  std::ofstream(vms + "/kept/.spec.yaml.tmp-AbCdEf") << "partial";  // crashed mid-write
  std::ofstream(vms + "/stray-file") << "not a VM dir";

  VmStore store = open_store(dir.path());
  CHECK_FALSE(fs::exists(vms + "/half"));
  CHECK_FALSE(fs::exists(vms + "/.hidden"));
  CHECK_FALSE(fs::exists(vms + "/kept/.spec.yaml.tmp-AbCdEf"));
  CHECK(fs::exists(vms + "/stray-file"));  // not ours: left alone, and not a VM
  auto all = store.load_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].name == "kept");
  CHECK((*all)[0].spec_text == "spec");
}

TEST_CASE("bad names are refused before touching the disk") {
  TempDir dir("store");
  VmStore store = open_store(dir.path());
  REQUIRE(store.save_spec("victim", "spec").has_value());
  const std::vector<std::string> bad = {"",     ".",    "..",      "../victim",           "a/b",
                                        "/etc", "x..y", ".hidden", std::string("a\0b", 3)};
  for (const std::string& name : bad) {
    CAPTURE(name);
    auto saved = store.save_spec(name, "evil");
    REQUIRE_FALSE(saved.has_value());
    CHECK(saved.error().starts_with("bad VM name"));
    CHECK_FALSE(store.load(name).has_value());
    CHECK_FALSE(store.remove(name).has_value());
    CHECK_FALSE(store.save_record(name, "{}").has_value());
    CHECK_FALSE(store.exists(name));
  }
  CHECK(store.save_spec("", "x").error() == "bad VM name: empty");
  CHECK(read_file(store.vm_dir("victim") + "/spec.yaml").value() == "spec");
  CHECK(fs::exists(store.root()));
}

TEST_CASE("a state dir that cannot be created is an error naming it") {
  auto store = VmStore::open("/proc/qmd-no-such-dir/state");
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().find("/proc/qmd-no-such-dir/state") != std::string::npos);
}
