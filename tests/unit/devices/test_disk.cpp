#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/disk.hpp"
#include "tests/unit/devices/agree.hpp"

using namespace qmd::devices;
using qmd::devices::testing::check_agree;

namespace {
DiskParams virtio_disk() {
  DiskParams p;
  p.name = "root";
  p.path = "/var/lib/vm/root.qcow2";
  p.format = "qcow2";
  p.pci = PciSlot{"pci.3", "0x0"};
  return p;
}
}  // namespace

TEST_CASE("a plain disk sets no cache, aio, iothread, queues, serial or bootindex") {
  const auto parts = disk_parts(virtio_disk());
  CHECK(disk_options(parts) ==
        std::vector<Option>{
            {"-blockdev",
             R"({"driver":"file","filename":"/var/lib/vm/root.qcow2","node-name":"file-root",)"
             R"("read-only":false,"auto-read-only":true,"discard":"unmap"})"},
            {"-blockdev",
             R"({"driver":"qcow2","file":"file-root","node-name":"fmt-root","read-only":false,)"
             R"("discard":"unmap","backing":null})"},
            {"-device", "virtio-blk-pci,id=disk-root,bus=pci.3,addr=0x0,drive=fmt-root"}});
}

TEST_CASE("virtio disk with every knob") {
  auto p = virtio_disk();
  p.cache = "none";
  p.io = "native";
  p.iothread = "iothread-root";
  p.queues = 4;
  p.serial = "SN,1";
  p.boot_order = 1;
  p.transitional = true;
  const auto parts = disk_parts(p);
  CHECK(
      disk_options(parts) ==
      std::vector<Option>{
          {"-blockdev",
           R"({"driver":"file","filename":"/var/lib/vm/root.qcow2","node-name":"file-root",)"
           R"("cache":{"direct":true,"no-flush":false},"aio":"native","read-only":false,)"
           R"("auto-read-only":true,"discard":"unmap"})"},
          {"-blockdev",
           R"({"driver":"qcow2","file":"file-root","node-name":"fmt-root",)"
           R"("cache":{"direct":true,"no-flush":false},"read-only":false,"discard":"unmap","backing":null})"},
          {"-device",
           "virtio-blk-pci-transitional,id=disk-root,bus=pci.3,addr=0x0,drive=fmt-root,"
           "iothread=iothread-root,num-queues=4,serial=SN,,1,bootindex=1"}});
}

TEST_CASE("io native without a cache mode opens the image with O_DIRECT") {
  // QEMU refuses aio=native without cache.direct=on; validation allows io: native alone.
  auto p = virtio_disk();
  p.io = "native";
  const auto parts = disk_parts(p);
  const auto direct = boost::json::parse(R"({"direct":true,"no-flush":false})");
  CHECK(parts.file_node.at("cache") == direct);
  CHECK(parts.format_node.at("cache") == direct);
  CHECK(parts.file_node.at("aio") == "native");
}

TEST_CASE("writethrough turns the device write cache off; block devices use host_device") {
  DiskParams p;
  p.name = "data";
  p.path = "/dev/vg/data";
  p.host_device = true;
  p.cache = "writethrough";
  p.bus = "sata";
  p.controller_bus = "ide.1";
  const auto parts = disk_parts(p);
  CHECK(parts.file_node.at("driver") == "host_device");
  CHECK(parts.file_node.at("cache") == boost::json::parse(R"({"direct":false,"no-flush":false})"));
  CHECK(device_option(parts.device) ==
        Option{"-device", "ide-hd,id=disk-data,bus=ide.1,drive=fmt-data,write-cache=off"});
}

TEST_CASE("cdrom and scsi devices") {
  DiskParams cd;
  cd.name = "iso";
  cd.path = "/isos/win.iso";
  cd.cdrom = true;
  cd.readonly = true;
  cd.bus = "sata";
  cd.controller_bus = "ide.0";
  cd.boot_order = 2;
  const auto cd_parts = disk_parts(cd);
  CHECK(cd_parts.format_node.at("read-only") == true);
  CHECK(device_option(cd_parts.device) ==
        Option{"-device", "ide-cd,id=disk-iso,bus=ide.0,drive=fmt-iso,bootindex=2"});

  DiskParams scsi;
  scsi.name = "db";
  scsi.path = "/d/db.img";
  scsi.bus = "scsi";
  scsi.controller_bus = "scsi0.0";
  scsi.unit = 2;
  CHECK(device_option(disk_parts(scsi).device) ==
        Option{"-device", "scsi-hd,id=disk-db,bus=scsi0.0,channel=0,scsi-id=0,lun=2,drive=fmt-db"});
  scsi.cdrom = true;
  CHECK(disk_parts(scsi).device.type == "scsi-cd");
  scsi.bus = "usb";
  scsi.cdrom = false;
  scsi.controller_bus = "usb.0";
  CHECK(device_option(disk_parts(scsi).device) ==
        Option{"-device", "usb-storage,id=disk-db,bus=usb.0,drive=fmt-db"});
}

TEST_CASE("rotationRate: rotation_rate on scsi-hd and ide-hd") {
  DiskParams ssd;
  ssd.name = "ssd";
  ssd.path = "/d/ssd.img";
  ssd.bus = "scsi";
  ssd.controller_bus = "scsi0.0";
  ssd.rotation_rate = 1;
  CHECK(device_option(disk_parts(ssd).device) ==
        Option{"-device",
               "scsi-hd,id=disk-ssd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=fmt-ssd,"
               "rotation_rate=1"});
  ssd.bus = "sata";
  ssd.controller_bus = "ide.1";
  ssd.rotation_rate = 7200;
  CHECK(device_option(disk_parts(ssd).device) ==
        Option{"-device", "ide-hd,id=disk-ssd,bus=ide.1,drive=fmt-ssd,rotation_rate=7200"});
}

TEST_CASE("hotplug sends the coldplug nodes and props; unplug reverses it") {
  auto p = virtio_disk();
  p.cache = "none";
  p.iothread = "iothread-shared";
  p.boot_order = 3;
  const auto parts = disk_parts(p);
  const auto options = disk_options(parts);
  const auto calls = disk_hotplug(parts);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].execute == "blockdev-add");
  CHECK(calls[0].arguments == boost::json::parse(*options[0].value).as_object());
  CHECK(calls[1].arguments == boost::json::parse(*options[1].value).as_object());
  CHECK(calls[2].execute == "device_add");
  check_agree(options[2], calls[2], "driver");
  CHECK(calls[2].arguments.at("bus") == "pci.3");
  CHECK(calls[2].arguments.at("addr") == "0x0");

  CHECK(disk_unplug(parts) ==
        QmpCall{"device_del", boost::json::parse(R"({"id":"disk-root"})").as_object()});
  CHECK(disk_release(parts) ==
        std::vector<QmpCall>{
            {"blockdev-del", boost::json::parse(R"({"node-name":"fmt-root"})").as_object()},
            {"blockdev-del", boost::json::parse(R"({"node-name":"file-root"})").as_object()}});
}
