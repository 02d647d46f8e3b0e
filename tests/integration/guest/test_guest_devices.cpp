// Hotplug as the guest sees it: the test guest (tests/guest/) under TCG with a QMP monitor and
// its agent. Devices are added and removed over QMP (QmpClient::execute) and checked from
// inside the guest through guest-exec. Each case boots its own VM; every wait is bounded and a
// failure shows what the guest last printed.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"
#include "tests/integration/qmp/qemu_process.hpp"
#include "tests/integration/qmp/guest_dir.hpp"
#include "tests/integration/support.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;
namespace json = boost::json;

using qmd::itest::guest_dir;

namespace {

constexpr std::int64_t mib = 1024 * 1024;

// swtpm as QEMU's TPM backend, in its own directory; killed and reaped on the way out, whatever
// happens (QemuProcess is the generic "child we own" here, its log is DIR/qemu.log).
class SwtpmSidecar {
 public:
  explicit SwtpmSidecar(const std::string& dir)
      : ctrl_(dir + "/swtpm.sock"), process_(command(dir, ctrl_), dir) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(ctrl_)) {
      INFO("swtpm: " << qmd::itest::read_text(dir + "/qemu.log"));
      REQUIRE_FALSE(process_.wait_exit(0ms).has_value());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(20ms);
    }
  }
  const std::string& ctrl() const { return ctrl_; }
  bool alive() { return !process_.wait_exit(0ms).has_value(); }

 private:
  static std::vector<std::string> command(const std::string& dir, const std::string& ctrl) {
    std::filesystem::create_directories(dir + "/state");
    return {"swtpm",
            "socket",
            "--tpm2",
            "--tpmstate",
            "dir=" + dir + "/state",
            "--ctrl",
            "type=unixio,path=" + ctrl,
            "--flags",
            "startup-clear"};
  }
  std::string ctrl_;
  QemuProcess process_;
};

// One booted test guest: 1 of 2 vCPUs, 512 MiB of 1 GiB, two free PCIe root ports (rp1, rp2),
// QMP and the agent connected; `extra` adds devices at start.
class DeviceVm {
 public:
  DeviceVm(const std::string& guest, const std::string& dir, std::vector<std::string> extra = {})
      : dir_(dir),
        process_(command(guest, dir, std::move(extra)), dir),
        agent_(ioc_.get_executor(), dir + "/qga.sock") {
    wait_for_agent();
    connect_qmp();
    qmp_->on_event([this](const QmpEvent& e) { events_.push_back(e); });
  }

  // `sh -c script` in the guest; its stdout, after checking it exited 0.
  std::string sh(const std::string& script) {
    const auto run = finish(ioc_, guest_exec(agent_, "/bin/sh", {"-c", script}), 40000ms);
    REQUIRE_MESSAGE(run.has_value(), script << ": " << run.error().to_string());
    INFO("guest: " << script << "\nstdout: " << run->out << "\nstderr: " << run->err);
    REQUIRE(run->exit_code == 0);
    return run->out;
  }

  // Runs `script` until `done(stdout)`, at most `limit`; no event tells when the guest's view
  // changed, so this polls (each poll is a guest-exec round trip plus a short pause).
  std::string wait_guest(const std::string& script,
                         const std::function<bool(const std::string&)>& done,
                         std::chrono::seconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      std::string out = sh(script);
      if (done(out)) {
        return out;
      }
      INFO("guest: " << script << " still printed:\n" << out);
      INFO("guest console:\n" << qmd::itest::read_text(dir_ + "/serial.log"));
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(250ms);
    }
  }

  json::value qmp(const std::string& name, json::object arguments = {}) {
    const std::string shown = name + " " + json::serialize(arguments);
    auto result = finish(ioc_, qmp_->execute(name, std::move(arguments)), 40000ms);
    REQUIRE_MESSAGE(result.has_value(), shown << ": " << result.error().to_string());
    return std::move(*result);
  }

  // device_del, then the DEVICE_DELETED event for `id` (the guest let go of it).
  void unplug(const std::string& id) {
    qmp("device_del", {{"id", id}});
    const bool deleted = run_until(
        ioc_,
        [&] {
          return std::any_of(events_.begin(), events_.end(), [&](const QmpEvent& e) {
            const auto* device = e.data.if_contains("device");
            return e.name == "DEVICE_DELETED" && device != nullptr && device->is_string() &&
                   device->get_string() == id;
          });
        },
        30000ms);
    INFO("guest console:\n" << qmd::itest::read_text(dir_ + "/serial.log"));
    REQUIRE_MESSAGE(deleted, "no DEVICE_DELETED for " << id << " within 30 s");
  }

 private:
  static std::vector<std::string> command(const std::string& guest, const std::string& dir,
                                          std::vector<std::string> extra) {
    // clang-format off
    std::vector<std::string> args = {
        "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35",
        "-smp", "1,maxcpus=2", "-m", "512M,maxmem=1G",
        "-nodefaults", "-display", "none", "-no-reboot",
        "-kernel", guest + "/vmlinuz",
        "-initrd", guest + "/initramfs.img",
        "-append", "console=ttyS0 panic=-1 quiet mitigations=off",
        "-serial", "file:" + dir + "/serial.log",
        "-qmp", "unix:" + dir + "/qmp.sock,server=on,wait=off",
        "-chardev", "socket,id=qga,path=" + dir + "/qga.sock,server=on,wait=off",
        "-device", "virtio-serial-pci",
        "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2"};
    // clang-format on
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  void wait_for_agent() {
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    for (;;) {
      const auto ping = finish(ioc_, guest_ping(agent_, 2000ms), 10000ms);
      if (ping) {
        return;
      }
      INFO(ping.error().to_string());
      INFO("qemu: " << qmd::itest::read_text(dir_ + "/qemu.log"));
      INFO("guest console:\n" << qmd::itest::read_text(dir_ + "/serial.log"));
      REQUIRE(ping.error().kind != QmpError::Kind::command);
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      if (ping.error().kind == QmpError::Kind::transport) {
        std::this_thread::sleep_for(50ms);
      }
    }
  }

  void connect_qmp() {
    auto result = finish(ioc_, QmpClient::connect(dir_ + "/qmp.sock", 5000ms), 10000ms);
    REQUIRE_MESSAGE(result.has_value(), result.error().to_string());
    qmp_.emplace(std::move(*result));
  }

  std::string dir_;
  QemuProcess process_;
  asio::io_context ioc_;
  QgaClient agent_;
  std::optional<QmpClient> qmp_;
  std::vector<QmpEvent> events_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::int64_t mem_total_kib(DeviceVm& vm) {
  return std::stoll(vm.sh("awk '$1 == \"MemTotal:\" { print $2 }' /proc/meminfo"));
}

}  // namespace

TEST_CASE("a hotplugged virtio disk appears with its size and content, and unplugs cleanly") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("dev");
  const std::string image = dir.path() + "/hot.img";
  std::filesystem::copy_file(guest + "/disk.img", image);
  const auto sectors = std::to_string(std::filesystem::file_size(image) / 512);
  DeviceVm vm(guest, dir.path());
  CHECK(vm.sh("ls /sys/block") == "");

  vm.qmp("blockdev-add", {{"driver", "file"}, {"filename", image}, {"node-name", "hot0-file"}});
  vm.qmp("blockdev-add", {{"driver", "raw"}, {"file", "hot0-file"}, {"node-name", "hot0"}});
  vm.qmp("device_add", {{"driver", "virtio-blk-pci"},
                        {"id", "hot0-dev"},
                        {"drive", "hot0"},
                        {"bus", "rp1"},
                        {"serial", "qmdhot0"}});
  vm.wait_guest("cat /sys/block/vda/size 2>/dev/null || true",
                [&](const std::string& out) { return out == sectors + "\n"; });
  CHECK(vm.sh("cat /sys/block/vda/serial") == "qmdhot0");  // sysfs prints it without a newline
  CHECK(vm.sh("mount -o ro /dev/vda /mnt && cat /mnt/hello.txt && umount /mnt") ==
        "hello from the qmd test disk\n");

  vm.unplug("hot0-dev");
  vm.qmp("blockdev-del", {{"node-name", "hot0"}});
  vm.qmp("blockdev-del", {{"node-name", "hot0-file"}});
  vm.wait_guest("ls /sys/block", [](const std::string& out) { return out.empty(); });
}

TEST_CASE("a hotplugged virtio NIC appears as a new interface and goes away") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("dev");
  DeviceVm vm(guest, dir.path());
  const std::string mac = "52:54:00:aa:bb:01";
  CHECK(vm.sh("ls /sys/class/net") == "lo\n");

  vm.qmp("netdev_add", {{"type", "user"}, {"id", "hotnet0"}});
  vm.qmp("device_add", {{"driver", "virtio-net-pci"},
                        {"id", "hotnic0"},
                        {"netdev", "hotnet0"},
                        {"bus", "rp2"},
                        {"mac", mac}});
  vm.wait_guest("ls /sys/class/net", [](const std::string& out) { return out == "eth0\nlo\n"; });
  CHECK(vm.sh("cat /sys/class/net/eth0/address") == mac + "\n");
  CHECK(contains(vm.sh("ip link show eth0"), "link/ether " + mac));

  vm.unplug("hotnic0");
  vm.qmp("netdev_del", {{"id", "hotnet0"}});
  vm.wait_guest("ls /sys/class/net", [](const std::string& out) { return out == "lo\n"; });
}

TEST_CASE("a hotplugged vCPU comes online in the guest") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("dev");
  DeviceVm vm(guest, dir.path());
  CHECK(vm.sh("cat /sys/devices/system/cpu/online") == "0\n");

  // The free slot, as QEMU describes it (type and props differ by accelerator and machine).
  const auto slots = vm.qmp("query-hotpluggable-cpus");
  REQUIRE(slots.is_array());
  const json::object* free_slot = nullptr;
  for (const auto& slot : slots.as_array()) {
    if (slot.is_object() && !slot.as_object().contains("qom-path")) {
      free_slot = &slot.as_object();
    }
  }
  INFO("query-hotpluggable-cpus: " << json::serialize(slots));
  REQUIRE(free_slot != nullptr);
  json::object add = free_slot->at("props").as_object();
  add["driver"] = free_slot->at("type");
  add["id"] = "cpu1";
  vm.qmp("device_add", add);

  // The kernel adds the CPU offline; the guest's init onlines it (what udev would do).
  vm.wait_guest("cat /sys/devices/system/cpu/online",
                [](const std::string& out) { return out == "0-1\n"; });
  CHECK(vm.sh("cat /sys/devices/system/cpu/cpu1/online") == "1\n");
  CHECK(vm.sh("nproc") == "2\n");
  CHECK(vm.qmp("query-cpus-fast").as_array().size() == 2);
}

TEST_CASE("virtio-mem grows the guest's memory by its requested size") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("dev");
  // QEMU 7.2 needs maxmem for the device's region but neither memory slots nor -numa.
  DeviceVm vm(guest, dir.path(),
              {"-object", "memory-backend-ram,id=vmem0,size=256M", "-device",
               "virtio-mem-pci,id=vm0,memdev=vmem0,bus=pcie.0,requested-size=0"});
  // The guest's init loaded virtio_mem and the driver took the device.
  CHECK(vm.sh("grep -c '^virtio_mem ' /proc/modules") == "1\n");
  CHECK(contains(vm.sh("ls /sys/bus/virtio/drivers/virtio_mem"), "virtio"));
  const std::int64_t before = mem_total_kib(vm);

  vm.qmp(
      "qom-set",
      {{"path", "/machine/peripheral/vm0"}, {"property", "requested-size"}, {"value", 128 * mib}});
  // The driver plugs 2 MiB blocks as the guest onlines them (init sets auto_online_blocks).
  vm.wait_guest("awk '$1 == \"MemTotal:\" { print $2 }' /proc/meminfo",
                [&](const std::string& out) { return std::stoll(out) - before >= 120 * 1024; });
  const std::int64_t grown = mem_total_kib(vm) - before;
  CHECK(grown > 120 * 1024);
  CHECK(grown <= 128 * 1024);
  CHECK(vm.qmp("qom-get", {{"path", "/machine/peripheral/vm0"}, {"property", "size"}}) ==
        json::value(128 * mib));
}

TEST_CASE("an emulated TPM 2.0 on a swtpm sidecar is seen by the guest, and swtpm is reaped") {
  const std::string guest = guest_dir();
  qmd::itest::TempDir dir("dev");
  {
    SwtpmSidecar swtpm(dir.sub("swtpm"));
    DeviceVm vm(guest, dir.sub("vm"),
                {"-chardev", "socket,id=chrtpm,path=" + swtpm.ctrl(), "-tpmdev",
                 "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"});
    CHECK(vm.sh("ls /sys/class/tpm") == "tpm0\n");
    CHECK(vm.sh("cat /sys/class/tpm/tpm0/tpm_version_major") == "2\n");
    CHECK(vm.sh("test -c /dev/tpm0 && test -c /dev/tpmrm0 && echo ok") == "ok\n");
    // Reading a PCR is a TPM2_PCR_Read that swtpm answers: the device is not just enumerated.
    const std::string pcr0 = vm.sh("cat /sys/class/tpm/tpm0/pcr-sha256/0");
    CHECK(pcr0.size() == 65);
    CHECK(pcr0.find_first_not_of("0123456789ABCDEF\n") == std::string::npos);
    const auto tpms = vm.qmp("query-tpm");
    INFO("query-tpm: " << json::serialize(tpms));
    REQUIRE(tpms.as_array().size() == 1);
    CHECK(tpms.as_array()[0].at("model") == "tpm-crb");
    CHECK(swtpm.alive());
  }
  CHECK(qmd::itest::children_of_self().empty());
}
