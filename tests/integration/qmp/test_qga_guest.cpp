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
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"
#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"
#include "tests/integration/qmp/qemu_process.hpp"
#include "tests/integration/qmp/guest_dir.hpp"
#include "tests/integration/support.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;

using qmd::itest::guest_dir;

namespace {

constexpr std::string_view nic_mac = "52:54:00:12:34:56";

// The test guest with its agent, a QMP monitor, a virtio NIC with a fixed MAC and a copy of
// the guest's disk.img as /dev/vda, which the guest mounts at /mnt (qmd.mount).
class GuestVm {
 public:
  GuestVm(const std::string& guest, const std::string& dir)
      : agent_(dir + "/qga.sock"),
        qmp_(dir + "/qmp.sock"),
        disk_(copy_disk(guest, dir)),
        process_(command(guest, dir, agent_, qmp_, disk_), dir),
        dir_(dir) {}

  const std::string& agent() const { return agent_; }
  const std::string& qmp() const { return qmp_; }
  std::string serial_log() const { return qmd::itest::read_text(dir_ + "/serial.log"); }
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    return process_.wait_exit(limit);
  }

 private:
  static std::string copy_disk(const std::string& guest, const std::string& dir) {
    const std::string disk = dir + "/disk.img";
    std::filesystem::copy_file(guest + "/disk.img", disk);
    return disk;
  }
  static std::vector<std::string> command(const std::string& guest, const std::string& dir,
                                          const std::string& agent, const std::string& qmp,
                                          const std::string& disk) {
    // clang-format off
    std::vector<std::string> args = {
        "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "512",
        "-nodefaults", "-display", "none", "-no-reboot",
        "-kernel", guest + "/vmlinuz",
        "-initrd", guest + "/initramfs.img",
        "-append", "console=ttyS0 panic=-1 quiet mitigations=off qmd.mount=/dev/vda",
        "-serial", "file:" + dir + "/serial.log",
        "-qmp", "unix:" + qmp + ",server=on,wait=off",
        "-chardev", "socket,id=qga,path=" + agent + ",server=on,wait=off",
        "-device", "virtio-serial-pci",
        "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
        "-netdev", "user,id=n0",
        "-device", "virtio-net-pci,netdev=n0,mac=" + std::string(nic_mac) + ",bus=pcie.0,addr=0x5",
        "-blockdev", "driver=file,filename=" + disk + ",node-name=disk0-file",
        "-blockdev", "driver=raw,file=disk0-file,node-name=disk0",
        "-device", "virtio-blk-pci,drive=disk0,serial=qmdtest0,bus=pcie.0,addr=0x6"};
    // clang-format on
    return args;
  }

  std::string agent_;
  std::string qmp_;
  std::string disk_;
  QemuProcess process_;
  std::string dir_;
};

// Pings with a short timeout until the agent answers (timeouts and a not-yet-created socket
// are expected meanwhile; nothing else is).
void wait_for_agent(asio::io_context& ioc, QgaClient& client, const GuestVm& vm) {
  const auto boot_deadline = std::chrono::steady_clock::now() + 90s;
  for (;;) {
    const auto ping = finish(ioc, guest_ping(client, 2000ms), 10000ms);
    if (ping) {
      return;
    }
    INFO(ping.error().to_string());
    INFO("guest console:\n" << vm.serial_log());
    REQUIRE(ping.error().kind != QmpError::Kind::command);
    REQUIRE(std::chrono::steady_clock::now() < boot_deadline);
    if (ping.error().kind == QmpError::Kind::transport) {
      std::this_thread::sleep_for(50ms);
    }
  }
}

// `sh -c script` in the guest; its output, after checking it exited 0.
std::string guest_sh(asio::io_context& ioc, QgaClient& client, const std::string& script) {
  const auto run = finish(ioc, guest_exec(client, "/bin/sh", {"-c", script}), 40000ms);
  REQUIRE_MESSAGE(run.has_value(), script << ": " << run.error().to_string());
  INFO(script << "\nstdout: " << run->out << "\nstderr: " << run->err);
  REQUIRE(run->exit_code == 0);
  return run->out;
}

void require_done(const QgaDone& done) {
  REQUIRE_MESSAGE(done.has_value(), done.error().to_string());
}

std::int64_t guest_epoch_seconds(asio::io_context& ioc, QgaClient& client) {
  return std::stoll(guest_sh(ioc, client, "date +%s"));
}

std::int64_t host_epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const GuestNetworkInterface* find_interface(const std::vector<GuestNetworkInterface>& all,
                                            std::string_view name) {
  for (const auto& nic : all) {
    if (nic.name == name) {
      return &nic;
    }
  }
  return nullptr;
}

bool has_address(const GuestNetworkInterface& nic, GuestIpAddress::Family type,
                 std::string_view address, std::int64_t prefix) {
  for (const auto& ip : nic.ip_addresses) {
    if (ip.type == type && ip.address == address && ip.prefix == prefix) {
      return true;
    }
  }
  return false;
}

// QEMU creates its QMP socket a moment after it starts; retry only the connect, within a bound.
QmpClient connect_qmp(asio::io_context& ioc, const GuestVm& vm) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto result = finish(ioc, QmpClient::connect(vm.qmp(), 5000ms), 10000ms);
    if (result.has_value()) {
      return std::move(*result);
    }
    REQUIRE_MESSAGE(result.error().kind == QmpError::Kind::transport, result.error().to_string());
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, result.error().to_string());
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("the agent in the test guest answers every typed helper, then shuts the guest down") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("qga");
  GuestVm vm(guest, dir.path());
  asio::io_context ioc;
  QgaClient client(ioc.get_executor(), vm.agent());

  wait_for_agent(ioc, client, vm);

  const auto info = finish(ioc, guest_info(client), 15000ms);
  REQUIRE(info.has_value());
  CHECK_FALSE(info->version.empty());

  const auto os = finish(ioc, guest_get_osinfo(client), 15000ms);
  REQUIRE(os.has_value());
  CHECK(os->kernel_release ==
        qmd::itest::read_text(guest + "/kernel-version").substr(0, os->kernel_release.size()));
  CHECK_FALSE(os->kernel_release.empty());

  const auto version = finish(ioc, guest_exec(client, "/bin/cat", {"/proc/version"}), 40000ms);
  REQUIRE(version.has_value());
  CHECK(version->exit_code == 0);
  CHECK(version->out.find("Linux") != std::string::npos);

  const auto code = finish(ioc, guest_exec(client, "/bin/sh", {"-c", "echo out; exit 3"}), 40000ms);
  REQUIRE(code.has_value());
  CHECK(*code == GuestExecResult{3, std::nullopt, "out\n", "", false});

  // The init script names the guest; the agent must agree with busybox's hostname.
  const auto host_name = finish(ioc, guest_get_host_name(client), 15000ms);
  REQUIRE(host_name.has_value());
  CHECK_FALSE(host_name->empty());
  CHECK(*host_name + "\n" == guest_sh(ioc, client, "/bin/hostname"));
  CHECK(*host_name == "qmd-guest");

  // No /etc/localtime and no TZ in the guest: glib reports UTC.
  CHECK(finish(ioc, guest_get_timezone(client), 15000ms) ==
        QgaTyped<GuestTimezone>(GuestTimezone{"UTC", 0}));

  // Nobody logs in (the console shell writes no utmp), so the agent lists no one.
  CHECK(finish(ioc, guest_get_users(client), 15000ms) ==
        QgaTyped<std::vector<GuestUser>>(std::vector<GuestUser>{}));

  // Only the ext4 disk at /mnt: qemu-ga skips file systems without a block device (the
  // initramfs rootfs, tmpfs, proc, ...), and without udev in the guest it finds no disk serial.
  const auto fsinfo = finish(ioc, guest_get_fsinfo(client), 15000ms);
  REQUIRE(fsinfo.has_value());
  REQUIRE(fsinfo->size() == 1);
  const auto& fs = fsinfo->front();
  CHECK(fs.name == "vda");
  CHECK(fs.mountpoint == "/mnt");
  CHECK(fs.type == "ext4");
  REQUIRE(fs.total_bytes.has_value());
  REQUIRE(fs.used_bytes.has_value());
  CHECK(*fs.total_bytes > 8u << 20);
  CHECK(*fs.total_bytes <= 16u << 20);
  CHECK(*fs.used_bytes < *fs.total_bytes);
  CHECK(fs.disks ==
        std::vector<GuestDiskAddress>{{std::nullopt, "/dev/vda", "virtio", {0, 0, 6, 0}, 0, 0, 0}});

  // lo, and the virtio NIC once udhcpc has its slirp lease (init runs it in the background).
  const auto nic_deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    const auto nics = finish(ioc, guest_network_get_interfaces(client), 15000ms);
    REQUIRE(nics.has_value());
    const auto* lo = find_interface(*nics, "lo");
    REQUIRE(lo != nullptr);
    CHECK(lo->hardware_address == "00:00:00:00:00:00");
    CHECK(has_address(*lo, GuestIpAddress::Family::ipv4, "127.0.0.1", 8));
    CHECK(has_address(*lo, GuestIpAddress::Family::ipv6, "::1", 128));
    const auto* eth0 = find_interface(*nics, "eth0");
    REQUIRE(eth0 != nullptr);
    CHECK(eth0->hardware_address == nic_mac);
    if (has_address(*eth0, GuestIpAddress::Family::ipv4, "10.0.2.15", 24)) {
      break;
    }
    INFO("udhcpc: " << guest_sh(ioc, client, "cat /run/udhcpc.log; ip addr"));
    REQUIRE(std::chrono::steady_clock::now() < nic_deadline);
    std::this_thread::sleep_for(500ms);
  }

  // fsfreeze covers exactly the one disk file system.
  CHECK(finish(ioc, guest_fsfreeze_status(client), 15000ms) ==
        QgaTyped<FsFreezeStatus>(FsFreezeStatus::thawed));
  CHECK(finish(ioc, guest_fsfreeze_freeze(client), 70000ms) == QgaTyped<std::int64_t>(1));
  CHECK(finish(ioc, guest_fsfreeze_status(client), 15000ms) ==
        QgaTyped<FsFreezeStatus>(FsFreezeStatus::frozen));
  CHECK(finish(ioc, guest_fsfreeze_thaw(client), 70000ms) == QgaTyped<std::int64_t>(1));
  CHECK(finish(ioc, guest_fsfreeze_status(client), 15000ms) ==
        QgaTyped<FsFreezeStatus>(FsFreezeStatus::thawed));
  CHECK(guest_sh(ioc, client, "cat /mnt/hello.txt") == "hello from the qmd test disk\n");

  // The agent runs chpasswd (a script in the guest): the new hash in /etc/shadow must be the
  // password's, checked by hashing it again with the same salt.
  require_done(finish(ioc, guest_set_user_password(client, "root", "qmd s3cret"), 40000ms));
  const std::string hash =
      guest_sh(ioc, client, "awk -F: '$1 == \"root\" { print $2 }' /etc/shadow");
  REQUIRE(hash.rfind("$6$", 0) == 0);
  const std::string salt = hash.substr(3, hash.find('$', 3) - 3);
  CHECK(guest_sh(ioc, client, "mkpasswd -m sha512 'qmd s3cret' '" + salt + "'") == hash);
  const std::string crypted = "$6$qmdsalt$3M2ZK3mTbhH9o6ldfFIWsUHyCVXoq2j2hZX6J4sWqXc";
  require_done(finish(ioc, guest_set_user_password(client, "root", crypted, true), 40000ms));
  CHECK(guest_sh(ioc, client, "awk -F: '$1 == \"root\" { print $2 }' /etc/shadow") ==
        crypted + "\n");
  CHECK(finish(ioc, guest_set_user_password(client, "nobody-here", "x"), 40000ms) ==
        QgaDone(std::unexpected(QmpError{QmpError::Kind::command, "GenericError",
                                         "child process has failed to set user password"})));

  // Without a time the agent runs `hwclock -s` (busybox has it, and /dev/rtc0 exists): a guest
  // clock set far off with `date -s` (which leaves the RTC alone) comes back to the host's time.
  guest_sh(ioc, client, "date -s '2030-01-01 00:00:00'");
  CHECK(guest_epoch_seconds(ioc, client) >= 1893456000);
  require_done(finish(ioc, guest_set_time(client), 40000ms));
  CHECK(std::abs(guest_epoch_seconds(ioc, client) - host_epoch_seconds()) < 60);
  // With a time the agent sets the clock and writes it to the RTC too; give it the host's.
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  require_done(finish(ioc, guest_set_time(client, now_ns), 40000ms));
  CHECK(std::abs(guest_epoch_seconds(ioc, client) - host_epoch_seconds()) < 60);

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

TEST_CASE("a stopped agent gives 'not responding' within its timeout while QMP keeps working") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("qga");
  GuestVm vm(guest, dir.path());
  asio::io_context ioc;
  QgaClient client(ioc.get_executor(), vm.agent());
  wait_for_agent(ioc, client, vm);
  QmpClient qmp = connect_qmp(ioc, vm);

  // Hang the agent the way a wedged guest would: SIGSTOP, so its socket stays open and
  // accepts bytes but nothing answers (init respawns a dead agent, not a stopped one). The
  // kill runs a moment after guest-exec has answered.
  const std::string pid = guest_sh(ioc, client, "pidof qemu-ga");
  REQUIRE_FALSE(pid.empty());
  REQUIRE(finish(ioc, guest_exec_start(client, "/bin/sh", {"-c", "sleep 0.5; kill -STOP " + pid}),
                 15000ms)
              .has_value());

  // Pings succeed until the signal lands; then each one fails on its own 2 s timeout.
  const std::string prefix = "agent not responding on " + vm.agent() + ": ";
  const auto stop_deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    const auto ping = finish(ioc, guest_ping(client, 2000ms), 10000ms);
    if (!ping) {
      REQUIRE(ping.error().kind == QmpError::Kind::timeout);
      CHECK(ping.error().desc.rfind(prefix, 0) == 0);
      break;
    }
    REQUIRE(std::chrono::steady_clock::now() < stop_deadline);
  }
  // The next ping, fully against a hung agent, fails at the sync step after exactly its
  // timeout, while QMP on the same VM answers meanwhile.
  const auto started = std::chrono::steady_clock::now();
  auto ping = start(ioc, guest_ping(client, 2000ms));
  const auto status = finish(ioc, query_status(qmp), 10000ms);
  REQUIRE_MESSAGE(status.has_value(), status.error().to_string());
  CHECK(*status == RunStatus{"running", true});
  REQUIRE(run_until(
      ioc, [&] { return ping->has_value(); }, 10000ms));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(ping->value().has_value());
  CHECK(ping->value().error() ==
        QmpError{QmpError::Kind::timeout, "",
                 prefix + "guest-sync-delimited got no reply within 2000 ms"});
  CHECK(elapsed >= 2000ms);
  CHECK(elapsed < 6000ms);  // bounded by the timeout, not by the agent
  // The monitor is still fine after the agent timed out.
  CHECK(finish(ioc, query_status(qmp), 10000ms) ==
        std::expected<RunStatus, QmpError>(RunStatus{"running", true}));
}
