// Taps reach QEMU as descriptors: the -netdev the render wrote by name is launched on the
// descriptors qmd opened, and nothing in QEMU's argv opens a tap by name.
#include <doctest/doctest.h>

#include "daemon/runtime/tap_fds.hpp"
#include "devices/nic.hpp"

using namespace qmd;
using daemon::with_tap_fds;

namespace {

cmdline::TapPlan plan(const std::string& iface, std::uint32_t queues, bool vhost) {
  devices::NicParams p;
  p.name = iface;
  p.mac = "52:54:00:12:34:56";
  p.tap = true;
  p.tap_name = "tap-0011aabb";
  p.vhost = vhost;
  p.queues = queues;
  p.pci = {"pci.2", "0x0"};
  return {.name = p.tap_name, .queues = queues, .vhost = vhost, .interface = iface,
          .netdev = devices::nic_parts(p).netdev};
}

}  // namespace

TEST_CASE("no tap: the argv stays as it is") {
  const std::vector<std::string> args{"-netdev", "user,id=net-a", "-S"};
  CHECK(with_tap_fds(args, {}, {}) == args);
}

TEST_CASE("each tap's -netdev goes on its descriptors; nothing opens a tap by name") {
  const auto one = plan("a", 1, false);
  const auto many = plan("b", 16, true);
  const std::vector<std::string> args{
      "-netdev", "tap,id=net-a,ifname=tap-0011aabb,script=no,downscript=no",
      "-device", "virtio-net-pci,netdev=net-a",
      "-netdev", "tap,id=net-b,ifname=tap-0011aabb,script=no,downscript=no,vhost=on,queues=16",
      "-device", "virtio-net-pci,netdev=net-b,mq=on,vectors=34"};
  devices::TapFds fds_b;
  for (int i = 0; i < 16; ++i) {
    fds_b.queues.push_back(std::to_string(20 + i));
    fds_b.vhost.push_back(std::to_string(40 + i));
  }
  auto out = with_tap_fds(args, {one, many}, {{{"7"}, {}}, fds_b});
  REQUIRE_MESSAGE(out, out.error());
  CHECK(*out == std::vector<std::string>{
                    "-netdev", "tap,id=net-a,fd=7",
                    "-device", "virtio-net-pci,netdev=net-a",
                    "-netdev",
                    "tap,id=net-b,fds=20:21:22:23:24:25:26:27:28:29:30:31:32:33:34:35,vhost=on,"
                    "vhostfds=40:41:42:43:44:45:46:47:48:49:50:51:52:53:54:55",
                    "-device", "virtio-net-pci,netdev=net-b,mq=on,vectors=34"});
  for (const auto& arg : *out) {
    CHECK(arg.find("ifname=") == std::string::npos);
    CHECK(arg.find("script=") == std::string::npos);
    CHECK(arg.find("queues=") == std::string::npos);
  }
}

TEST_CASE("a tap whose -netdev is not in the argv is an error naming the interface") {
  auto out = with_tap_fds({"-netdev", "user,id=net-a"}, {plan("a", 1, false)}, {{{"7"}, {}}});
  REQUIRE_FALSE(out);
  CHECK(out.error() ==
        "interface a: its -netdev (tap,id=net-a,ifname=tap-0011aabb,script=no,downscript=no) "
        "is not in QEMU's argv");
}

TEST_CASE("fd_numbers: the descriptors as the -netdev names them") {
  daemon::TapQueues opened;
  opened.queues.emplace_back(::dup(0));
  opened.vhost.emplace_back(::dup(0));
  const auto numbers = daemon::fd_numbers(opened);
  CHECK(numbers.queues == std::vector<std::string>{std::to_string(opened.queues[0].get())});
  CHECK(numbers.vhost == std::vector<std::string>{std::to_string(opened.vhost[0].get())});
}
