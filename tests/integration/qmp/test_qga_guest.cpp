// QgaClient against the real test guest (tests/guest/, booted under TCG). The guest dir comes
// from QMD_GUEST_DIR (built there, cached, by tests/guest/build-guest.sh before the boot).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"
#include "tests/integration/support.hpp"
#include "tests/integration/qmp/qemu_process.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;

namespace {

std::string guest_dir() {
  const char* dir = std::getenv("QMD_GUEST_DIR");
  const char* src = std::getenv("QMD_SOURCE_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "QMD_GUEST_DIR is not set");
  REQUIRE_MESSAGE(src != nullptr, "QMD_SOURCE_DIR is not set");
  const std::string build =
      std::string(src) + "/tests/guest/build-guest.sh '" + dir + "' >/dev/null";
  REQUIRE_MESSAGE(std::system(build.c_str()) == 0, "building the test guest failed");
  return dir;
}

class GuestVm {
 public:
  GuestVm(const std::string& guest, const std::string& dir)
      : agent_(dir + "/qga.sock"), process_(command(guest, dir, agent_), dir) {}

  const std::string& agent() const { return agent_; }
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    return process_.wait_exit(limit);
  }

 private:
  static std::vector<std::string> command(const std::string& guest, const std::string& dir,
                                          const std::string& agent) {
    std::vector<std::string> args = {
        "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "512", "-nodefaults",
        "-display", "none", "-no-reboot", "-kernel", guest + "/vmlinuz", "-initrd",
        guest + "/initramfs.img", "-append", "console=ttyS0 panic=-1 quiet mitigations=off",
        "-serial", "file:" + dir + "/serial.log", "-chardev",
        "socket,id=qga,path=" + agent + ",server=on,wait=off", "-device", "virtio-serial-pci",
        "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0"};
    return args;
  }

  std::string agent_;
  QemuProcess process_;
};

}  // namespace

TEST_CASE("the agent in the test guest answers every typed helper, then shuts the guest down") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("qga");
  GuestVm vm(guest, dir.path());
  asio::io_context ioc;
  QgaClient client(ioc.get_executor(), vm.agent());

  // Boot: ping with a short timeout until the agent answers (timeouts and a not-yet-created
  // socket are expected meanwhile; nothing else is).
  const auto boot_deadline = std::chrono::steady_clock::now() + 90s;
  for (;;) {
    const auto ping = finish(ioc, guest_ping(client, 2000ms), 10000ms);
    if (ping) {
      break;
    }
    INFO(ping.error().to_string());
    REQUIRE(ping.error().kind != QmpError::Kind::command);
    REQUIRE(std::chrono::steady_clock::now() < boot_deadline);
    if (ping.error().kind == QmpError::Kind::transport) {
      std::this_thread::sleep_for(50ms);
    }
  }

  const auto info = finish(ioc, guest_info(client), 15000ms);
  REQUIRE(info.has_value());
  CHECK_FALSE(info->version.empty());

  const auto os = finish(ioc, guest_get_osinfo(client), 15000ms);
  REQUIRE(os.has_value());
  CHECK(os->kernel_release == qmd::itest::read_text(guest + "/kernel-version").substr(
                                  0, os->kernel_release.size()));
  CHECK_FALSE(os->kernel_release.empty());

  const auto version = finish(ioc, guest_exec(client, "/bin/cat", {"/proc/version"}), 40000ms);
  REQUIRE(version.has_value());
  CHECK(version->exit_code == 0);
  CHECK(version->out.find("Linux") != std::string::npos);

  const auto code = finish(ioc, guest_exec(client, "/bin/sh", {"-c", "echo out; exit 3"}), 40000ms);
  REQUIRE(code.has_value());
  CHECK(*code == GuestExecResult{3, std::nullopt, "out\n", "", false});

  // Concurrent callers: all queue behind each other and all succeed.
  std::vector<std::shared_ptr<std::optional<QgaDone>>> pings;
  for (int i = 0; i < 8; ++i) {
    pings.push_back(start(ioc, guest_ping(client, 10000ms)));
  }
  REQUIRE(run_until(
      ioc,
      [&] {
        for (const auto& p : pings) {
          if (!p->has_value()) {
            return false;
          }
        }
        return true;
      },
      60000ms));
  for (const auto& p : pings) {
    CHECK(p->value().has_value());
  }

  const auto shutdown = finish(ioc, guest_shutdown(client, "powerdown"), 15000ms);
  REQUIRE(shutdown.has_value());
  const auto status = vm.wait_exit(60000ms);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
}
