#include <doctest/doctest.h>

#include "devices/controllers.hpp"

using namespace qmd::devices;

TEST_CASE("controllers without options") {
  const PciSlot slot{"pci.1", "0x0"};
  CHECK(device_option(usb_controller(slot)) ==
        Option{"-device", "qemu-xhci,id=usb,bus=pci.1,addr=0x0"});
  CHECK(device_option(virtio_serial_controller(slot, false)) ==
        Option{"-device", "virtio-serial-pci,id=virtio-serial0,bus=pci.1,addr=0x0"});
  CHECK(device_option(scsi_controller(slot, std::nullopt, false)) ==
        Option{"-device", "virtio-scsi-pci,id=scsi0,bus=pci.1,addr=0x0"});
  CHECK(device_option(sata_controller({"pci.0", "0x3"})) ==
        Option{"-device", "ahci,id=sata0,bus=pci.0,addr=0x3"});
}

TEST_CASE("scsi with an iothread, transitional variants, sata buses") {
  const PciSlot slot{"pci.2", "0x0"};
  CHECK(device_option(scsi_controller(slot, "iothread-shared", true)) ==
        Option{"-device",
               "virtio-scsi-pci-transitional,id=scsi0,bus=pci.2,addr=0x0,"
               "iothread=iothread-shared"});
  CHECK(virtio_serial_controller(slot, true).type == "virtio-serial-pci-transitional");
  CHECK(sata_bus(true, 2) == "ide.2");
  CHECK(sata_bus(false, 0) == "sata0.0");
}
