// Taps for bridge bindings against the real kernel and real QEMU, and the hugetlbfs
// mountinfo reader. Needs root (CAP_NET_ADMIN) for the tap cases; they are skipped otherwise.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <net/if.h>  // before linux/if_tun.h
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <string>

#include "daemon/host/hugetlbfs.hpp"
#include "daemon/host/tap.hpp"
#include "base/unique_fd.hpp"
#include "daemon/launch/child_process.hpp"
#include "daemon/launch/file_tail.hpp"
#include "daemon/trial/qmp_status.hpp"
#include "tests/integration/support.hpp"

using namespace qmd::daemon;
using qmd::UniqueFd;
using namespace std::chrono_literals;

namespace {

std::string sys(const std::string& iface, const std::string& file) {
  std::string text = qmd::itest::read_text("/sys/class/net/" + iface + "/" + file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool exists(const std::string& iface) {
  return std::filesystem::exists("/sys/class/net/" + iface);
}

// A host bridge for the test, removed whatever happens.
class Bridge {
 public:
  explicit Bridge(std::string name) : name_(std::move(name)) {
    ok_ = std::system(("ip link add " + name_ + " type bridge 2>/dev/null").c_str()) == 0;
  }
  ~Bridge() { std::system(("ip link del " + name_ + " 2>/dev/null").c_str()); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

// QEMU -S with a virtio NIC on the named tap: QMP answers when QEMU accepted the tap.
std::expected<qmd::trial::QmpStatus, std::string> qemu_on_tap(const std::string& tap, int queues,
                                                               const std::string& dir) {
  std::string netdev = fmt::format("tap,id=n0,ifname={},script=no,downscript=no", tap);
  std::string device = "virtio-net-pci,netdev=n0";
  if (queues > 1) {
    netdev += fmt::format(",queues={}", queues);
    device += fmt::format(",mq=on,vectors={}", 2 * queues + 2);
  }
  const std::string qmp = dir + "/qmp.sock";
  auto child = qmd::daemon::ChildProcess::spawn(
      {"qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-accel", "tcg",
       "-machine", "q35", "-netdev", netdev, "-device", device, "-qmp",
       "unix:" + qmp + ",server=on,wait=off"},
      dir + "/qemu.log");
  if (!child) {
    return std::unexpected(child.error());
  }
  auto status = qmd::trial::query_status_and_quit(qmp, 20s, [&] { return !child->wait_for(0ms); });
  child->stop(2000ms);
  if (!status) {
    return std::unexpected(status.error() + "\n" + qmd::daemon::file_tail(dir + "/qemu.log", 10));
  }
  return status;
}

}  // namespace

TEST_CASE("a tap joined to a bridge, owned by the QEMU user, opened by QEMU by name") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string suffix = std::to_string(::getpid() % 100000);
  Bridge bridge("qmdbr" + suffix);
  REQUIRE_MESSAGE(bridge.ok(), "ip link add type bridge failed");
  qmd::itest::TempDir dir("tap");

  for (const bool multiqueue : {false, true}) {
    CAPTURE(multiqueue);
    const std::string tap = "qmdtap" + suffix;
    TapSpec spec{tap, bridge.name(), multiqueue, 65534, std::nullopt};
    auto made = create_tap(spec);
    REQUIRE_MESSAGE(made, made.error());
    CHECK(exists(tap));
    CHECK(std::filesystem::read_symlink("/sys/class/net/" + tap + "/master").filename() ==
          bridge.name());
    CHECK(sys(tap, "owner") == "65534");
    const unsigned long flags = std::stoul(sys(tap, "tun_flags"), nullptr, 16);
    CHECK((flags & 0x4000) != 0);                    // IFF_VNET_HDR
    CHECK(((flags & 0x0100) != 0) == multiqueue);     // IFF_MULTI_QUEUE
    CHECK((std::stoul(sys(tap, "flags"), nullptr, 16) & 0x1) != 0);  // IFF_UP

    auto status = qemu_on_tap(tap, multiqueue ? 2 : 1, dir.path());
    REQUIRE_MESSAGE(status, status.error());
    CHECK(status->status == "prelaunch");

    auto removed = delete_tap(tap);
    CHECK_MESSAGE(removed, removed.error());
    CHECK_FALSE(exists(tap));
    CHECK(delete_tap(tap));  // a missing tap is not an error
  }
}

TEST_CASE("a tap name in use is an error, never a shared tap; one an earlier run left is taken") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string tap = "qmdtapex" + std::to_string(::getpid() % 10000);
  const TapSpec spec{tap, "", true, std::nullopt, std::nullopt};
  auto made = create_tap(spec);
  REQUIRE_MESSAGE(made, made.error());
  {
    // Another process attaches a queue of it, as QEMU or a process that kept it would.
    UniqueFd holder(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    REQUIRE(holder.get() >= 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    REQUIRE(::ioctl(holder.get(), TUNSETIFF, &ifr) == 0);
    auto again = create_tap(spec);
    REQUIRE_FALSE(again);
    CHECK(again.error() == fmt::format("tap {}: an interface of that name exists and is in use "
                                       "(another VM's tap, or a process holds it); qmd makes "
                                       "each of its taps afresh: stop what uses it, or remove "
                                       "it (ip link del {})",
                                       tap, tap));
    CHECK(exists(tap));
    CHECK(sys(tap, "carrier") == "1");  // the holder's queue is still attached
  }
  // Held by no one now (a persistent tap an earlier run left): made afresh.
  CHECK(sys(tap, "carrier") == "0");
  auto taken = create_tap(spec);
  CHECK_MESSAGE(taken, taken.error());
  CHECK(delete_tap(tap));
  CHECK_FALSE(exists(tap));
}

TEST_CASE("a tap for a bridge that does not exist is an error naming both, and leaves no tap") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string tap = "qmdtapx" + std::to_string(::getpid() % 10000);
  auto made = create_tap(TapSpec{tap, "qmd-no-such-br", false, std::nullopt, std::nullopt});
  REQUIRE_FALSE(made);
  CHECK(made.error().find(tap) != std::string::npos);
  CHECK(made.error().find("qmd-no-such-br") != std::string::npos);
  CHECK_FALSE(exists(tap));
}

TEST_CASE("a tap name longer than an interface name can be is refused before the kernel") {
  auto made = create_tap(TapSpec{"a-name-far-too-long", "", false, std::nullopt, std::nullopt});
  REQUIRE_FALSE(made);
  CHECK(made.error().find("1 to 15 characters") != std::string::npos);
}

TEST_CASE("mountinfo: a 1 GiB hugetlbfs mount is recognised, a 2 MiB one is not") {
  const std::string info =
      "36 25 0:32 / /dev/hugepages rw,relatime shared:17 - hugetlbfs hugetlbfs rw,pagesize=2M\n"
      "37 25 0:33 / /dev/hugepages1G rw,relatime shared:18 - hugetlbfs none rw,pagesize=1024M\n";
  CHECK(is_hugetlbfs_1g(info, "/dev/hugepages1G"));
  CHECK_FALSE(is_hugetlbfs_1g(info, "/dev/hugepages"));
  CHECK_FALSE(is_hugetlbfs_1g(info, "/mnt/other"));
  CHECK_FALSE(is_hugetlbfs_1g("", "/dev/hugepages1G"));
}
