#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/props.hpp"

using namespace qmd::devices;

TEST_CASE("a component without props renders just its type") {
  const Component c{"iothread", {}};
  CHECK(keyval(c) == "iothread");
  CHECK(device_add(c) ==
        QmpCall{"device_add", boost::json::parse(R"({"driver":"iothread"})").as_object()});
  CHECK(c.id().empty());
}

TEST_CASE("keyval and JSON come from the same typed props") {
  const Component c{"virtio-blk-pci",
                    {{"id", std::string("disk-a")},
                     {"serial", std::string("a,b")},
                     {"num-queues", std::int64_t{4}},
                     {"write-cache", false}}};
  CHECK(device_option(c) ==
        Option{"-device", "virtio-blk-pci,id=disk-a,serial=a,,b,num-queues=4,write-cache=off"});
  CHECK(device_add(c).arguments == boost::json::parse(R"({"driver":"virtio-blk-pci",
      "id":"disk-a","serial":"a,b","num-queues":4,"write-cache":false})")
                                       .as_object());
  CHECK(c.prop("write-cache") == "off");
  CHECK(c.prop("nope") == std::nullopt);
}

TEST_CASE("object, netdev and del calls") {
  const Component o{"iothread", {{"id", std::string("io1")}}};
  CHECK(object_option(o) == Option{"-object", "iothread,id=io1"});
  CHECK(object_add(o).arguments ==
        boost::json::parse(R"({"qom-type":"iothread","id":"io1"})").as_object());
  CHECK(netdev_add({"user", {{"id", std::string("n")}}}).arguments ==
        boost::json::parse(R"({"type":"user","id":"n"})").as_object());
  CHECK(device_del("x") == QmpCall{"device_del", boost::json::parse(R"({"id":"x"})").as_object()});
  CHECK(object_del("x").execute == "object-del");
  CHECK(netdev_del("x").execute == "netdev_del");
}

TEST_CASE("parse_keyval undoes comma doubling") {
  CHECK(
      parse_keyval("drv,id=a,path=/x,,y,flag") ==
      std::map<std::string, std::string>{{"", "drv"}, {"id", "a"}, {"path", "/x,y"}, {"flag", ""}});
}
