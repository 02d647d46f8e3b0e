// trial_start and its helpers against the real QEMU, swtpm and OVMF with hand-made argv,
// so the trial machinery is proven independently of the renderer.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>

#include "cmdline/render.hpp"
#include "daemon/launch/child_process.hpp"
#include "daemon/trial/trial.hpp"
#include "tests/integration/support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace qmd;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

// The smallest -S VM with a QMP monitor at paths.qmp_socket().
cmdline::RenderResult minimal_vm(const cmdline::VmPaths& paths) {
  cmdline::RenderResult result;
  result.binary = kQemu;
  auto& argv = result.argv;
  argv.add("-S");
  argv.add("-nodefaults");
  argv.add("-no-user-config");
  argv.add("-machine", "q35");
  argv.add("-accel", "tcg");
  argv.add("-m", "128");
  argv.add("-display", "none");
  argv.add("-chardev", "socket,id=qmp,path=" + paths.qmp_socket() + ",server=on,wait=off");
  argv.add("-mon", "chardev=qmp,mode=control");
  return result;
}

cmdline::VmPaths paths_in(const itest::TempDir& dir) {
  return cmdline::VmPaths{dir.sub("run"), dir.path() + "/state"};
}

void check_nothing_left(const itest::TempDir& dir) {
  CHECK(itest::children_of_self() == std::vector<std::string>{});
  CHECK(itest::processes_mentioning(dir.path()) == std::vector<std::string>{});
  CHECK(itest::sockets_under(dir.path()) == std::vector<std::string>{});
}

}  // namespace

TEST_CASE("a VM with nothing to prepare and no sidecar runs only QEMU") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  std::vector<std::string> steps;
  const auto result = trial::trial_start(minimal_vm(paths), paths, seconds{30},
                                         [&](const std::string& s) { steps.push_back(s); });
  INFO(result.error);
  CHECK(result.ok);
  CHECK(result.status == "prelaunch");
  CHECK(result.qemu_version.starts_with("7."));
  CHECK(result.error == "");
  CHECK(steps.size() == 4);  // qemu start, qmp, quit, cleanup
  check_nothing_left(dir);
}

TEST_CASE("QEMU refusing an option fails the trial at the qmp step with its stderr") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  vm.argv.add("-device", "no-such-device");
  const auto result = trial::trial_start(vm, paths, seconds{30});
  CHECK_FALSE(result.ok);
  INFO(result.error);
  CHECK(result.error.starts_with("qmp: QEMU exited with status 1 before answering ("));
  CHECK(result.error.find("'no-such-device' is not a valid device model name") !=
        std::string::npos);
  CHECK(result.qemu_log.find("no-such-device") != std::string::npos);
  check_nothing_left(dir);
}

TEST_CASE("a VM started without -S is reported: the trial wants prelaunch") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  cmdline::Argv without_s;
  for (const auto& option : vm.argv.options()) {
    if (option.flag != "-S") {
      without_s.append({option});
    }
  }
  vm.argv = without_s;
  const auto result = trial::trial_start(vm, paths, seconds{30});
  CHECK_FALSE(result.ok);
  CHECK(result.status == "running");
  CHECK(result.error.starts_with(
      "qmp: query-status said \"running\", expected \"prelaunch\" (is -S missing from the "
      "argv?)"));
  check_nothing_left(dir);
}

TEST_CASE("a missing QEMU binary fails at qemu start") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  vm.binary = dir.path() + "/no-such-qemu";
  const auto result = trial::trial_start(vm, paths, seconds{10});
  CHECK_FALSE(result.ok);
  CHECK(result.error.starts_with("qemu start: cannot start " + vm.binary));
  check_nothing_left(dir);
}

TEST_CASE("prepare creates directories, copies VARS once and creates images once") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  using Kind = cmdline::FilePrep::Kind;
  const std::string image = dir.path() + "/disks/root.qcow2";
  vm.prepare = {
      {Kind::make_dir, "", paths.state_dir, 0, "raw", 0700},
      {Kind::copy_if_missing, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", paths.nvram(true), 0, "raw",
       0600},
      {Kind::create_image_if_missing, "", image, 64ull << 20, "qcow2", 0600},
  };
  vm.argv.add("-blockdev", "driver=file,filename=" + image + ",node-name=f0");
  vm.argv.add("-blockdev", "driver=qcow2,file=f0,node-name=d0");
  vm.argv.add("-device", "virtio-blk-pci,drive=d0");
  const auto first = trial::trial_start(vm, paths, seconds{30});
  INFO(first.error);
  CHECK(first.ok);
  CHECK((fs::status(paths.state_dir).permissions() & fs::perms::all) == fs::perms::owner_all);
  CHECK(fs::file_size(paths.nvram(true)) == fs::file_size("/usr/share/OVMF/OVMF_VARS_4M.ms.fd"));
  CHECK((fs::status(paths.nvram(true)).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(fs::exists(image));

  // A second start keeps what is there (the guest's NVRAM must survive restarts).
  std::vector<std::string> steps;
  const auto second =
      trial::trial_start(vm, paths, seconds{30}, [&](const std::string& s) { steps.push_back(s); });
  CHECK(second.ok);
  CHECK(steps[1] == "prepare: " + paths.nvram(true) + " exists, kept");
  CHECK(steps[2] == "prepare: image " + image + " exists, kept");
  check_nothing_left(dir);
}

TEST_CASE("OVMF secure boot with a manufactured persistent swtpm and tpm-crb") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  using Kind = cmdline::FilePrep::Kind;
  const std::string tpm_state = paths.tpm_state_dir(true);
  vm.prepare = {
      {Kind::make_dir, "", tpm_state, 0, "raw", 0700},
      {Kind::copy_if_missing, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", paths.nvram(true), 0, "raw",
       0600},
  };
  vm.sidecars = {
      {"swtpm-setup",
       {"swtpm_setup", "--tpm2", "--tpmstate", tpm_state, "--createek", "--not-overwrite"},
       true,
       tpm_state + "/tpm2-00.permall"},
      {"swtpm",
       {"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + tpm_state, "--ctrl",
        "type=unixio,path=" + paths.swtpm_ctrl_socket(), "--log",
        "file=" + paths.swtpm_log() + ",level=1", "--terminate"},
       false,
       ""},
  };
  cmdline::Argv argv;
  for (const auto& option : vm.argv.options()) {
    if (option.flag == "-machine") {
      argv.add("-machine", "q35,smm=on,pflash0=code,pflash1=vars");
    } else {
      argv.append({option});
    }
  }
  argv.add("-global", "driver=cfi.pflash01,property=secure,value=on");
  argv.add("-blockdev",
           "driver=file,filename=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,node-name=code,"
           "read-only=on");
  argv.add("-blockdev", "driver=file,filename=" + paths.nvram(true) + ",node-name=vars");
  argv.add("-chardev", "socket,id=tpm0-chr,path=" + paths.swtpm_ctrl_socket());
  argv.add("-tpmdev", "emulator,id=tpm0,chardev=tpm0-chr");
  argv.add("-device", "tpm-crb,tpmdev=tpm0");
  vm.argv = argv;

  std::vector<std::string> steps;
  const auto result =
      trial::trial_start(vm, paths, seconds{60}, [&](const std::string& s) { steps.push_back(s); });
  INFO(result.error);
  REQUIRE(result.ok);
  CHECK(result.status == "prelaunch");
  CHECK(fs::exists(tpm_state + "/tpm2-00.permall"));
  CHECK(steps[2] == "sidecar swtpm-setup: ran to completion");

  // Manufactured once: the second start skips swtpm_setup.
  steps.clear();
  const auto again =
      trial::trial_start(vm, paths, seconds{60}, [&](const std::string& s) { steps.push_back(s); });
  CHECK(again.ok);
  CHECK(steps[2] == "sidecar swtpm-setup: skipped, " + tpm_state + "/tpm2-00.permall exists");
  check_nothing_left(dir);
}

TEST_CASE("a sidecar that dies before its control socket appears fails with its log") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  vm.sidecars = {{"swtpm",
                  {"swtpm", "socket", "--tpm2", "--no-such-option", "--ctrl",
                   "type=unixio,path=" + paths.swtpm_ctrl_socket()},
                  false,
                  ""}};
  const auto result = trial::trial_start(vm, paths, seconds{20});
  CHECK_FALSE(result.ok);
  CHECK(result.error.starts_with("sidecar swtpm: exited with status 1 before creating " +
                                 paths.swtpm_ctrl_socket()));
  check_nothing_left(dir);
}

TEST_CASE("a run-once sidecar that fails stops the trial before QEMU") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  vm.sidecars = {{"setup", {"sh", "-c", "echo broken >&2; exit 3"}, true, ""}};
  const auto result = trial::trial_start(vm, paths, seconds{20});
  CHECK_FALSE(result.ok);
  CHECK(result.error == "sidecar setup: sh exited with status 3; log:\nbroken\n");
  CHECK(result.qemu_log == "");
  check_nothing_left(dir);
}

TEST_CASE("the whole trial is bounded by its timeout and kills what it started") {
  itest::TempDir dir("trial");
  const auto paths = paths_in(dir);
  auto vm = minimal_vm(paths);
  vm.sidecars = {{"slow", {"sleep", "30"}, true, ""}};
  const auto started = std::chrono::steady_clock::now();
  const auto result = trial::trial_start(vm, paths, seconds{1});
  CHECK_FALSE(result.ok);
  CHECK(result.error.starts_with("sidecar slow: sleep did not finish within"));
  CHECK(std::chrono::steady_clock::now() - started < seconds{10});
  check_nothing_left(dir);
}

TEST_CASE("a child process is killed with its group when its owner goes away") {
  itest::TempDir dir("proc");
  {
    auto child =
        // An odd duration: the check below looks at every process on the host, and any
        // other "sleep 30" (or "sleep 300") running meanwhile must not count.
        qmd::daemon::ChildProcess::spawn({"sh", "-c", "sleep 29.713 & sleep 29.713"},
                                         dir.path() + "/log");
    REQUIRE(child.has_value());
    CHECK(child->running());
    CHECK_FALSE(child->wait_for(milliseconds{50}));
  }
  CHECK(itest::children_of_self() == std::vector<std::string>{});
  // The grandchild was in the same group: gone too (give the kernel a moment to reparent).
  for (int i = 0; i < 100 && !itest::processes_mentioning("sleep 29.713").empty(); ++i) {
    ::usleep(10000);
  }
  CHECK(itest::processes_mentioning("sleep 29.713") == std::vector<std::string>{});
}

TEST_CASE("extra environment reaches the child and replaces the inherited value") {
  itest::TempDir dir("proc");
  ::setenv("QMD_TRIAL_PROBE", "inherited", 1);
  const std::string log = dir.path() + "/log";
  auto done = qmd::daemon::run_to_completion({"sh", "-c", "echo $QMD_TRIAL_PROBE $TZ"}, log,
                                             milliseconds{5000});
  REQUIRE(done.has_value());
  auto child = qmd::daemon::ChildProcess::spawn({"sh", "-c", "echo $QMD_TRIAL_PROBE $TZ"}, log,
                                                {"QMD_TRIAL_PROBE=replaced", "TZ=Europe/Berlin"});
  REQUIRE(child.has_value());
  CHECK(child->wait_for(milliseconds{5000}));
  CHECK(WEXITSTATUS(*child->status()) == 0);
  CHECK(itest::read_text(log) == "inherited\nreplaced Europe/Berlin\n");
  ::unsetenv("QMD_TRIAL_PROBE");
}
