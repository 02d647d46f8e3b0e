#include <doctest/doctest.h>

#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
const std::string kDev = "spec.template.spec.domain.devices.";

VmSpec with_disks(std::vector<DiskDevice> disks) {
  auto spec = minimal_vm();
  for (auto& d : disks) {
    spec.volumes.push_back(file_volume(d.name));
    spec.domain.devices.disks.push_back(std::move(d));
  }
  return apply_defaults(std::move(spec));
}
}  // namespace

TEST_CASE("a VM without disks or inputs has no device errors") {
  CHECK(errors_of(minimal_vm()) == "");
}

TEST_CASE("every kind of disk with its allowed options passes") {
  auto d = disk("root");
  d.cache = "none";
  d.io = "native";
  d.dedicated_io_thread = true;
  d.serial = "SN_01-a.b";
  d.boot_order = 1;
  auto cd = disk("cd", DiskKind::cdrom);
  cd.bus = "scsi";
  auto lun = disk("lun", DiskKind::lun);
  CHECK(errors_of(with_disks({d, cd, lun})) == "");
}

TEST_CASE("disk names are unique, short, and every disk has a volume") {
  auto spec = with_disks({disk("a"), disk("a")});
  spec.volumes.pop_back();
  CHECK(errors_of(spec) ==
        kDev + "disks[1].name: \"a\" is already the name of disks[0] (<spec>)\n");
  auto orphan = with_disks({disk("root")});
  orphan.volumes.clear();
  CHECK(errors_of(orphan) == kDev +
                                 "disks[0].name: disk \"root\" has no volume of the same "
                                 "name; add volumes: - name: root (<spec>)\n");
  auto long_name = with_disks({disk("a-very-long-disk-name-indeed")});
  CHECK(errors_of(long_name) ==
        kDev +
            "disks[0].name: \"a-very-long-disk-name-indeed\" is not a name qmd accepts: use 1 "
            "to 24 lower-case letters, digits and '-', starting with a letter or digit "
            "(<spec>)\n"
            "spec.template.spec.volumes[0].name: \"a-very-long-disk-name-indeed\" is not a "
            "name qmd accepts: use 1 to 24 lower-case letters, digits and '-', starting with a "
            "letter or digit (<spec>)\n");
  // A name is a file name (emptyDisk's empty-NAME.img): nothing that walks directories.
  for (const std::string bad : {"/../../../../q", "..", "a/b", "Root", "-x", "a.b"}) {
    auto spec = with_disks({disk(bad)});
    CHECK(errors_of(spec).find("\"" + bad + "\" is not a name qmd accepts") !=
          std::string::npos);
  }
}

TEST_CASE("bus values depend on the disk kind") {
  auto d = disk("d");
  d.bus = "ide";
  auto cd = disk("cd", DiskKind::cdrom);
  cd.bus = "virtio";
  auto lun = disk("lun", DiskKind::lun);
  lun.bus = "sata";
  CHECK(errors_of(with_disks({d, cd, lun})) ==
        kDev + "disks[0].disk.bus: \"ide\" is not one of virtio, sata, scsi, usb (<spec>)\n" +
            kDev + "disks[1].cdrom.bus: \"virtio\" is not one of sata, scsi (<spec>)\n" + kDev +
            "disks[2].lun.bus: \"sata\" is not one of scsi (<spec>)\n");
}

TEST_CASE("cache, io, native io needs cache none, iothreads only on virtio, serials") {
  auto d = disk("d");
  d.cache = "fast";
  d.io = "uring";
  auto n = disk("n");
  n.cache = "writeback";
  n.io = "native";
  auto s = disk("s");
  s.bus = "sata";
  s.dedicated_io_thread = true;
  s.serial = "has space";
  CHECK(errors_of(with_disks({d, n, s})) ==
        kDev + "disks[0].cache: \"fast\" is not one of none, writethrough, writeback (<spec>)\n" +
            kDev + "disks[0].io: \"uring\" is not one of native, threads (<spec>)\n" + kDev +
            "disks[1].io: native needs cache: none, not writeback (QEMU needs O_DIRECT for "
            "aio=native) (<spec>)\n" +
            kDev +
            "disks[2].dedicatedIOThread: needs bus virtio (the disk is on sata) "
            "(<spec>)\n" +
            kDev +
            "disks[2].serial: \"has space\" must be 1 to 20 of A-Z a-z 0-9 _ - . "
            "(<spec>)\n");
}

TEST_CASE("boot order is at least 1 and unique across disks and interfaces") {
  auto a = disk("a");
  a.boot_order = 1;
  auto b = disk("b");
  b.boot_order = 0;
  auto spec = with_disks({a, b});
  spec.domain.devices.interfaces[0].boot_order = 1;
  CHECK(errors_of(spec) == kDev + "disks[1].bootOrder: must be at least 1 (<spec>)\n" + kDev +
                               "interfaces[0].bootOrder: 1 is already used by disks[0] "
                               "(<spec>)\n");
}

TEST_CASE("inputs: type, bus and unique names") {
  auto spec = minimal_vm();
  spec.domain.devices.inputs = {InputDevice{"t", "tablet", "virtio"},
                                InputDevice{"t", "mouse", "ps2"}};
  CHECK(errors_of(spec) ==
        kDev + "inputs[1].name: \"t\" is already the name of inputs[0] (<spec>)\n" + kDev +
            "inputs[1].type: \"mouse\" is not one of tablet, keyboard (<spec>)\n" + kDev +
            "inputs[1].bus: \"ps2\" is not one of usb, virtio (<spec>)\n");
}

TEST_CASE("watchdog actions") {
  auto spec = minimal_vm();
  spec.domain.devices.watchdog = WatchdogDevice{"w", "i6300esb", "poweroff"};
  CHECK(errors_of(spec) == "");
  spec.domain.devices.watchdog->action = "pause";
  CHECK(errors_of(spec) == kDev +
                               "watchdog.i6300esb.action: \"pause\" is not one of poweroff, "
                               "reset, shutdown (<spec>)\n");
}
