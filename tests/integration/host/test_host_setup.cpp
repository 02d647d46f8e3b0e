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
#include <fmt/ranges.h>
#include <sys/wait.h>
#include <string>

#include "base/unique_fd.hpp"
#include "daemon/host/hugetlbfs.hpp"
#include "daemon/host/tap.hpp"
#include "daemon/launch/launcher.hpp"
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

// How many descriptors of `pid` are queues of `tap` (/proc/PID/fdinfo shows a tun file's
// interface as "iff:").
int queues_held(pid_t pid, const std::string& tap) {
  int held = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(fmt::format("/proc/{}/fdinfo", pid), ec)) {
    if (qmd::itest::read_text(entry.path()).find("iff:\t" + tap + "\n") != std::string::npos) {
      ++held;
    }
  }
  return held;
}

// QEMU -S, dropped to nobody (who may not open /dev/net/tun: 0600 root here), with a virtio
// NIC on the tap's descriptors: QMP answers once QEMU has taken them, and QEMU then holds one
// descriptor per queue, qmd none.
void qemu_on_descriptors(const std::string& tap, TapQueues opened, const std::string& dir) {
  std::vector<int> numbers;
  for (const auto& fd : opened.queues) {
    numbers.push_back(fd.get());
  }
  const bool many = numbers.size() > 1;
  std::string netdev =
      fmt::format("tap,id=n0,{}={}", many ? "fds" : "fd", fmt::join(numbers, ":"));
  std::string device = "virtio-net-pci,netdev=n0";
  if (many) {
    device += fmt::format(",mq=on,vectors={}", 2 * numbers.size() + 2);
  }
  auto nobody = lookup_user("nobody");
  REQUIRE_MESSAGE(nobody, nobody.error());
  REQUIRE(::chown(dir.c_str(), nobody->uid, nobody->gid) == 0);
  const std::string qmp = dir + "/qmp.sock";
  LaunchSpec spec;
  spec.argv = {"qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-accel", "tcg",
               "-machine", "q35", "-netdev", netdev, "-device", device, "-qmp",
               "unix:" + qmp + ",server=on,wait=off"};
  spec.log_path = dir + "/qemu.log";
  spec.drop_to = *nobody;
  for (const auto& fd : opened.queues) {
    spec.keep_fds.push_back(fd.get());
  }
  auto launched = launch(spec);
  REQUIRE_MESSAGE(launched, launched.error());
  UniqueFd pidfd(launched->pidfd);
  opened = TapQueues{};  // qmd's copies: QEMU has its own now
  CHECK(queues_held(launched->pid, tap) == static_cast<int>(numbers.size()));
  CHECK(queues_held(::getpid(), tap) == 0);
  auto status = qmd::trial::query_status_and_quit(qmp, 20s, [&] {
    return ::waitpid(launched->pid, nullptr, WNOHANG) == 0;
  });
  const std::string why = status ? "" : status.error() + "\n" + file_tail(dir + "/qemu.log", 10);
  REQUIRE_MESSAGE(status.has_value(), why);
  CHECK(status->status == "prelaunch");
  ::waitpid(launched->pid, nullptr, 0);
}

}  // namespace

TEST_CASE("a tap on a bridge: qmd opens its queues, an unprivileged QEMU uses them, it goes with QEMU") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string suffix = std::to_string(::getpid() % 100000);
  Bridge bridge("qmdbr" + suffix);
  REQUIRE_MESSAGE(bridge.ok(), "ip link add type bridge failed");
  qmd::itest::TempDir dir("tap");

  for (const std::uint32_t queues : {1u, 4u}) {
    CAPTURE(queues);
    const std::string tap = "qmdtap" + suffix;
    auto made = create_tap(TapSpec{tap, bridge.name(), queues, false});
    REQUIRE_MESSAGE(made, made.error());
    CHECK(made->queues.size() == queues);
    CHECK(made->vhost.empty());
    CHECK(exists(tap));
    CHECK(std::filesystem::read_symlink("/sys/class/net/" + tap + "/master").filename() ==
          bridge.name());
    CHECK(sys(tap, "owner") == "-1");  // no one may open it by name but root
    const unsigned long flags = std::stoul(sys(tap, "tun_flags"), nullptr, 16);
    CHECK((flags & 0x4000) != 0);                          // IFF_VNET_HDR
    CHECK(((flags & 0x0100) != 0) == (queues > 1));        // IFF_MULTI_QUEUE
    CHECK((flags & 0x0800) == 0);                          // not IFF_PERSIST
    CHECK((std::stoul(sys(tap, "flags"), nullptr, 16) & 0x1) != 0);  // IFF_UP
    CHECK(queues_held(::getpid(), tap) == static_cast<int>(queues));

    qemu_on_descriptors(tap, std::move(*made), dir.path());
    // QEMU held the last descriptors: the tap went with it, as it would after a crash.
    CHECK_FALSE(exists(tap));
    CHECK(delete_tap(tap));  // a missing tap is not an error
  }
}

TEST_CASE("a tap qmd holds for a start is in use to a concurrent start of the same name") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string tap = "qmdtapw" + std::to_string(::getpid() % 10000);
  const TapSpec spec{tap, "", 2, false};
  auto made = create_tap(spec);
  REQUIRE_MESSAGE(made, made.error());
  const std::string index = sys(tap, "ifindex");
  // Between create_tap and QEMU's start the tap is held (carrier on) and not persistent:
  // nothing takes it for a leftover to remove and make afresh.
  CHECK(sys(tap, "carrier") == "1");
  auto again = create_tap(spec);
  REQUIRE_FALSE(again);
  CHECK(again.error() == fmt::format("tap {}: an interface of that name exists and is in use "
                                     "(another VM's tap, or a process holds it); qmd makes "
                                     "each of its taps afresh: stop what uses it, or remove "
                                     "it (ip link del {})",
                                     tap, tap));
  CHECK(sys(tap, "ifindex") == index);  // the same tap, still held
  CHECK(queues_held(::getpid(), tap) == 2);
  made = TapQueues{};
  CHECK_FALSE(exists(tap));  // its last holder gone: no tap left
}

TEST_CASE("a persistent tap an older qmd left, held by no one, is taken; a held one is not") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string tap = "qmdtapex" + std::to_string(::getpid() % 10000);
  const auto open_queue = [&] {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    REQUIRE(fd.get() >= 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    REQUIRE(::ioctl(fd.get(), TUNSETIFF, &ifr) == 0);
    return fd;
  };
  {
    UniqueFd holder = open_queue();
    REQUIRE(::ioctl(holder.get(), TUNSETPERSIST, 1UL) == 0);  // as an older qmd made them
    REQUIRE(std::system(("ip link set " + tap + " up").c_str()) == 0);  // and set them up
    // Another process holds a queue of it, as QEMU or a process that kept it would.
    auto again = create_tap(TapSpec{tap, "", 2, false});
    REQUIRE_FALSE(again);
    CHECK(again.error().find("exists and is in use") != std::string::npos);
    CHECK(sys(tap, "carrier") == "1");
  }
  // Held by no one now (a persistent tap an earlier run left): made afresh, not persistent.
  CHECK(sys(tap, "carrier") == "0");
  auto taken = create_tap(TapSpec{tap, "", 2, false});
  REQUIRE_MESSAGE(taken, taken.error());
  CHECK((std::stoul(sys(tap, "tun_flags"), nullptr, 16) & 0x0800) == 0);
  CHECK(delete_tap(tap));
  taken = TapQueues{};
  CHECK_FALSE(exists(tap));
}

TEST_CASE("a tap for a bridge that does not exist is an error naming both, and leaves no tap") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: creating taps needs root");
    return;
  }
  const std::string tap = "qmdtapx" + std::to_string(::getpid() % 10000);
  auto made = create_tap(TapSpec{tap, "qmd-no-such-br", 1, false});
  REQUIRE_FALSE(made);
  CHECK(made.error().find(tap) != std::string::npos);
  CHECK(made.error().find("qmd-no-such-br") != std::string::npos);
  CHECK_FALSE(exists(tap));
}

TEST_CASE("a tap name longer than an interface name can be is refused before the kernel") {
  auto made = create_tap(TapSpec{"a-name-far-too-long", "", 1, false});
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
