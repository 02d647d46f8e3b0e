#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/nic.hpp"
#include "tests/unit/devices/agree.hpp"

using namespace qmd::devices;
using qmd::devices::testing::check_agree;

namespace {
NicParams user_nic() {
  NicParams p;
  p.name = "default";
  p.mac = "52:54:00:12:34:56";
  p.pci = {"pci.2", "0x0"};
  return p;
}
}  // namespace

TEST_CASE("a user NIC has no tap, vhost, queues or bootindex") {
  const auto parts = nic_parts(user_nic());
  CHECK(nic_options(parts) ==
        std::vector<Option>{{"-netdev", "user,id=net-default"},
                            {"-device",
                             "virtio-net-pci,id=nic-default,bus=pci.2,addr=0x0,"
                             "netdev=net-default,mac=52:54:00:12:34:56"}});
}

TEST_CASE("user NICs ignore multiqueue and vhost: slirp has one queue") {
  auto p = user_nic();
  p.queues = 4;
  p.vhost = true;
  CHECK(nic_parts(p).netdev == Component{"user", {{"id", std::string("net-default")}}});
  CHECK(!nic_parts(p).device.prop("mq"));
}

TEST_CASE("tap NIC with vhost and multiqueue") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "tap-0011aabb";
  p.vhost = true;
  p.queues = 4;
  p.boot_order = 2;
  p.transitional = true;
  const auto parts = nic_parts(p);
  CHECK(nic_options(parts) ==
        std::vector<Option>{
            {"-netdev",
             "tap,id=net-default,ifname=tap-0011aabb,script=no,downscript=no,vhost=on,queues=4"},
            {"-device",
             "virtio-net-pci-transitional,id=nic-default,bus=pci.2,addr=0x0,netdev=net-default,"
             "mac=52:54:00:12:34:56,mq=on,vectors=10,bootindex=2"}});
}

TEST_CASE("e1000e on tap gets neither vhost nor multiqueue") {
  auto p = user_nic();
  p.model = "e1000e";
  p.tap = true;
  p.tap_name = "vnet0";
  p.vhost = true;
  p.queues = 4;
  CHECK(nic_options(nic_parts(p)) ==
        std::vector<Option>{{"-netdev", "tap,id=net-default,ifname=vnet0,script=no,downscript=no"},
                            {"-device",
                             "e1000e,id=nic-default,bus=pci.2,addr=0x0,netdev=net-default,"
                             "mac=52:54:00:12:34:56"}});
}

TEST_CASE("hotplug agrees with coldplug; unplug and release") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "tap-x";
  p.queues = 2;
  const auto parts = nic_parts(p);
  const auto options = nic_options(parts);
  const auto calls = nic_hotplug(parts);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].execute == "netdev_add");
  check_agree(options[0], calls[0], "type");
  CHECK(calls[0].arguments.at("queues") == 2);  // typed: netdev_add is strict QAPI
  CHECK(calls[1].execute == "device_add");
  check_agree(options[1], calls[1], "driver");
  CHECK(nic_unplug(parts) ==
        QmpCall{"device_del", boost::json::parse(R"({"id":"nic-default"})").as_object()});
  CHECK(nic_release(parts) ==
        QmpCall{"netdev_del", boost::json::parse(R"({"id":"net-default"})").as_object()});
}

TEST_CASE("a tap on descriptors: no ifname, script or queues; fd and vhostfd in their place") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "tap-0011aabb";
  p.vhost = true;
  const auto netdev = nic_parts(p).netdev;
  CHECK(netdev_option(with_tap_fds(netdev, {{"23"}, {"24"}})) ==
        Option{"-netdev", "tap,id=net-default,fd=23,vhost=on,vhostfd=24"});
  p.vhost = false;
  CHECK(netdev_option(with_tap_fds(nic_parts(p).netdev, {{"23"}, {}})) ==
        Option{"-netdev", "tap,id=net-default,fd=23"});
}

TEST_CASE("a multiqueue tap on descriptors: one fd and one vhost fd per queue, no queues=") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "tap-0011aabb";
  p.vhost = true;
  p.queues = 4;
  const auto parts = nic_parts(p);
  const auto netdev = with_tap_fds(parts.netdev, {{"10", "11", "12", "13"}, {"14", "15", "16", "17"}});
  // QEMU refuses queues= beside fds= and counts the queues from fds; the guest NIC keeps
  // mq and vectors 2N+2.
  CHECK(netdev_option(netdev) ==
        Option{"-netdev", "tap,id=net-default,fds=10:11:12:13,vhost=on,vhostfds=14:15:16:17"});
  CHECK(parts.device.prop("vectors") == "10");
}

TEST_CASE("a hot-plugged tap on getfd names: netdev_add takes fd and vhostfd as strings") {
  auto p = user_nic();
  p.tap = true;
  p.tap_name = "tap-0011aabb";
  p.vhost = true;
  NicParts parts = nic_parts(p);
  parts.netdev = with_tap_fds(parts.netdev, {{"net-default-tap"}, {"net-default-vhost"}});
  const auto calls = nic_hotplug(parts);
  CHECK(calls[0] == QmpCall{"netdev_add",
                            boost::json::parse(R"({"type":"tap","id":"net-default",)"
                                               R"("fd":"net-default-tap","vhost":true,)"
                                               R"("vhostfd":"net-default-vhost"})")
                                .as_object()});
}
