#include <doctest/doctest.h>

#include "devices/input.hpp"
#include "tests/unit/devices/agree.hpp"

using namespace qmd::devices;

TEST_CASE("usb inputs sit on the xhci bus, no PCI slot") {
  CHECK(device_option(input_device({"tab", "tablet", "usb", std::nullopt})) ==
        Option{"-device", "usb-tablet,id=input-tab,bus=usb.0"});
  CHECK(device_option(input_device({"kbd", "keyboard", "usb", std::nullopt})) ==
        Option{"-device", "usb-kbd,id=input-kbd,bus=usb.0"});
}

TEST_CASE("virtio inputs take a PCI slot; hotplug agrees") {
  const auto tablet = input_device({"tab", "tablet", "virtio", PciSlot{"pci.7", "0x0"}});
  CHECK(device_option(tablet) ==
        Option{"-device", "virtio-tablet-pci,id=input-tab,bus=pci.7,addr=0x0"});
  qmd::devices::testing::check_agree(device_option(tablet), device_add(tablet), "driver");
  CHECK(input_device({"k", "keyboard", "virtio", PciSlot{"pci.8", "0x0"}}).type ==
        "virtio-keyboard-pci");
}
